//! A certificate in Azure Key Vault, named as the service names it: `https://{vault}/certificates/{name}` for
//! its latest version, `https://{vault}/certificates/{name}/{version}` for one version.

use std::fmt;

use crate::cloud::{self, Cloud};

/// A vault certificate: the vault's base URL, the certificate's name and, optionally, one version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultCertificateRef {
    vault: String,
    name: String,
    version: Option<String>,
}

/// Why a text does not name a vault certificate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReferenceError {
    /// Not an http(s) URL, or one that may not carry a token (plain http off loopback, credentials in it).
    #[error(
        "{given:?} is not a Key Vault certificate URL ({detail}); give https://<vault>.vault.azure.net/certificates/<name>[/<version>]"
    )]
    NotAUrl {
        /// The text given.
        given: String,
        /// What is wrong.
        detail: String,
    },
    /// A URL of the vault that does not name a certificate (a key, a secret, the vault itself).
    #[error(
        "{given} does not name a Key Vault certificate: the path must be /certificates/<name> or /certificates/<name>/<version>{}",
        if *.is_key_or_secret { " (a key or secret URL names the certificate's parts; give the certificate's URL, whose key signs)" } else { "" }
    )]
    NotACertificate {
        /// The URL given.
        given: String,
        /// Whether it named a key or a secret.
        is_key_or_secret: bool,
    },
    /// A name or version with characters Key Vault does not allow.
    #[error(
        "{given}: {what} {value:?} is not a Key Vault object {what} (1 to 127 letters, digits and dashes for a name; letters and digits for a version)"
    )]
    BadName {
        /// The URL given.
        given: String,
        /// `name` or `version`.
        what: &'static str,
        /// The value.
        value: String,
    },
    /// A vault host outside the cloud's vault domain: a token for the cloud's vault would go to another host.
    #[error(
        "{vault} is not a vault of the {cloud} cloud (its vaults are https://<name>{suffix}); a Key Vault token is only sent to the cloud's vaults (or to a loopback emulator): check the URL, or choose the vault's cloud"
    )]
    ForeignHost {
        /// The vault URL.
        vault: String,
        /// The cloud.
        cloud: Cloud,
        /// The cloud's vault DNS suffix.
        suffix: &'static str,
    },
}

impl ReferenceError {
    /// The kind of failure: text the caller gave.
    pub fn kind(&self) -> keyroll_proto::ErrorKind {
        keyroll_proto::ErrorKind::Input
    }
}

/// Whether `text` is meant as a URL rather than a file path: the test every face applies to a certificate
/// argument before reading it as a file.
pub fn is_url(text: &str) -> bool {
    let t = text.trim().to_ascii_lowercase();
    t.starts_with("https://") || t.starts_with("http://")
}

/// `text` without a user name or password between `://` and the host, so that an error never quotes them.
fn without_userinfo(text: &str) -> String {
    let Some((scheme, rest)) = text.split_once("://") else {
        return text.to_string();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://…@{}", &rest[at + 1..]),
        None => text.to_string(),
    }
}

/// Key Vault object names: 1-127 letters, digits and dashes.
fn valid_name(name: &str) -> bool {
    (1..=127).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// Versions are 32 hex digits at the service; any letters and digits are taken (an emulator may differ).
fn valid_version(version: &str) -> bool {
    (1..=64).contains(&version.len()) && version.chars().all(|c| c.is_ascii_alphanumeric())
}

impl VaultCertificateRef {
    /// Parses `https://{vault}/certificates/{name}[/{version}]` (a trailing slash and a query such as
    /// `?api-version=` are ignored). Plain http is taken only for loopback (the emulator).
    pub fn parse(text: &str) -> Result<Self, ReferenceError> {
        let shown = without_userinfo(text.trim());
        let given = shown.as_str();
        let not_url = |detail: String| ReferenceError::NotAUrl {
            given: given.to_string(),
            detail,
        };
        let mut url = url::Url::parse(text.trim()).map_err(|e| not_url(e.to_string()))?;
        url.set_query(None);
        url.set_fragment(None);
        let path: Vec<String> = url
            .path_segments()
            .map(|s| s.filter(|p| !p.is_empty()).map(str::to_string).collect())
            .unwrap_or_default();
        url.set_path("");
        let vault =
            cloud::check_url("the vault URL", url.as_str()).map_err(|e| not_url(e.to_string()))?;
        let not_certificate = |is_key_or_secret| ReferenceError::NotACertificate {
            given: given.to_string(),
            is_key_or_secret,
        };
        let (name, version) = match path.as_slice() {
            [kind, name] if kind == "certificates" => (name.clone(), None),
            [kind, name, version] if kind == "certificates" => {
                (name.clone(), Some(version.clone()))
            }
            [kind, ..] if kind == "keys" || kind == "secrets" => return Err(not_certificate(true)),
            _ => return Err(not_certificate(false)),
        };
        let reference = VaultCertificateRef {
            vault,
            name,
            version,
        };
        reference.check_names(given)?;
        Ok(reference)
    }

    /// A reference from its parts (the host's JSON may give them apart).
    pub fn new(vault: &str, name: &str, version: Option<&str>) -> Result<Self, ReferenceError> {
        let url = match version.filter(|v| !v.is_empty()) {
            Some(v) => format!("{}/certificates/{name}/{v}", vault.trim_end_matches('/')),
            None => format!("{}/certificates/{name}", vault.trim_end_matches('/')),
        };
        Self::parse(&url)
    }

    fn check_names(&self, given: &str) -> Result<(), ReferenceError> {
        let bad = |what, value: &str| ReferenceError::BadName {
            given: given.to_string(),
            what,
            value: value.to_string(),
        };
        if !valid_name(&self.name) {
            return Err(bad("name", &self.name));
        }
        match &self.version {
            Some(v) if !valid_version(v) => Err(bad("version", v)),
            _ => Ok(()),
        }
    }

    /// Refuses a vault outside `cloud`'s vault domain (loopback, the emulator, is always taken): a token for
    /// the cloud's vault resource goes only to the cloud's vaults.
    pub fn check_cloud(&self, cloud: Cloud) -> Result<(), ReferenceError> {
        let parsed = url::Url::parse(&self.vault).ok();
        let host = parsed
            .as_ref()
            .and_then(|u| u.host_str())
            .unwrap_or_default()
            .to_ascii_lowercase();
        let loopback = parsed.as_ref().is_some_and(cloud::is_loopback);
        if loopback || host.ends_with(cloud.vault_dns_suffix()) {
            Ok(())
        } else {
            Err(ReferenceError::ForeignHost {
                vault: self.vault.clone(),
                cloud,
                suffix: cloud.vault_dns_suffix(),
            })
        }
    }

    /// The vault's base URL, without trailing slash.
    pub fn vault(&self) -> &str {
        &self.vault
    }
    /// The certificate's name (also its key's name).
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The version, when one was named.
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }
    /// The same certificate at `version`.
    pub fn with_version(&self, version: &str) -> Self {
        VaultCertificateRef {
            version: Some(version.to_string()),
            ..self.clone()
        }
    }
    /// The same certificate, latest version.
    pub fn latest(&self) -> Self {
        VaultCertificateRef {
            version: None,
            ..self.clone()
        }
    }
    /// The certificate's URL (`{vault}/certificates/{name}[/{version}]`).
    pub fn url(&self) -> String {
        match &self.version {
            Some(v) => format!("{}/certificates/{}/{v}", self.vault, self.name),
            None => format!("{}/certificates/{}", self.vault, self.name),
        }
    }
}

impl fmt::Display for VaultCertificateRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_services_certificate_urls() {
        let r = VaultCertificateRef::parse("https://contoso.vault.azure.net/certificates/app-cert")
            .unwrap();
        assert_eq!(r.vault(), "https://contoso.vault.azure.net");
        assert_eq!(r.name(), "app-cert");
        assert_eq!(r.version(), None);
        let v = "0123456789abcdef0123456789abcdef";
        let r = VaultCertificateRef::parse(&format!(
            "https://contoso.vault.azure.net/certificates/app-cert/{v}/?api-version=7.4"
        ))
        .unwrap();
        assert_eq!(r.version(), Some(v));
        assert_eq!(
            r.url(),
            format!("https://contoso.vault.azure.net/certificates/app-cert/{v}")
        );
        let r = VaultCertificateRef::parse("http://127.0.0.1:8443/certificates/c").unwrap();
        assert_eq!(r.vault(), "http://127.0.0.1:8443");
        assert_eq!(r.latest(), r.with_version("x").latest());
        assert!(is_url("HTTPS://x") && !is_url("./cert.pfx") && !is_url("C:\\a.pfx"));
    }

    #[test]
    fn what_is_not_a_certificate_url_is_named_with_the_fix() {
        let cases = [
            ("cert.pfx", "is not a Key Vault certificate URL"),
            (
                "http://contoso.vault.azure.net/certificates/c",
                "plain http",
            ),
            (
                "https://contoso.vault.azure.net/keys/c/0123",
                "give the certificate's URL",
            ),
            (
                "https://contoso.vault.azure.net/secrets/c",
                "give the certificate's URL",
            ),
            (
                "https://contoso.vault.azure.net/",
                "/certificates/<name> or /certificates/<name>/<version>",
            ),
            (
                "https://contoso.vault.azure.net/certificates/a/b/c",
                "/certificates/<name>",
            ),
            (
                "https://contoso.vault.azure.net/certificates/app_cert",
                "name \"app_cert\" is not a Key Vault object name",
            ),
            (
                "https://contoso.vault.azure.net/certificates/app/v%2E1",
                "version",
            ),
            (
                "https://user:pw@contoso.vault.azure.net/certificates/app",
                "user name or password",
            ),
        ];
        for (text, expected) in cases {
            let e = VaultCertificateRef::parse(text).unwrap_err();
            assert!(e.to_string().contains(expected), "{text}: {e}");
            assert!(!e.to_string().contains("pw@"), "{e}");
        }
    }

    #[test]
    fn a_vault_outside_the_cloud_gets_no_token() {
        let r =
            VaultCertificateRef::parse("https://contoso.vault.azure.net/certificates/c").unwrap();
        assert!(r.check_cloud(Cloud::Global).is_ok());
        let e = r.check_cloud(Cloud::China).unwrap_err();
        assert!(e.to_string().contains(".vault.azure.cn"), "{e}");
        let evil =
            VaultCertificateRef::parse("https://vault.azure.net.evil.example/certificates/c")
                .unwrap();
        assert!(matches!(
            evil.check_cloud(Cloud::Global),
            Err(ReferenceError::ForeignHost { .. })
        ));
        let local = VaultCertificateRef::parse("https://localhost:9/certificates/c").unwrap();
        assert!(local.check_cloud(Cloud::UsGov).is_ok());
    }
}
