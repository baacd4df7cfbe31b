//! What goes wrong with a certificate in Key Vault, each with what to do about it.

use keyroll_proto::ErrorKind;

use super::permission::Permission;
use super::reference::ReferenceError;
use crate::auth::AuthError;
use crate::signer::SignError;

/// Why a certificate of a vault is not issued (yet): it cannot sign, and it cannot be added to an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NotIssued {
    /// Its creation is still pending at the issuer.
    Pending,
    /// It is disabled in the vault.
    Disabled,
    /// The vault shows no certificate (`cer`) for it.
    NoCertificate,
}

impl NotIssued {
    fn words(self) -> &'static str {
        match self {
            NotIssued::Pending => {
                "is still being created (its operation is pending): wait for the vault to issue it (a roll that creates the next version waits for it), or merge the issuer's certificate"
            }
            NotIssued::Disabled => "is disabled in the vault: enable it, or name another version",
            NotIssued::NoCertificate => {
                "has no issued certificate (cer) in the vault: complete or merge its pending operation, or name another version"
            }
        }
    }
}

/// A Key Vault refusal or failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyVaultError {
    /// The certificate URL cannot be used.
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    /// No bearer token for the vault.
    #[error("cannot get a token for Key Vault ({resource}): {source}")]
    Token {
        /// The vault resource.
        resource: String,
        /// Why (boxed: an error's size is paid by every result that carries it).
        #[source]
        source: Box<AuthError>,
    },
    /// The vault has no such certificate or key (or version).
    #[error(
        "vault {vault} has no {what} named {name:?}{}: check the name and version in the URL, and that the vault is the right one",
        version.as_deref().map(|v| format!(" with version {v}")).unwrap_or_default()
    )]
    NotFound {
        /// The vault.
        vault: String,
        /// `certificate` or `key`.
        what: &'static str,
        /// The name.
        name: String,
        /// The version, when one was named.
        version: Option<String>,
        /// The service's request ids.
        request_ids: Vec<String>,
    },
    /// The identity may not do what was asked.
    #[error(
        "the identity signed in to Key Vault lacks permission {permission} on vault {vault} (needed to {}): grant it the built-in role {} on the vault (Azure RBAC), or, in a vault using access policies, `az keyvault set-policy {}`; the service said: {service}",
        permission.purpose(), permission.rbac_roles(), permission.access_policy()
    )]
    Forbidden {
        /// The vault.
        vault: String,
        /// The permission the request needed.
        permission: Permission,
        /// The service's message.
        service: String,
        /// The service's request ids.
        request_ids: Vec<String>,
    },
    /// A token for the cloud's vault resource was refused.
    #[error(
        "vault {vault} refused the token for {resource}: {service} — check that the identity's tenant is the vault's and that the cloud is the vault's"
    )]
    Unauthorized {
        /// The vault.
        vault: String,
        /// The resource the token was for.
        resource: String,
        /// The service's message.
        service: String,
        /// The service's request ids.
        request_ids: Vec<String>,
    },
    /// The vault's 401 challenge asked for a token of another resource: none is sent.
    #[error(
        "vault {vault} asks for a token for {challenged:?}, not for the cloud's Key Vault resource {expected}; no token was sent. Check the vault URL, or choose the vault's cloud"
    )]
    UnexpectedChallenge {
        /// The vault.
        vault: String,
        /// What the challenge named.
        challenged: String,
        /// The cloud's vault resource.
        expected: String,
    },
    /// The certificate is not issued.
    #[error("Key Vault certificate {certificate} {}", state.words())]
    NotIssued {
        /// The certificate's URL.
        certificate: String,
        /// Why.
        state: NotIssued,
    },
    /// The certificate's key is not RSA: proofs and assertions are RS256.
    #[error(
        "Key Vault key {key} is {kty}, not RSA: proofs of possession and client assertions are RS256; create the certificate with an RSA key (kty RSA, 2048 bits or more)"
    )]
    KeyNotRsa {
        /// The key's URL.
        key: String,
        /// Its type.
        kty: String,
    },
    /// The RSA key is too small.
    #[error(
        "Key Vault key {key} is RSA {bits}: the service needs 2048 bits or more; create the next version with a key size of 2048 bits or more"
    )]
    KeyTooSmall {
        /// The key's URL.
        key: String,
        /// Its size.
        bits: usize,
    },
    /// The key named by the certificate's `kid` is not the certificate's key.
    #[error(
        "Key Vault key {key} is not the key of certificate {certificate} (thumbprint {thumbprint}): its public key differs, so its signatures would not verify; name the certificate's own version, whose kid is its key"
    )]
    KeyMismatch {
        /// The key's URL.
        key: String,
        /// The certificate's URL.
        certificate: String,
        /// The certificate's thumbprint.
        thumbprint: String,
    },
    /// No version of the certificate is a key of the object: the version in use now cannot be told.
    #[error(
        "no version of Key Vault certificate {certificate} is a key of the object, so the version in use now cannot be told: name the certificate in use now (a file, or the vault URL with its version)"
    )]
    NoVersionInUse {
        /// The certificate's URL.
        certificate: String,
    },
    /// Creating a certificate failed at the vault or its issuer.
    #[error("creating {certificate} in Key Vault failed: {detail}")]
    CreateFailed {
        /// The certificate's URL.
        certificate: String,
        /// The operation's status and error, in the service's words.
        detail: String,
    },
    /// The pending operation did not complete in time.
    #[error(
        "creating {certificate} in Key Vault did not complete within {waited_secs} s (status {status}); run again later: a pending version is picked up, not created twice"
    )]
    CreateTimedOut {
        /// The certificate's URL.
        certificate: String,
        /// How long it was polled.
        waited_secs: u64,
        /// The last status seen.
        status: String,
    },
    /// Another refusal of the vault.
    #[error("vault {vault} answered {status} {code}: {message}")]
    Service {
        /// The vault.
        vault: String,
        /// HTTP status.
        status: u16,
        /// The service's error code.
        code: String,
        /// The service's message.
        message: String,
        /// The service's request ids.
        request_ids: Vec<String>,
    },
    /// Network or TLS failure.
    #[error("cannot reach the vault at {url}: {detail}")]
    Transport {
        /// The URL.
        url: String,
        /// What failed.
        detail: String,
    },
    /// An answer that is not what the API documents.
    #[error("the vault at {url} answered something unexpected ({detail})")]
    InvalidResponse {
        /// The URL.
        url: String,
        /// What was wrong.
        detail: String,
    },
}

impl KeyVaultError {
    /// The kind of failure: what the user can fix in the vault or the command is input; the service's other
    /// answers are the service's; the network's is transport.
    pub fn kind(&self) -> ErrorKind {
        match self {
            KeyVaultError::Reference(_)
            | KeyVaultError::NotFound { .. }
            | KeyVaultError::Forbidden { .. }
            | KeyVaultError::Unauthorized { .. }
            | KeyVaultError::UnexpectedChallenge { .. }
            | KeyVaultError::NotIssued { .. }
            | KeyVaultError::KeyNotRsa { .. }
            | KeyVaultError::KeyTooSmall { .. }
            | KeyVaultError::KeyMismatch { .. }
            | KeyVaultError::NoVersionInUse { .. } => ErrorKind::Input,
            KeyVaultError::Token { source, .. } => source.kind(),
            KeyVaultError::CreateFailed { .. }
            | KeyVaultError::CreateTimedOut { .. }
            | KeyVaultError::Service { .. }
            | KeyVaultError::InvalidResponse { .. } => ErrorKind::Service,
            KeyVaultError::Transport { .. } => ErrorKind::Transport,
        }
    }

    /// The stable code every face shows.
    pub fn code(&self) -> String {
        match self {
            KeyVaultError::Reference(_) => "vault_reference",
            KeyVaultError::Token { .. } => "vault_token",
            KeyVaultError::NotFound { .. } => "vault_not_found",
            KeyVaultError::Forbidden { .. } => "vault_forbidden",
            KeyVaultError::Unauthorized { .. } => "vault_unauthorized",
            KeyVaultError::UnexpectedChallenge { .. } => "vault_challenge",
            KeyVaultError::NotIssued { .. } => "vault_not_issued",
            KeyVaultError::KeyNotRsa { .. } => "key_not_rsa",
            KeyVaultError::KeyTooSmall { .. } => "key_too_small",
            KeyVaultError::KeyMismatch { .. } => "key_mismatch",
            KeyVaultError::NoVersionInUse { .. } => "vault_no_version_in_use",
            KeyVaultError::CreateFailed { .. } => "vault_create_failed",
            KeyVaultError::CreateTimedOut { .. } => "vault_create_timeout",
            KeyVaultError::Service { .. } => "vault_service",
            KeyVaultError::Transport { .. } => "transport",
            KeyVaultError::InvalidResponse { .. } => "invalid_response",
        }
        .to_string()
    }

    /// The vault's request ids, for support.
    pub fn request_ids(&self) -> Vec<String> {
        match self {
            KeyVaultError::NotFound { request_ids, .. }
            | KeyVaultError::Forbidden { request_ids, .. }
            | KeyVaultError::Unauthorized { request_ids, .. }
            | KeyVaultError::Service { request_ids, .. } => request_ids.clone(),
            _ => Vec::new(),
        }
    }

    /// The failure as a signer's refusal ([`SignError::Remote`]).
    pub fn into_sign_error(self) -> SignError {
        SignError::Remote {
            kind: self.kind(),
            code: self.code(),
            request_ids: self.request_ids(),
            message: self.to_string(),
        }
    }
}
