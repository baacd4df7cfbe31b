//! The settings of addKey, removeKey and a roll, with Debug impls that never show a proof or a password.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use zeroize::Zeroize;

use crate::*;
use keyroll_client::roll::RollSpec;
use keyroll_client::signer::SharedSigner;

/// The settings of `addKey`.
#[derive(Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddKeySettings {
    /// The object.
    pub target: TargetSettings,
    /// The new public certificate, base64 DER or PEM.
    #[serde(default)]
    pub certificate: Option<String>,
    /// Or a file holding it.
    #[serde(default)]
    pub certificate_file: Option<PathBuf>,
    /// The key credential's fields.
    #[serde(default, flatten)]
    pub key: KeyCredentialSettings,
    /// A proof made elsewhere (e.g. by the two-phase path); else one is minted with the signer.
    #[serde(default)]
    pub proof: Option<String>,
    /// For an X509CertAndPassword key: `{"secretText": "<the key's password>"}`.
    #[serde(default)]
    pub password_credential: Option<PasswordSettings>,
}

/// The password credential of an addKey: only `secretText`, wiped on drop and never shown.
#[derive(Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PasswordSettings {
    /// The key's password.
    pub secret_text: String,
}

impl Drop for PasswordSettings {
    fn drop(&mut self) {
        self.secret_text.zeroize();
    }
}

impl std::fmt::Debug for PasswordSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordSettings(<redacted>)")
    }
}

/// The settings of `removeKey`.
#[derive(Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RemoveKeySettings {
    /// The object.
    pub target: TargetSettings,
    /// The key credential to remove.
    pub key_id: String,
    /// A proof made elsewhere; else one is minted with the signer.
    #[serde(default)]
    pub proof: Option<String>,
    /// Remove it even if it is the object's last currently valid certificate.
    #[serde(default)]
    pub force: bool,
}

/// The settings of an addPassword: the object and what the caller may choose of the new secret (the service
/// generates the secret itself).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddPasswordSettings {
    /// The object.
    pub target: TargetSettings,
    /// Display name of the secret.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Start of validity (ISO 8601; default now).
    #[serde(default)]
    pub start_date_time: Option<String>,
    /// End of validity (ISO 8601; default two years after the start).
    #[serde(default)]
    pub end_date_time: Option<String>,
}

/// The settings of a removePassword.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RemovePasswordSettings {
    /// The object.
    pub target: TargetSettings,
    /// The secret's keyId.
    pub key_id: String,
}

// A proof is a short-lived credential: Debug shows only that one was given.
impl std::fmt::Debug for AddKeySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AddKeySettings")
            .field("target", &self.target)
            .field("certificate_file", &self.certificate_file)
            .field("key", &self.key)
            .field(
                "proof",
                &self.proof.as_deref().map(keyroll_proto::jwt::redact),
            )
            .field("password_credential", &self.password_credential)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for RemoveKeySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoveKeySettings")
            .field("target", &self.target)
            .field("key_id", &self.key_id)
            .field(
                "proof",
                &self.proof.as_deref().map(keyroll_proto::jwt::redact),
            )
            .field("force", &self.force)
            .finish()
    }
}

/// The settings of a roll.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RollSettings {
    /// The object.
    pub target: TargetSettings,
    /// Display name of the new key.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Remove the old key once the new one is verified.
    #[serde(default)]
    pub remove_old: bool,
    /// Tenant for verifying the new key.
    #[serde(default)]
    pub tenant_id: Option<String>,
    /// Client id for verifying the new key (default: the object's appId).
    #[serde(default)]
    pub client_id: Option<String>,
    /// How long to wait for the new key to become usable (default 300 s).
    #[serde(default)]
    pub verify_timeout_secs: Option<u64>,
}

impl RollSettings {
    pub(crate) fn spec(
        &self,
        current: SharedSigner,
        new: SharedSigner,
    ) -> Result<RollSpec, ApiError> {
        Ok(RollSpec {
            target: self.target.target()?,
            current,
            new,
            display_name: self.display_name.clone(),
            remove_old: self.remove_old,
            tenant: self.tenant_id.clone(),
            client_id: self.client_id.clone(),
            verify_timeout: Duration::from_secs(self.verify_timeout_secs.unwrap_or(300)),
        })
    }
}
