//! Key Vault certificates for hosts: open one as an identity (a [`SharedSigner`] whose key stays in the vault,
//! usable wherever an identity is taken), and create a certificate's next version in the vault, polled until
//! issued (bounded). The vault is reached with the connection's HTTP settings and credential (a managed
//! identity, the app's certificate), or with a vault access token the host gives.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};
use zeroize::Zeroize;

use crate::*;
use keyroll_client::keyvault::{
    self, CreateOptions, KeyVaultClient, KeyVaultSigner, NewCertificatePolicy, NextVersionError,
    VaultCertificate, VaultCertificateRef,
};

/// How to reach a vault certificate: `{"certificate": "https://{vault}/certificates/{name}[/{version}]",
/// "vaultAccessToken": "…"}` (the token is optional: without it the connection's credential gets one).
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeyVaultSettings {
    /// The certificate's URL (its latest version when none is named).
    pub certificate: String,
    /// An access token for the vault (audience: the cloud's vault resource, `https://vault.azure.net`).
    #[serde(default)]
    pub vault_access_token: Option<String>,
}

impl Drop for KeyVaultSettings {
    fn drop(&mut self) {
        self.vault_access_token.zeroize();
    }
}

impl std::fmt::Debug for KeyVaultSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyVaultSettings")
            .field("certificate", &self.certificate)
            .field(
                "vault_access_token",
                &self.vault_access_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// The next version of a vault certificate: `{"certificate": URL, "vaultAccessToken", "subject", "keySize",
/// "validityMonths", "maxWaitSecs", "target"}`. With `target` and a current identity, a latest version that is
/// already a key of the object (an earlier run created and added it) is used again instead of creating another.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateVaultCertificateSettings {
    /// The certificate's URL (a version, if named, is ignored: a new one is made).
    pub certificate: String,
    /// An access token for the vault.
    #[serde(default)]
    pub vault_access_token: Option<String>,
    /// The subject (default: the current policy's, else `CN={name}`).
    #[serde(default)]
    pub subject: Option<String>,
    /// The RSA key size (default: the current policy's, else 2048).
    #[serde(default)]
    pub key_size: Option<u32>,
    /// Validity in months (default: the current policy's, else 12).
    #[serde(default)]
    pub validity_months: Option<u32>,
    /// How long to wait for the vault to issue it (default 120 s, at most 600).
    #[serde(default)]
    pub max_wait_secs: Option<u64>,
    /// The object the certificate is for, to use again a version already registered on it.
    #[serde(default)]
    pub target: Option<TargetSettings>,
}

impl Drop for CreateVaultCertificateSettings {
    fn drop(&mut self) {
        self.vault_access_token.zeroize();
    }
}

impl std::fmt::Debug for CreateVaultCertificateSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateVaultCertificateSettings")
            .field("certificate", &self.certificate)
            .field("subject", &self.subject)
            .field("key_size", &self.key_size)
            .field("validity_months", &self.validity_months)
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

/// The longest a host may wait for a vault to issue a certificate.
const MAX_CREATE_WAIT: Duration = Duration::from_secs(600);

/// The bounded wait for the vault to issue a version.
fn create_options(settings: &CreateVaultCertificateSettings) -> CreateOptions {
    CreateOptions {
        max_wait: settings
            .max_wait_secs
            .map(Duration::from_secs)
            .unwrap_or(CreateOptions::default().max_wait)
            .min(MAX_CREATE_WAIT),
        ..CreateOptions::default()
    }
}

/// How the next version was come by, as hosts see it.
fn source_name(source: keyvault::NextVersionSource) -> &'static str {
    match source {
        keyvault::NextVersionSource::Created => "created",
        keyvault::NextVersionSource::Completed => "completed",
        keyvault::NextVersionSource::Reused => "reused",
    }
}

fn reference(text: &str) -> Result<VaultCertificateRef, ApiError> {
    Ok(VaultCertificateRef::parse(text).map_err(keyvault::KeyVaultError::from)?)
}

/// What hosts see of a vault certificate version: the certificate's description, its URL, version and key URL.
pub fn describe_vault_certificate(
    v: &VaultCertificate,
    certificate: &keyroll_proto::cert::Certificate,
) -> Value {
    let mut d = describe_certificate(certificate);
    d["keyVault"] = json!({
        "certificateUrl": v.reference.url(),
        "vault": v.reference.vault(),
        "name": v.reference.name(),
        "version": v.version(),
        "keyUrl": v.key_url,
    });
    d
}

impl Connection {
    /// The vault client of this connection: with `token` when given, else with the connection's credential.
    pub fn key_vault(&self, token: Option<&str>) -> KeyVaultClient {
        match token.map(str::trim).filter(|t| !t.is_empty()) {
            Some(t) => KeyVaultClient::with_access_token(self.client(), t),
            None => KeyVaultClient::for_connection(self.client()),
        }
    }

    /// Opens a vault certificate as an identity: reads it (issued, enabled) and checks its key (RSA of at least
    /// 2048 bits, the certificate's own). Answers the signer and its description (`keyVault.keyUrl` names the
    /// key that signs, `vaultCalls` the requests made).
    pub async fn open_keyvault(
        &self,
        settings: &KeyVaultSettings,
    ) -> Result<(SharedSigner, Value), ApiError> {
        let reference = reference(&settings.certificate)?;
        let client = self.key_vault(settings.vault_access_token.as_deref());
        let version = client.get_certificate(&reference).await?;
        let signer = KeyVaultSigner::from_version(&client, version.clone()).await?;
        let mut description = describe_vault_certificate(&version, signer.certificate());
        description["vaultCalls"] = json!(client.calls());
        Ok((Arc::new(signer), description))
    }

    /// Both ends of a roll from one version of a vault certificate to its next, for the object of
    /// `settings.target` (required): the current is the newest version that is a key of the object; the next is
    /// a version an earlier run left (still being issued: waited for; issued and newer: used again), else one
    /// created now with the certificate's policy and the settings' wishes. A re-run after a stop therefore never
    /// creates a second version. Answers both signers and `{current, next, source, vaultCalls}` (descriptions as
    /// [`Connection::open_keyvault`]'s).
    pub async fn keyvault_roll_versions(
        &self,
        settings: &CreateVaultCertificateSettings,
    ) -> Result<(SharedSigner, SharedSigner, Value), ApiError> {
        let Some(target) = &settings.target else {
            return Err(ApiError::settings(
                "key vault settings",
                "a roll between versions needs the target: the object whose key the current version is",
            ));
        };
        let reference = reference(&settings.certificate)?.latest();
        let client = self.key_vault(settings.vault_access_token.as_deref());
        let wanted = NewCertificatePolicy {
            subject: settings.subject.clone(),
            key_size: settings.key_size,
            validity_months: settings.validity_months,
        };
        let options = create_options(settings);
        let (current, next) = keyvault::roll_versions_for(
            self.client(),
            &client,
            &target.target()?,
            &reference,
            &wanted,
            options,
        )
        .await
        .map_err(|e| match e {
            NextVersionError::Graph(g) => ApiError::Graph(g),
            NextVersionError::Vault(v) => ApiError::KeyVault(v),
            other => ApiError::settings("key vault", other.to_string()),
        })?;
        let current_signer = KeyVaultSigner::from_version(&client, current.clone()).await?;
        let next_signer = KeyVaultSigner::from_version(&client, next.version.clone()).await?;
        let description = json!({
            "current": describe_vault_certificate(&current, current_signer.certificate()),
            "next": describe_vault_certificate(&next.version, next_signer.certificate()),
            "source": source_name(next.source),
            "vaultCalls": client.calls(),
        });
        Ok((Arc::new(current_signer), Arc::new(next_signer), description))
    }

    /// Creates the next version of a vault certificate and waits until it is issued (bounded by
    /// `maxWaitSecs`); with `target` and `current` (the identity in use now), a version already registered on
    /// the object is used again. Answers the new version's description and `source` (`created`, `completed`:
    /// an earlier operation finished, `reused`).
    pub async fn create_keyvault_certificate(
        &self,
        settings: &CreateVaultCertificateSettings,
        current: Option<&dyn Signer>,
    ) -> Result<Value, ApiError> {
        let reference = reference(&settings.certificate)?.latest();
        let client = self.key_vault(settings.vault_access_token.as_deref());
        let wanted = NewCertificatePolicy {
            subject: settings.subject.clone(),
            key_size: settings.key_size,
            validity_months: settings.validity_months,
        };
        let options = create_options(settings);
        let next = match (&settings.target, current) {
            (Some(target), Some(current)) => keyvault::next_version_for(
                self.client(),
                &client,
                &target.target()?,
                &reference,
                current.certificate(),
                &wanted,
                options,
            )
            .await
            .map_err(|e| match e {
                NextVersionError::Graph(g) => ApiError::Graph(g),
                NextVersionError::Vault(v) => ApiError::KeyVault(v),
                other => ApiError::settings("key vault", other.to_string()),
            })?,
            (None, None) => {
                let latest = match client.get_certificate(&reference).await {
                    Ok(v) => v.policy,
                    Err(keyvault::KeyVaultError::NotFound { .. }) => None,
                    Err(e) => return Err(e.into()),
                };
                let policy = keyvault::policy(reference.name(), latest.as_ref(), &wanted);
                keyvault::NextVersion {
                    version: client
                        .create_certificate(&reference, &policy, options)
                        .await?,
                    source: keyvault::NextVersionSource::Created,
                }
            }
            _ => {
                return Err(ApiError::settings(
                    "key vault settings",
                    "give both target and the current identity (to use again a version already on the object), or neither",
                ));
            }
        };
        let certificate = next.version.issued()?.clone();
        let mut d = describe_vault_certificate(&next.version, &certificate);
        d["source"] = json!(source_name(next.source));
        d["vaultCalls"] = json!(client.calls());
        Ok(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vault_settings_hide_the_token_and_refuse_unknown_fields() {
        let s: KeyVaultSettings = from_json(
            "key vault settings",
            br#"{"certificate":"https://v.vault.azure.net/certificates/app","vaultAccessToken":"eyJ-vault-secret"}"#,
        )
        .unwrap();
        assert!(!format!("{s:?}").contains("eyJ-vault-secret"));
        let c: CreateVaultCertificateSettings = from_json(
            "key vault certificate settings",
            br#"{"certificate":"https://v.vault.azure.net/certificates/app","vaultAccessToken":"eyJ-vault-secret","keySize":3072}"#,
        )
        .unwrap();
        assert!(!format!("{c:?}").contains("eyJ-vault-secret"));
        let e = from_json::<KeyVaultSettings>(
            "key vault settings",
            br#"{"certificate":"x","vaultToken":"t"}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("vaultToken"), "{e}");
    }

    #[test]
    fn a_bad_certificate_url_is_an_input_error_with_its_code() {
        let e = reference("https://v.vault.azure.net/keys/app").unwrap_err();
        let report = e.report();
        assert_eq!(report.kind, ErrorKind::Input);
        assert_eq!(report.code, "vault_reference");
        assert!(
            report.message.contains("give the certificate's URL"),
            "{}",
            report.message
        );
    }
}
