//! The certificate's key in the vault: `GET {vault}/keys/{name}/{version}` (the public JWK) and the check that
//! it is RSA of at least 2048 bits and the certificate's own key.

use reqwest::Method;
use serde_json::Value;

use super::client::{KeyVaultClient, Subject};
use super::error::KeyVaultError;
use super::permission::Permission;
use keyroll_proto::b64;
use keyroll_proto::cert::{Certificate, MIN_RSA_BITS};

/// Splits `{vault}/keys/{name}/{version}` into its parts.
pub(crate) fn key_parts(key_url: &str) -> (&str, &str, &str) {
    let (vault, rest) = key_url.split_once("/keys/").unwrap_or((key_url, ""));
    let (name, version) = rest.split_once('/').unwrap_or((rest, ""));
    (vault, name, version)
}

/// Checks a public JWK against the certificate: RSA, at least [`MIN_RSA_BITS`], the same modulus and exponent.
pub(crate) fn check_key(
    jwk: &Value,
    key_url: &str,
    certificate_url: &str,
    certificate: &Certificate,
) -> Result<(), KeyVaultError> {
    let text = |k: &str| jwk.get(k).and_then(Value::as_str).unwrap_or_default();
    let kty = text("kty");
    if !matches!(kty, "RSA" | "RSA-HSM") {
        return Err(KeyVaultError::KeyNotRsa {
            key: key_url.to_string(),
            kty: if kty.is_empty() {
                "of no type".into()
            } else {
                kty.to_string()
            },
        });
    }
    let invalid = |what: &str| KeyVaultError::InvalidResponse {
        url: key_url.to_string(),
        detail: format!("the key's {what} is not base64url"),
    };
    let n = b64::decode_jose_segment(text("n")).map_err(|_| invalid("n"))?;
    let e = b64::decode_jose_segment(text("e")).map_err(|_| invalid("e"))?;
    let significant = n.iter().skip_while(|b| **b == 0).count();
    let bits = significant * 8
        - n.iter()
            .find(|b| **b != 0)
            .map_or(0, |b| b.leading_zeros() as usize);
    if bits < MIN_RSA_BITS {
        return Err(KeyVaultError::KeyTooSmall {
            key: key_url.to_string(),
            bits,
        });
    }
    if !certificate.has_rsa_key(&n, &e) {
        return Err(KeyVaultError::KeyMismatch {
            key: key_url.to_string(),
            certificate: certificate_url.to_string(),
            thumbprint: certificate.sha1_hex(),
        });
    }
    Ok(())
}

impl KeyVaultClient {
    /// Reads a key's public JWK (`key` of the key bundle).
    pub async fn get_key(&self, key_url: &str) -> Result<Value, KeyVaultError> {
        let (vault, name, version) = key_parts(key_url);
        let subject = Subject {
            vault,
            what: "key",
            name,
            version: Some(version).filter(|v| !v.is_empty()),
            permission: Permission::KeysGet,
        };
        let path = format!("/keys/{name}/{version}");
        let answer = self.call(Method::GET, &path, None, &subject, true).await?;
        answer
            .body
            .get("key")
            .cloned()
            .ok_or_else(|| KeyVaultError::InvalidResponse {
                url: key_url.to_string(),
                detail: "no key in the key bundle".into(),
            })
    }

    /// Signs a SHA-256 `digest` with RS256 (`POST {key}/sign`); the signature's bytes.
    pub async fn sign_digest(
        &self,
        key_url: &str,
        digest: &[u8],
    ) -> Result<Vec<u8>, KeyVaultError> {
        let (vault, name, version) = key_parts(key_url);
        let subject = Subject {
            vault,
            what: "key",
            name,
            version: Some(version).filter(|v| !v.is_empty()),
            permission: Permission::KeysSign,
        };
        let body = serde_json::json!({"alg": "RS256", "value": b64::encode_url(digest)});
        // Signing has no side effect: repeating it after a lost answer is safe.
        let answer = self
            .call(
                Method::POST,
                &format!("/keys/{name}/{version}/sign"),
                Some(&body),
                &subject,
                true,
            )
            .await?;
        let value = answer
            .body
            .get("value")
            .and_then(Value::as_str)
            .unwrap_or_default();
        b64::decode_jose_segment(value)
            .ok()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| KeyVaultError::InvalidResponse {
                url: key_url.to_string(),
                detail: "the sign answer has no base64url value".into(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cert(bits: usize) -> Certificate {
        keyroll_proto::cert::generate::self_signed_rsa(
            "CN=key",
            time::OffsetDateTime::now_utc(),
            30,
            bits,
        )
        .unwrap()
        .identity()
        .unwrap()
        .certificate()
        .clone()
    }

    fn jwk(c: &Certificate) -> Value {
        let (n, e) = c.rsa_public_numbers().unwrap();
        json!({"kty": "RSA", "n": b64::encode_url(&n), "e": b64::encode_url(&e)})
    }

    const KEY: &str = "https://v.vault.azure.net/keys/app/1";
    const CERT: &str = "https://v.vault.azure.net/certificates/app/1";

    #[test]
    fn the_certificates_own_rsa_key_passes() {
        let c = cert(2048);
        check_key(&jwk(&c), KEY, CERT, &c).unwrap();
        let mut hsm = jwk(&c);
        hsm["kty"] = json!("RSA-HSM");
        check_key(&hsm, KEY, CERT, &c).unwrap();
        assert_eq!(key_parts(KEY), ("https://v.vault.azure.net", "app", "1"));
    }

    #[test]
    fn a_key_that_is_not_rsa_is_named_with_the_fix() {
        let c = cert(2048);
        let ec = json!({"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"});
        let e = check_key(&ec, KEY, CERT, &c).unwrap_err();
        assert!(matches!(e, KeyVaultError::KeyNotRsa { .. }), "{e}");
        assert!(
            e.to_string().contains(KEY)
                && e.to_string()
                    .contains("create the certificate with an RSA key"),
            "{e}"
        );
        assert_eq!(e.code(), "key_not_rsa");
    }

    #[test]
    fn a_key_too_small_is_named_with_its_size() {
        // A 1024-bit modulus (top bit set), with a JWK's optional leading zero byte.
        let mut n = vec![0u8, 0xc3];
        n.extend(std::iter::repeat_n(0x5a, 127));
        let small = json!({"kty": "RSA", "n": b64::encode_url(&n), "e": "AQAB"});
        let e = check_key(&small, KEY, CERT, &cert(2048)).unwrap_err();
        assert!(
            matches!(e, KeyVaultError::KeyTooSmall { bits: 1024, .. }),
            "{e}"
        );
        assert!(
            e.to_string().contains("a key size of 2048 bits or more"),
            "{e}"
        );
    }

    #[test]
    fn a_key_that_is_not_the_certificates_is_named() {
        let c = cert(2048);
        let e = check_key(&jwk(&cert(2048)), KEY, CERT, &c).unwrap_err();
        assert!(matches!(e, KeyVaultError::KeyMismatch { .. }), "{e}");
        assert!(
            e.to_string().contains(&c.sha1_hex()) && e.to_string().contains(CERT),
            "{e}"
        );
    }
}
