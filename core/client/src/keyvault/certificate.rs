//! Reading a vault certificate: `GET {vault}/certificates/{name}[/{version}]`, its public certificate from
//! `cer`, its key's URL from `kid`, its version from `id`, whether it is issued and enabled.

use reqwest::Method;
use serde_json::Value;

use super::client::{KeyVaultClient, Subject};
use super::error::{KeyVaultError, NotIssued};
use super::permission::Permission;
use super::reference::VaultCertificateRef;
use keyroll_proto::b64;
use keyroll_proto::cert::Certificate;

/// A version of a vault certificate, as the vault shows it.
#[derive(Debug, Clone)]
pub struct VaultCertificate {
    /// The certificate, at this version.
    pub reference: VaultCertificateRef,
    /// The key's URL (`{vault}/keys/{name}/{version}`), built on the vault's URL from the `kid` path.
    pub key_url: String,
    /// Whether it is enabled.
    pub enabled: bool,
    /// The public certificate (`cer`), once issued.
    pub certificate: Option<Certificate>,
    /// Whether a pending operation is shown for it (not issued yet).
    pub pending: bool,
    /// The certificate's policy, when the vault shows it (the policy of its next version).
    pub policy: Option<Value>,
}

impl VaultCertificate {
    /// The version.
    pub fn version(&self) -> &str {
        self.reference.version().unwrap_or_default()
    }

    /// The issued, enabled certificate, or why it cannot be used.
    pub fn issued(&self) -> Result<&Certificate, KeyVaultError> {
        let not_issued = |state| KeyVaultError::NotIssued {
            certificate: self.reference.url(),
            state,
        };
        match &self.certificate {
            None if self.pending => Err(not_issued(NotIssued::Pending)),
            None => Err(not_issued(NotIssued::NoCertificate)),
            Some(_) if !self.enabled => Err(not_issued(NotIssued::Disabled)),
            Some(c) => Ok(c),
        }
    }

    /// Reads a certificate bundle. Identifiers are taken only on `vault`: the key's URL is rebuilt on it, so a
    /// bundle naming another host cannot send a token there.
    pub(crate) fn from_bundle(
        requested: &VaultCertificateRef,
        body: &Value,
        url: &str,
    ) -> Result<Self, KeyVaultError> {
        let invalid = |detail: String| KeyVaultError::InvalidResponse {
            url: url.to_string(),
            detail,
        };
        let text = |key: &str| body.get(key).and_then(Value::as_str);
        let id = text("id").ok_or_else(|| invalid("no id".into()))?;
        let version = last_segments(id, "certificates")
            .and_then(|(name, v)| v.filter(|_| name.eq_ignore_ascii_case(requested.name())))
            .ok_or_else(|| {
                invalid(format!(
                    "id {id:?} is not a version of certificate {}",
                    requested.name()
                ))
            })?;
        let kid = text("kid").ok_or_else(|| invalid("no kid".into()))?;
        let (key_name, key_version) = last_segments(kid, "keys")
            .and_then(|(n, v)| v.map(|v| (n, v)))
            .ok_or_else(|| invalid(format!("kid {kid:?} is not a key version")))?;
        let key_url = format!("{}/keys/{key_name}/{key_version}", requested.vault());
        let enabled = body
            .pointer("/attributes/enabled")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        let certificate = match text("cer") {
            Some(cer) if !cer.is_empty() => {
                let der = b64::decode_lenient(cer)
                    .map_err(|e| invalid(format!("cer is not base64: {e}")))?;
                Some(
                    Certificate::from_der(&der)
                        .map_err(|e| invalid(format!("cer is not a certificate: {e}")))?,
                )
            }
            _ => None,
        };
        Ok(VaultCertificate {
            reference: requested.with_version(&version),
            key_url,
            enabled,
            pending: body.get("pending").is_some(),
            certificate,
            policy: body.get("policy").cloned(),
        })
    }
}

/// `(name, version)` from `https://host/{kind}/{name}[/{version}]`.
fn last_segments(id: &str, kind: &str) -> Option<(String, Option<String>)> {
    let url = url::Url::parse(id).ok()?;
    let parts: Vec<&str> = url.path_segments()?.filter(|p| !p.is_empty()).collect();
    match parts.as_slice() {
        [k, name] if *k == kind => Some((name.to_string(), None)),
        [k, name, version] if *k == kind => Some((name.to_string(), Some(version.to_string()))),
        _ => None,
    }
}

impl KeyVaultClient {
    /// Reads a certificate (its latest version when `reference` names none). Not issued is not an error here:
    /// see [`VaultCertificate::issued`].
    pub async fn get_certificate(
        &self,
        reference: &VaultCertificateRef,
    ) -> Result<VaultCertificate, KeyVaultError> {
        reference.check_cloud(self.cloud())?;
        let path = match reference.version() {
            Some(v) => format!("/certificates/{}/{v}", reference.name()),
            None => format!("/certificates/{}", reference.name()),
        };
        let subject = Subject {
            vault: reference.vault(),
            what: "certificate",
            name: reference.name(),
            version: reference.version(),
            permission: Permission::CertificatesGet,
        };
        let answer = self.call(Method::GET, &path, None, &subject, true).await?;
        VaultCertificate::from_bundle(reference, &answer.body, &reference.url())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cert() -> Certificate {
        keyroll_proto::cert::generate::self_signed_rsa(
            "CN=vault",
            time::OffsetDateTime::now_utc(),
            30,
            2048,
        )
        .unwrap()
        .identity()
        .unwrap()
        .certificate()
        .clone()
    }

    #[test]
    fn a_bundle_gives_the_certificate_its_version_and_its_key_on_the_vaults_host() {
        let r = VaultCertificateRef::parse("https://v.vault.azure.net/certificates/app").unwrap();
        let c = cert();
        let body = json!({
            "id": "https://v.vault.azure.net/certificates/app/abc123",
            "kid": "https://elsewhere.example/keys/app/abc123",
            "cer": b64::encode_std(c.der()),
            "attributes": {"enabled": true},
            "policy": {"key_props": {"kty": "RSA"}},
        });
        let v = VaultCertificate::from_bundle(&r, &body, "u").unwrap();
        assert_eq!(v.version(), "abc123");
        assert_eq!(v.key_url, "https://v.vault.azure.net/keys/app/abc123");
        assert_eq!(v.issued().unwrap(), &c);
        assert!(v.policy.is_some());
    }

    #[test]
    fn a_certificate_not_issued_says_why() {
        let r = VaultCertificateRef::parse("https://v.vault.azure.net/certificates/app").unwrap();
        let pending = json!({
            "id": "https://v.vault.azure.net/certificates/app/p1",
            "kid": "https://v.vault.azure.net/keys/app/p1",
            "attributes": {"enabled": false},
            "pending": {"id": "https://v.vault.azure.net/certificates/app/pending"},
        });
        let e = VaultCertificate::from_bundle(&r, &pending, "u")
            .unwrap()
            .issued()
            .unwrap_err();
        assert!(
            matches!(
                e,
                KeyVaultError::NotIssued {
                    state: NotIssued::Pending,
                    ..
                }
            ),
            "{e}"
        );
        assert!(
            e.to_string().contains("app/p1") && e.to_string().contains("pending"),
            "{e}"
        );
        let mut disabled = pending.clone();
        disabled["cer"] = json!(b64::encode_std(cert().der()));
        disabled.as_object_mut().unwrap().remove("pending");
        let e = VaultCertificate::from_bundle(&r, &disabled, "u")
            .unwrap()
            .issued()
            .unwrap_err();
        assert!(e.to_string().contains("disabled"), "{e}");
        let mut no_cer = pending;
        no_cer.as_object_mut().unwrap().remove("pending");
        let e = VaultCertificate::from_bundle(&r, &no_cer, "u")
            .unwrap()
            .issued()
            .unwrap_err();
        assert!(e.to_string().contains("no issued certificate"), "{e}");
        assert_eq!(e.code(), "vault_not_issued");
    }

    #[test]
    fn a_bundle_of_another_certificate_is_refused() {
        let r = VaultCertificateRef::parse("https://v.vault.azure.net/certificates/app").unwrap();
        let body = json!({
            "id": "https://v.vault.azure.net/certificates/other/1",
            "kid": "https://v.vault.azure.net/keys/other/1",
        });
        assert!(matches!(
            VaultCertificate::from_bundle(&r, &body, "u"),
            Err(KeyVaultError::InvalidResponse { .. })
        ));
    }
}
