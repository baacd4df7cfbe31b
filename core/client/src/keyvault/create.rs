//! Creating a certificate's next version in the vault, so that its private key is born there and never leaves:
//! `POST {vault}/certificates/{name}/create` with a policy, then `GET …/pending` until the operation completes
//! (bounded; the service's `Retry-After` is honoured), then the new version.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use super::certificate::VaultCertificate;
use super::client::{KeyVaultClient, Subject};
use super::error::KeyVaultError;
use super::permission::Permission;
use super::reference::VaultCertificateRef;
use keyroll_proto::cert::Certificate;

/// What the user says about the new version; what is not said comes from the certificate's current policy,
/// else from the defaults (RSA 2048, `CN={name}`, 12 months, issuer `Self`).
#[derive(Debug, Clone, Default)]
pub struct NewCertificatePolicy {
    /// The subject, e.g. `CN=billing-app`.
    pub subject: Option<String>,
    /// The RSA key size (2048, 3072, 4096).
    pub key_size: Option<u32>,
    /// Validity in months.
    pub validity_months: Option<u32>,
}

/// How long creation may take.
#[derive(Debug, Clone, Copy)]
pub struct CreateOptions {
    /// Give up polling after this long (the operation goes on at the vault; a re-run picks it up).
    pub max_wait: Duration,
    /// The longest pause between two polls when the vault sends no `Retry-After`.
    pub max_poll_interval: Duration,
}

impl Default for CreateOptions {
    fn default() -> Self {
        CreateOptions {
            max_wait: Duration::from_secs(120),
            max_poll_interval: Duration::from_secs(5),
        }
    }
}

/// The policy sent: the current one with `id` and attributes dropped, RSA and not exportable whatever it said
/// (the key must sign RS256 and stay in the vault), the user's overrides applied.
pub fn policy(name: &str, current: Option<&Value>, wanted: &NewCertificatePolicy) -> Value {
    let mut p = current
        .cloned()
        .filter(Value::is_object)
        .unwrap_or_else(|| {
            json!({
                "key_props": {"kty": "RSA", "key_size": 2048, "reuse_key": false},
                "secret_props": {"contentType": "application/x-pkcs12"},
                "x509_props": {
                    "subject": format!("CN={name}"),
                    "validity_months": 12,
                    "key_usage": ["digitalSignature", "keyEncipherment"],
                },
                "issuer": {"name": "Self"},
            })
        });
    if let Some(o) = p.as_object_mut() {
        o.remove("id");
        o.remove("attributes");
    }
    let kty = p.pointer("/key_props/kty").and_then(Value::as_str);
    if !matches!(kty, Some("RSA" | "RSA-HSM")) {
        p["key_props"]["kty"] = json!("RSA");
        if let Some(k) = p["key_props"].as_object_mut() {
            k.remove("crv");
        }
    }
    p["key_props"]["exportable"] = json!(false);
    // A new version gets a new key: reusing the old one would defeat the roll.
    p["key_props"]["reuse_key"] = json!(false);
    if p.pointer("/key_props/key_size").is_none() {
        p["key_props"]["key_size"] = json!(2048);
    }
    if let Some(size) = wanted.key_size {
        p["key_props"]["key_size"] = json!(size);
    }
    if let Some(subject) = &wanted.subject {
        p["x509_props"]["subject"] = json!(subject);
    }
    if let Some(months) = wanted.validity_months {
        p["x509_props"]["validity_months"] = json!(months);
    }
    if p.pointer("/issuer/name").is_none() {
        p["issuer"] = json!({"name": "Self"});
    }
    p
}

/// How the next version was come by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextVersionSource {
    /// Created now.
    Created,
    /// An operation pending from an earlier run completed, and its version is used.
    Completed,
    /// The latest version is already a key of the object (an earlier run created and added it): used again.
    Reused,
}

/// The next version of a vault certificate.
#[derive(Debug, Clone)]
pub struct NextVersion {
    /// The version, issued.
    pub version: VaultCertificate,
    /// How it was come by.
    pub source: NextVersionSource,
}

impl KeyVaultClient {
    /// Creates a new version of `reference`'s certificate with `policy` and waits until it is issued.
    pub async fn create_certificate(
        &self,
        reference: &VaultCertificateRef,
        policy: &Value,
        options: CreateOptions,
    ) -> Result<VaultCertificate, KeyVaultError> {
        reference.check_cloud(self.cloud())?;
        let subject = Subject {
            vault: reference.vault(),
            what: "certificate",
            name: reference.name(),
            version: None,
            permission: Permission::CertificatesCreate,
        };
        let body = json!({"policy": policy, "attributes": {"enabled": true}});
        // Not repeated after a lost answer: a second create would make a second version (429 is, as it was
        // not taken).
        let answer = self
            .call(
                Method::POST,
                &format!("/certificates/{}/create", reference.name()),
                Some(&body),
                &subject,
                false,
            )
            .await?;
        self.wait_pending(reference, answer.body, answer.retry_after, options)
            .await
    }

    /// Polls the certificate's pending operation until it completes; then reads the new (latest) version.
    pub async fn wait_pending(
        &self,
        reference: &VaultCertificateRef,
        mut operation: Value,
        mut retry_after: Option<Duration>,
        options: CreateOptions,
    ) -> Result<VaultCertificate, KeyVaultError> {
        let started = Instant::now();
        let mut poll = 0u32;
        let latest = reference.latest();
        let subject = Subject {
            vault: reference.vault(),
            what: "certificate",
            name: reference.name(),
            version: None,
            permission: Permission::CertificatesGet,
        };
        loop {
            let status = operation
                .get("status")
                .and_then(Value::as_str)
                .unwrap_or("inProgress")
                .to_string();
            match status.as_str() {
                "completed" => {
                    let version = self.get_certificate(&latest).await?;
                    version.issued()?;
                    return Ok(version);
                }
                "inProgress" => {}
                other => {
                    let detail = operation
                        .pointer("/error/message")
                        .or_else(|| operation.get("status_details"))
                        .and_then(Value::as_str)
                        .unwrap_or("no detail");
                    return Err(KeyVaultError::CreateFailed {
                        certificate: latest.url(),
                        detail: format!("status {other}: {detail}"),
                    });
                }
            }
            let waited = started.elapsed();
            if waited >= options.max_wait {
                return Err(KeyVaultError::CreateTimedOut {
                    certificate: latest.url(),
                    waited_secs: waited.as_secs(),
                    status,
                });
            }
            // Short first (a self-issued certificate takes seconds), growing to the bound; the service's
            // Retry-After when it gives one.
            poll += 1;
            let backoff =
                Duration::from_millis(100u64 << poll.min(8)).min(options.max_poll_interval);
            let pause = retry_after
                .unwrap_or(backoff)
                .min(options.max_wait.saturating_sub(waited));
            tokio::time::sleep(pause).await;
            let answer = self
                .call(
                    Method::GET,
                    &format!("/certificates/{}/pending", reference.name()),
                    None,
                    &subject,
                    true,
                )
                .await?;
            operation = answer.body;
            retry_after = answer.retry_after;
        }
    }

    /// The version to roll to from `current`, created in the vault only when needed: when the latest version is
    /// still pending (an earlier run stopped while it was created) it is waited for; when the latest version is
    /// not `current` and `is_registered` says it is already a key of the object (an earlier run created and
    /// added it, then stopped), it is used again; otherwise a new version is created with the certificate's
    /// policy and `wanted`. Re-runs therefore never pile up versions.
    pub async fn next_version(
        &self,
        reference: &VaultCertificateRef,
        current: &Certificate,
        is_registered: &dyn Fn(&Certificate) -> bool,
        wanted: &NewCertificatePolicy,
        options: CreateOptions,
    ) -> Result<NextVersion, KeyVaultError> {
        let latest_ref = reference.latest();
        let latest = match self.get_certificate(&latest_ref).await {
            Ok(v) => Some(v),
            Err(KeyVaultError::NotFound { .. }) => None,
            Err(e) => return Err(e),
        };
        if let Some(latest) = &latest {
            if latest.pending && latest.certificate.is_none() {
                let pending = json!({"status": "inProgress"});
                let version = self.wait_pending(reference, pending, None, options).await?;
                return Ok(NextVersion {
                    version,
                    source: NextVersionSource::Completed,
                });
            }
            if let Some(c) = &latest.certificate
                && latest.enabled
                && c != current
                && is_registered(c)
            {
                return Ok(NextVersion {
                    version: latest.clone(),
                    source: NextVersionSource::Reused,
                });
            }
        }
        let policy = policy(
            reference.name(),
            latest.as_ref().and_then(|l| l.policy.as_ref()),
            wanted,
        );
        let version = self.create_certificate(reference, &policy, options).await?;
        Ok(NextVersion {
            version,
            source: NextVersionSource::Created,
        })
    }
}

/// The next version of `reference` for rolling `target` from `current`: [`KeyVaultClient::next_version`] with
/// the object's keys as read now (a version already registered on the object is used again, so a roll that
/// created a version and stopped creates no other when run again).
pub async fn next_version_for(
    graph: &crate::graph::GraphClient,
    vault: &KeyVaultClient,
    target: &crate::graph::Target,
    reference: &VaultCertificateRef,
    current: &Certificate,
    wanted: &NewCertificatePolicy,
    options: CreateOptions,
) -> Result<NextVersion, NextVersionError> {
    let keys = graph.read_keys(target).await?;
    let registered: Vec<String> = keys.keys.iter().filter_map(|k| k.thumbprint()).collect();
    let is_registered = |c: &Certificate| {
        registered
            .iter()
            .any(|t| t.eq_ignore_ascii_case(&c.sha1_hex()))
    };
    Ok(vault
        .next_version(reference, current, &is_registered, wanted, options)
        .await?)
}

/// A version as the versions list shows it.
#[derive(Debug, Clone)]
pub struct VersionItem {
    /// The version.
    pub version: String,
    /// The certificate's SHA-1 thumbprint (from `x5t`), once issued.
    pub thumbprint: Option<String>,
    /// Whether it is enabled.
    pub enabled: bool,
    /// When it was created (Unix seconds).
    pub created: i64,
}

impl KeyVaultClient {
    /// Every version of a certificate (`GET certificates/{name}/versions`, following `nextLink` on the same
    /// vault only), oldest first.
    pub async fn list_versions(
        &self,
        reference: &VaultCertificateRef,
    ) -> Result<Vec<VersionItem>, KeyVaultError> {
        reference.check_cloud(self.cloud())?;
        let subject = Subject {
            vault: reference.vault(),
            what: "certificate",
            name: reference.name(),
            version: None,
            permission: Permission::CertificatesList,
        };
        let mut path = format!("/certificates/{}/versions", reference.name());
        let mut out: Vec<(usize, VersionItem)> = Vec::new();
        for _page in 0..MAX_PAGES {
            let answer = self.call(Method::GET, &path, None, &subject, true).await?;
            for item in answer
                .body
                .get("value")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let id = item.get("id").and_then(Value::as_str).unwrap_or_default();
                let Some(version) = id.rsplit('/').next().filter(|v| !v.is_empty()) else {
                    continue;
                };
                let thumbprint = item
                    .get("x5t")
                    .and_then(Value::as_str)
                    .and_then(|t| keyroll_proto::b64::decode_jose_segment(t).ok())
                    .map(|b| b.iter().map(|x| format!("{x:02X}")).collect::<String>());
                out.push((
                    out.len(),
                    VersionItem {
                        version: version.to_string(),
                        thumbprint,
                        enabled: item
                            .pointer("/attributes/enabled")
                            .and_then(Value::as_bool)
                            .unwrap_or(true),
                        created: item
                            .pointer("/attributes/created")
                            .and_then(Value::as_i64)
                            .unwrap_or(0),
                    },
                ));
            }
            match answer.body.get("nextLink").and_then(Value::as_str) {
                Some(next) if !next.is_empty() => {
                    // Tokens go only to the vault named: a next link elsewhere is not followed.
                    path = next
                        .strip_prefix(reference.vault())
                        .filter(|p| p.starts_with('/'))
                        .ok_or_else(|| KeyVaultError::InvalidResponse {
                            url: reference.url(),
                            detail: format!("nextLink {next:?} leaves the vault"),
                        })?
                        .to_string();
                }
                _ => break,
            }
        }
        out.sort_by_key(|(i, v)| (v.created, *i));
        Ok(out.into_iter().map(|(_, v)| v).collect())
    }

    /// The current and next versions of one vault certificate when a roll goes from one version of it to the
    /// next: the current is the newest version that is a key of the object; the next is, in this order, a
    /// version still being issued (an earlier run's: waited for), a newer version than the current that is
    /// issued and enabled (an earlier run created it, and perhaps added it, then stopped: used again), else a
    /// version created now. So a re-run after a stop never creates a second version.
    pub async fn roll_versions(
        &self,
        reference: &VaultCertificateRef,
        registered: &[String],
        wanted: &NewCertificatePolicy,
        options: CreateOptions,
    ) -> Result<(VaultCertificate, NextVersion), KeyVaultError> {
        let latest_ref = reference.latest();
        let versions = self.list_versions(&latest_ref).await?;
        let is_registered = |v: &VersionItem| {
            v.thumbprint
                .as_ref()
                .is_some_and(|t| registered.iter().any(|r| r.eq_ignore_ascii_case(t)))
        };
        let in_use: Vec<&VersionItem> = versions.iter().filter(|v| is_registered(v)).collect();
        let Some(newest_in_use) = in_use.last() else {
            return Err(KeyVaultError::NoVersionInUse {
                certificate: latest_ref.url(),
            });
        };
        let newest_at = versions
            .iter()
            .position(|v| v.version == newest_in_use.version)
            .unwrap_or(0);
        // A newer version than the newest in use, issued and enabled: an earlier run's.
        let newer = versions[newest_at + 1..]
            .iter()
            .rev()
            .find(|v| v.enabled && v.thumbprint.is_some());
        let pending = versions
            .last()
            .is_some_and(|v| v.thumbprint.is_none() && newest_at + 1 < versions.len());
        let (current_version, next) = if pending {
            let version = self
                .wait_pending(reference, json!({"status": "inProgress"}), None, options)
                .await?;
            (
                newest_in_use.version.clone(),
                (version, NextVersionSource::Completed),
            )
        } else if let Some(newer) = newer {
            let version = self
                .get_certificate(&latest_ref.with_version(&newer.version))
                .await?;
            (
                newest_in_use.version.clone(),
                (version, NextVersionSource::Reused),
            )
        } else if in_use.len() >= 2 && newest_at + 1 == versions.len() {
            // The newest version is already a key beside an older one: an earlier run added it and stopped
            // before removing the old one.
            let previous = in_use[in_use.len() - 2];
            let version = self
                .get_certificate(&latest_ref.with_version(&newest_in_use.version))
                .await?;
            (
                previous.version.clone(),
                (version, NextVersionSource::Reused),
            )
        } else {
            let current = self
                .get_certificate(&latest_ref.with_version(&newest_in_use.version))
                .await?;
            let policy = policy(reference.name(), current.policy.as_ref(), wanted);
            let version = self.create_certificate(reference, &policy, options).await?;
            return Ok((
                current,
                NextVersion {
                    version,
                    source: NextVersionSource::Created,
                },
            ));
        };
        let current = self
            .get_certificate(&latest_ref.with_version(&current_version))
            .await?;
        Ok((
            current,
            NextVersion {
                version: next.0,
                source: next.1,
            },
        ))
    }
}

/// The most pages of versions read.
const MAX_PAGES: usize = 100;

/// [`KeyVaultClient::roll_versions`] with the object's keys as read now.
pub async fn roll_versions_for(
    graph: &crate::graph::GraphClient,
    vault: &KeyVaultClient,
    target: &crate::graph::Target,
    reference: &VaultCertificateRef,
    wanted: &NewCertificatePolicy,
    options: CreateOptions,
) -> Result<(VaultCertificate, NextVersion), NextVersionError> {
    let keys = graph.read_keys(target).await?;
    let registered: Vec<String> = keys.keys.iter().filter_map(|k| k.thumbprint()).collect();
    Ok(vault
        .roll_versions(reference, &registered, wanted, options)
        .await?)
}

/// Why the next version could not be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NextVersionError {
    /// Reading the object's keys failed.
    #[error(transparent)]
    Graph(#[from] crate::graph::GraphError),
    /// The vault refused or failed.
    #[error(transparent)]
    Vault(#[from] KeyVaultError),
}

impl NextVersionError {
    /// The kind of failure.
    pub fn kind(&self) -> keyroll_proto::ErrorKind {
        match self {
            NextVersionError::Graph(e) => e.kind(),
            NextVersionError::Vault(e) => e.kind(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_policy_is_rsa_not_exportable_self_issued() {
        let p = policy("app", None, &NewCertificatePolicy::default());
        assert_eq!(p["key_props"]["kty"], "RSA");
        assert_eq!(p["key_props"]["key_size"], 2048);
        assert_eq!(p["key_props"]["exportable"], false);
        assert_eq!(p["x509_props"]["subject"], "CN=app");
        assert_eq!(p["x509_props"]["validity_months"], 12);
        assert_eq!(p["issuer"]["name"], "Self");
    }

    #[test]
    fn the_current_policy_is_kept_but_never_exportable_ec_or_reusing_the_key() {
        let current = json!({
            "id": "https://v/certificates/app/policy",
            "key_props": {"kty": "EC", "crv": "P-256", "exportable": true, "reuse_key": true, "key_size": 4096},
            "x509_props": {"subject": "CN=billing", "validity_months": 6},
            "issuer": {"name": "Self"},
            "attributes": {"enabled": true},
        });
        let p = policy(
            "app",
            Some(&current),
            &NewCertificatePolicy {
                validity_months: Some(24),
                ..Default::default()
            },
        );
        assert!(p.get("id").is_none() && p.get("attributes").is_none());
        assert_eq!(p["key_props"]["kty"], "RSA");
        assert!(p["key_props"].get("crv").is_none());
        assert_eq!(p["key_props"]["exportable"], false);
        assert_eq!(p["key_props"]["reuse_key"], false);
        assert_eq!(p["key_props"]["key_size"], 4096);
        assert_eq!(p["x509_props"]["subject"], "CN=billing");
        assert_eq!(p["x509_props"]["validity_months"], 24);
    }
}
