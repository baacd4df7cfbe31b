//! The vault permissions this client needs, each with the built-in Azure RBAC role that grants it and the
//! access-policy permission that does the same in a vault using access policies: a 403 names all three.

use std::fmt;

/// A data-plane permission of a vault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Permission {
    /// Read a key's public part (`keys/get`): the check that the certificate's key is the key that signs.
    KeysGet,
    /// Sign a digest with a key (`keys/sign`).
    KeysSign,
    /// Read a certificate or its pending operation (`certificates/get`).
    CertificatesGet,
    /// List a certificate's versions (`certificates/list`).
    CertificatesList,
    /// Create a certificate or its next version (`certificates/create`).
    CertificatesCreate,
}

impl Permission {
    /// The access-policy spelling, `kind/operation`.
    pub fn name(self) -> &'static str {
        match self {
            Permission::KeysGet => "keys/get",
            Permission::KeysSign => "keys/sign",
            Permission::CertificatesGet => "certificates/get",
            Permission::CertificatesList => "certificates/list",
            Permission::CertificatesCreate => "certificates/create",
        }
    }

    /// The built-in RBAC roles that grant it, least privilege first.
    pub fn rbac_roles(self) -> &'static str {
        match self {
            Permission::KeysGet | Permission::KeysSign => {
                "\"Key Vault Crypto User\" (or \"Key Vault Crypto Officer\")"
            }
            Permission::CertificatesGet | Permission::CertificatesList => {
                "\"Key Vault Certificate User\" (or \"Key Vault Certificates Officer\")"
            }
            Permission::CertificatesCreate => "\"Key Vault Certificates Officer\"",
        }
    }

    /// The access-policy permission, as the portal and `az keyvault set-policy` spell it.
    pub fn access_policy(self) -> &'static str {
        match self {
            Permission::KeysGet => "--key-permissions get",
            Permission::KeysSign => "--key-permissions sign",
            Permission::CertificatesGet => "--certificate-permissions get",
            Permission::CertificatesList => "--certificate-permissions list",
            Permission::CertificatesCreate => "--certificate-permissions create",
        }
    }

    /// What the permission is for, in words.
    pub fn purpose(self) -> &'static str {
        match self {
            Permission::KeysGet => "read the certificate's key",
            Permission::KeysSign => "sign with the certificate's key",
            Permission::CertificatesGet => "read the certificate",
            Permission::CertificatesList => "list the certificate's versions",
            Permission::CertificatesCreate => "create the certificate's next version",
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
