//! A [`Signer`] whose key stays in Key Vault: the certificate from the vault, RS256 signatures from
//! `POST {vault}/keys/{name}/{version}/sign` over the SHA-256 digest of the JWS signing input.

use sha2::Digest as _;

use super::certificate::VaultCertificate;
use super::client::KeyVaultClient;
use super::error::KeyVaultError;
use super::key::check_key;
use super::reference::VaultCertificateRef;
use crate::signer::{SignFuture, SignPurpose, Signer};
use keyroll_proto::cert::Certificate;

/// The key of a vault certificate, pinned to one version.
pub struct KeyVaultSigner {
    client: KeyVaultClient,
    reference: VaultCertificateRef,
    certificate: Certificate,
    key_url: String,
}

impl std::fmt::Debug for KeyVaultSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyVaultSigner")
            .field("certificate", &self.reference.url())
            .field("key", &self.key_url)
            .finish()
    }
}

impl KeyVaultSigner {
    /// Opens a vault certificate (its latest version when none is named) for signing: reads it (issued and
    /// enabled), then its key, which must be RSA of at least 2048 bits and the certificate's own key. Two vault
    /// requests; signing then takes one each.
    pub async fn open(
        client: &KeyVaultClient,
        reference: &VaultCertificateRef,
    ) -> Result<Self, KeyVaultError> {
        let version = client.get_certificate(reference).await?;
        Self::from_version(client, version).await
    }

    /// Opens a version already read ([`KeyVaultClient::get_certificate`]): checks its key (one request).
    pub async fn from_version(
        client: &KeyVaultClient,
        version: VaultCertificate,
    ) -> Result<Self, KeyVaultError> {
        let certificate = version.issued()?.clone();
        let jwk = client.get_key(&version.key_url).await?;
        check_key(
            &jwk,
            &version.key_url,
            &version.reference.url(),
            &certificate,
        )?;
        Ok(KeyVaultSigner {
            client: client.clone(),
            reference: version.reference,
            certificate,
            key_url: version.key_url,
        })
    }

    /// The certificate, at its version.
    pub fn reference(&self) -> &VaultCertificateRef {
        &self.reference
    }

    /// The key's URL.
    pub fn key_url(&self) -> &str {
        &self.key_url
    }

    /// The client it signs through (its call count includes these signatures).
    pub fn client(&self) -> &KeyVaultClient {
        &self.client
    }
}

impl Signer for KeyVaultSigner {
    fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    fn sign_rs256<'a>(&'a self, message: &'a [u8], _purpose: SignPurpose) -> SignFuture<'a> {
        Box::pin(async move {
            let digest = sha2::Sha256::digest(message);
            self.client
                .sign_digest(&self.key_url, &digest)
                .await
                .map_err(KeyVaultError::into_sign_error)
        })
    }

    fn location(&self) -> String {
        format!("Key Vault key {}", self.key_url)
    }
}
