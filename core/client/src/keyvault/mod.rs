//! Azure Key Vault as the place a certificate's key lives: the certificate named by its vault URL
//! ([`VaultCertificateRef`]), read from the vault ([`KeyVaultClient::get_certificate`]), its key checked and
//! used to sign ([`KeyVaultSigner`], a [`crate::signer::Signer`]), and its next version created in the vault
//! ([`KeyVaultClient::next_version`]) — so that a roll can run without a private key ever leaving the vault.
//!
//! The REST API (version [`API_VERSION`]) is the service's: `GET certificates/{name}[/{version}]`,
//! `POST certificates/{name}/create`, `GET certificates/{name}/pending`, `GET keys/{name}/{version}`,
//! `POST keys/{name}/{version}/sign`. Tokens are for the cloud's vault resource
//! ([`crate::cloud::Cloud::vault_resource`]) from the connection's own credential, and go only to the cloud's
//! vaults (or loopback); a 401 challenge naming another resource gets no token
//! ([`KeyVaultError::UnexpectedChallenge`]).

mod certificate;
mod client;
mod create;
mod error;
mod key;
mod permission;
mod reference;
mod signer;

pub use certificate::VaultCertificate;
pub use client::{API_VERSION, KeyVaultClient};
pub use create::{
    CreateOptions, NewCertificatePolicy, NextVersion, NextVersionError, NextVersionSource,
    VersionItem, next_version_for, policy, roll_versions_for,
};
pub use error::{KeyVaultError, NotIssued};
pub use permission::Permission;
pub use reference::{ReferenceError, VaultCertificateRef, is_url};
pub use signer::KeyVaultSigner;
