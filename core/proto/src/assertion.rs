//! Client assertions (docs/docs/protocol.md §5): the JWT a confidential client signs to obtain a token with a
//! certificate, minted the way the service documents and verified the way the service judges them.
//!
//! Minting follows the documented form: RS256 with `x5t` (base64url SHA-1 of the certificate), claims `aud` =
//! the token endpoint, `iss` = `sub` = the client id, a fresh `jti`, `nbf`, `exp` (at most 10 minutes later)
//! and `iat`.
//!
//! Verification accepts everything real clients send and the service accepts: RS256 + `x5t` and PS256 +
//! `x5t#S256`; `x5t` with `=` padding (MSAL Python); no `nbf` (MSAL Python); `nbf` / `exp` as numeric
//! strings (MSAL .NET). Each refusal carries the AADSTS code the service answers with.

use serde_json::{Map, Value};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::b64;
use crate::cert::{CertError, Certificate, SigningIdentity, Validity};
use crate::jwt::{self, JwsError, NumericDate, SigAlg};

/// The `client_assertion_type` of a JWT client assertion.
pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The longest lifetime minted (the service's documented maximum for `exp`).
pub const MAX_LIFETIME_SECS: i64 = 600;

/// Why a client assertion could not be minted or was refused. No variant carries the assertion itself.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AssertionError {
    /// Minting: the lifetime asked for is not in 1..=600 s.
    #[error("an assertion lifetime of {secs} s is not allowed; use 1 to {MAX_LIFETIME_SECS} s")]
    Lifetime {
        /// The lifetime asked for.
        secs: i64,
    },
    /// Minting: the client id or token endpoint is empty.
    #[error("the {what} of a client assertion must not be empty")]
    MissingInput {
        /// Which input.
        what: &'static str,
    },
    /// Minting: the certificate's key could not sign.
    #[error("cannot sign the client assertion: {0}")]
    Sign(#[from] CertError),
    /// Minting in two phases: the signing input given back is not `header.payload`.
    #[error(
        "the client assertion's signing input is not 'header.payload' as produced by the first phase ({reason})"
    )]
    MalformedSigningInput {
        /// What is wrong.
        reason: String,
    },
    /// Not a compact JWS.
    #[error("the client assertion is not a JWT ({0})")]
    Malformed(#[from] JwsError),
    /// `alg` is neither RS256 nor PS256.
    #[error(
        "the client assertion is signed {alg:?}; the service accepts RS256 (with x5t) and PS256 (with x5t#S256)"
    )]
    Algorithm {
        /// The header's alg.
        alg: String,
    },
    /// No `x5t` / `x5t#S256` in the header.
    #[error(
        "the client assertion's header names no certificate: send x5t (base64url SHA-1) with RS256 or x5t#S256 (base64url SHA-256) with PS256"
    )]
    MissingThumbprint,
    /// The thumbprint header is not base64 of a hash.
    #[error(
        "the client assertion's {header} header is not a base64url {expected_len}-byte thumbprint"
    )]
    BadThumbprint {
        /// x5t or x5t#S256.
        header: &'static str,
        /// The hash length.
        expected_len: usize,
    },
    /// A required claim is absent or of the wrong type.
    #[error("the client assertion's {claim} claim is missing or invalid: {fix}")]
    Claim {
        /// The claim.
        claim: &'static str,
        /// What it must be.
        fix: &'static str,
    },
    /// `aud` is not this token endpoint.
    #[error("the client assertion's aud is {found:?}; it must be the token endpoint {expected:?}")]
    Audience {
        /// The assertion's aud.
        found: String,
        /// The endpoint.
        expected: String,
    },
    /// `iss` / `sub` are not the client id.
    #[error(
        "the client assertion's {claim} is {found:?}; it must be the client id {client_id} (the appId, not the object id)"
    )]
    ClientIdMismatch {
        /// iss or sub.
        claim: &'static str,
        /// The value found.
        found: String,
        /// The client id of the request.
        client_id: String,
    },
    /// Outside `[nbf, exp]`.
    #[error(
        "the client assertion is not within its valid time range: it is now {now}, the assertion is valid from {nbf} to {exp} (seconds since 1970); check the clock"
    )]
    TimeRange {
        /// Now.
        now: i64,
        /// nbf (or "none").
        nbf: String,
        /// exp.
        exp: i64,
    },
    /// The certificate named in the header is not one of the application's keys.
    #[error(
        "the certificate with thumbprint {thumbprint} that signed the client assertion is not registered on the application: add it (addKey or the portal) or sign with a registered one"
    )]
    KeyNotRegistered {
        /// The thumbprint from the header, as hex.
        thumbprint: String,
    },
    /// The registered certificate is expired or not yet valid.
    #[error(
        "the certificate {thumbprint} is registered but not valid now (valid {not_before} to {not_after}): roll to a current certificate"
    )]
    KeyNotValid {
        /// SHA-1 hex.
        thumbprint: String,
        /// Its notBefore.
        not_before: String,
        /// Its notAfter.
        not_after: String,
    },
    /// The signature does not verify with the named certificate.
    #[error(
        "the client assertion's signature does not verify with the certificate {thumbprint}: the private key does not belong to that certificate"
    )]
    Signature {
        /// SHA-1 hex.
        thumbprint: String,
    },
}

impl AssertionError {
    /// The AADSTS error number the service answers this refusal with (0 for errors of minting).
    pub fn aadsts_code(&self) -> u32 {
        match self {
            AssertionError::Lifetime { .. }
            | AssertionError::MissingInput { .. }
            | AssertionError::Sign(_)
            | AssertionError::MalformedSigningInput { .. } => 0,
            AssertionError::Malformed(_)
            | AssertionError::Algorithm { .. }
            | AssertionError::MissingThumbprint
            | AssertionError::BadThumbprint { .. }
            | AssertionError::Claim { .. } => 50027,
            AssertionError::Audience { .. } => 700023,
            AssertionError::ClientIdMismatch { .. } => 700021,
            AssertionError::TimeRange { .. } => 700024,
            AssertionError::KeyNotRegistered { .. }
            | AssertionError::KeyNotValid { .. }
            | AssertionError::Signature { .. } => 700027,
        }
    }

    /// The OAuth `error` the service answers with.
    pub fn oauth_error(&self) -> &'static str {
        "invalid_client"
    }
}

/// What to mint.
#[derive(Debug, Clone)]
pub struct AssertionRequest {
    /// The client id (appId); becomes `iss` and `sub`.
    pub client_id: String,
    /// The token endpoint URL; becomes `aud`.
    pub token_endpoint: String,
    /// The assertion's unique id (`jti`); the caller supplies it so that this crate draws no randomness.
    pub jti: Uuid,
    /// Lifetime in seconds (default and maximum 600).
    pub lifetime_secs: i64,
}

impl AssertionRequest {
    /// An assertion for `client_id` at `token_endpoint` with id `jti`, living the maximum 600 s.
    pub fn new(client_id: impl Into<String>, token_endpoint: impl Into<String>, jti: Uuid) -> Self {
        AssertionRequest {
            client_id: client_id.into(),
            token_endpoint: token_endpoint.into(),
            jti,
            lifetime_secs: MAX_LIFETIME_SECS,
        }
    }
}

/// The exact bytes to sign (`base64url(header).base64url(claims)`) of a client assertion for `certificate`:
/// the first phase of signing with a key held elsewhere (Key Vault, a smart card, a key the host will not export).
/// The header names the certificate by `x5t`, so the service finds the key that must verify the signature.
pub fn signing_input(
    certificate: &Certificate,
    request: &AssertionRequest,
    now: OffsetDateTime,
) -> Result<String, AssertionError> {
    if !(1..=MAX_LIFETIME_SECS).contains(&request.lifetime_secs) {
        return Err(AssertionError::Lifetime {
            secs: request.lifetime_secs,
        });
    }
    if request.client_id.trim().is_empty() {
        return Err(AssertionError::MissingInput { what: "client id" });
    }
    if request.token_endpoint.trim().is_empty() {
        return Err(AssertionError::MissingInput {
            what: "token endpoint",
        });
    }
    certificate.check_signing_key()?;
    let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "x5t": certificate.x5t()});
    let t = now.unix_timestamp();
    let claims = serde_json::json!({
        "aud": request.token_endpoint,
        "iss": request.client_id,
        "sub": request.client_id,
        "jti": request.jti.hyphenated().to_string(),
        "nbf": t,
        "exp": t + request.lifetime_secs,
        "iat": t,
    });
    let mut out = b64::encode_url(header.to_string().as_bytes());
    out.push('.');
    out.push_str(&b64::encode_url(claims.to_string().as_bytes()));
    Ok(out)
}

/// Second phase: joins a signing input from [`signing_input`] and an RS256 signature made elsewhere, after
/// checking that the signature verifies with `certificate`. A wrong signature (another key, other bytes, PSS
/// instead of PKCS#1 v1.5) would only come back from the identity platform as AADSTS700027; here it is named.
pub fn assemble(
    signing_input: &str,
    signature: &[u8],
    certificate: &Certificate,
) -> Result<String, AssertionError> {
    let input = signing_input.trim();
    let parts: Vec<&str> = input.split('.').collect();
    if parts.len() != 2 || parts.iter().any(|p| p.is_empty()) {
        return Err(AssertionError::MalformedSigningInput {
            reason: format!("{} segment(s) instead of 2", parts.len()),
        });
    }
    if !jwt::verify_rs256(certificate, input.as_bytes(), signature) {
        return Err(AssertionError::Signature {
            thumbprint: certificate.sha1_hex(),
        });
    }
    Ok(format!("{input}.{}", b64::encode_url(signature)))
}

/// Mints a client assertion signed RS256 by `identity`, at `now`.
pub fn mint(
    identity: &SigningIdentity,
    request: &AssertionRequest,
    now: OffsetDateTime,
) -> Result<String, AssertionError> {
    let mut out = signing_input(identity.certificate(), request, now)?;
    let sig = identity.sign_rs256(out.as_bytes())?;
    out.push('.');
    out.push_str(&b64::encode_url(&sig));
    Ok(out)
}

/// What an assertion is checked against.
#[derive(Debug, Clone)]
pub struct Expectations<'a> {
    /// The `client_id` of the token request.
    pub client_id: &'a str,
    /// The URLs `aud` may name (the token endpoint as the client addressed it, and its equivalents).
    pub audiences: &'a [String],
    /// The application's registered certificates.
    pub certificates: &'a [Certificate],
    /// The time to judge at.
    pub now: OffsetDateTime,
    /// Seconds of clock difference tolerated on `nbf` and `exp`.
    pub clock_skew_secs: i64,
}

/// An assertion that passed every check.
#[derive(Debug, Clone)]
pub struct VerifiedAssertion {
    /// Index into [`Expectations::certificates`] of the signer.
    pub signer: usize,
    /// The algorithm it was signed with.
    pub algorithm: SigAlg,
    /// Its `jti`, when present.
    pub jti: Option<String>,
    /// Its `exp`.
    pub expires: i64,
}

fn decode_thumbprint(
    value: &str,
    header: &'static str,
    len: usize,
) -> Result<Vec<u8>, AssertionError> {
    let bytes = b64::decode_lenient(value.trim_end_matches('=')).map_err(|_| {
        AssertionError::BadThumbprint {
            header,
            expected_len: len,
        }
    })?;
    if bytes.len() != len {
        return Err(AssertionError::BadThumbprint {
            header,
            expected_len: len,
        });
    }
    Ok(bytes)
}

fn string_claim<'m>(claims: &'m Map<String, Value>, name: &str) -> Option<&'m str> {
    claims.get(name).and_then(Value::as_str)
}

fn same_url(a: &str, b: &str) -> bool {
    a.trim_end_matches('/')
        .eq_ignore_ascii_case(b.trim_end_matches('/'))
}

/// Verifies a client assertion as the service does.
pub fn verify(
    assertion: &str,
    expect: &Expectations<'_>,
) -> Result<VerifiedAssertion, AssertionError> {
    let jws = jwt::parse(assertion)?;
    let alg = match jws.header.get("alg").and_then(Value::as_str) {
        Some("RS256") => SigAlg::Rs256,
        Some("PS256") => SigAlg::Ps256,
        other => {
            return Err(AssertionError::Algorithm {
                alg: other.unwrap_or("none").to_owned(),
            });
        }
    };
    let x5t = jws
        .header
        .get("x5t")
        .and_then(Value::as_str)
        .map(|v| decode_thumbprint(v, "x5t", 20))
        .transpose()?;
    let x5t_s256 = jws
        .header
        .get("x5t#S256")
        .and_then(Value::as_str)
        .map(|v| decode_thumbprint(v, "x5t#S256", 32))
        .transpose()?;
    if x5t.is_none() && x5t_s256.is_none() {
        return Err(AssertionError::MissingThumbprint);
    }

    let claims = &jws.claims;
    let aud = string_claim(claims, "aud").ok_or(AssertionError::Claim {
        claim: "aud",
        fix: "the token endpoint URL as a string",
    })?;
    if !expect.audiences.iter().any(|a| same_url(a, aud)) {
        return Err(AssertionError::Audience {
            found: aud.to_owned(),
            expected: expect.audiences.first().cloned().unwrap_or_default(),
        });
    }
    for claim in ["iss", "sub"] {
        let value = string_claim(claims, claim).ok_or(AssertionError::Claim {
            claim: if claim == "iss" { "iss" } else { "sub" },
            fix: "the client id (appId) as a string",
        })?;
        if !value.eq_ignore_ascii_case(expect.client_id) {
            return Err(AssertionError::ClientIdMismatch {
                claim: if claim == "iss" { "iss" } else { "sub" },
                found: value.to_owned(),
                client_id: expect.client_id.to_owned(),
            });
        }
    }
    let exp = NumericDate::read(claims, "exp")
        .value()
        .ok_or(AssertionError::Claim {
            claim: "exp",
            fix: "seconds since 1970, as a number (or a numeric string)",
        })?;
    let nbf = match NumericDate::read(claims, "nbf") {
        NumericDate::Missing => None,
        d => Some(d.value().ok_or(AssertionError::Claim {
            claim: "nbf",
            fix: "seconds since 1970, as a number (or a numeric string), or absent",
        })?),
    };
    let now = expect.now.unix_timestamp();
    let skew = expect.clock_skew_secs.max(0);
    if now.saturating_sub(skew) > exp || nbf.is_some_and(|n| now.saturating_add(skew) < n) {
        return Err(AssertionError::TimeRange {
            now,
            nbf: nbf.map_or_else(|| "none".to_owned(), |n| n.to_string()),
            exp,
        });
    }

    let named = |c: &Certificate| {
        x5t.as_deref().is_some_and(|t| t == c.sha1().as_slice())
            || x5t_s256
                .as_deref()
                .is_some_and(|t| t == c.sha256().as_slice())
    };
    let Some((index, cert)) = expect
        .certificates
        .iter()
        .enumerate()
        .find(|(_, c)| named(c))
    else {
        let thumbprint = match (&x5t, &x5t_s256) {
            (Some(t), _) => hex::encode_upper(t),
            (None, Some(t)) => hex::encode_upper(t),
            (None, None) => String::new(),
        };
        return Err(AssertionError::KeyNotRegistered { thumbprint });
    };
    if cert.validity_at(expect.now) != Validity::Valid {
        return Err(AssertionError::KeyNotValid {
            thumbprint: cert.sha1_hex(),
            not_before: cert.not_before().to_string(),
            not_after: cert.not_after().to_string(),
        });
    }
    if !jwt::verify(alg, cert, jws.signing_input.as_bytes(), &jws.signature) {
        return Err(AssertionError::Signature {
            thumbprint: cert.sha1_hex(),
        });
    }
    Ok(VerifiedAssertion {
        signer: index,
        algorithm: alg,
        jti: string_claim(claims, "jti").map(str::to_owned),
        expires: exp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cert::generate::self_signed_rsa;

    const ENDPOINT: &str = "https://login.example/tenant/oauth2/v2.0/token";
    const CLIENT: &str = "11111111-2222-3333-4444-555555555555";

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
    }

    fn identity() -> SigningIdentity {
        self_signed_rsa("assertion test", now() - time::Duration::days(1), 30, 2048)
            .unwrap()
            .identity()
            .unwrap()
    }

    fn expect<'a>(certs: &'a [Certificate], audiences: &'a [String]) -> Expectations<'a> {
        Expectations {
            client_id: CLIENT,
            audiences,
            certificates: certs,
            now: now(),
            clock_skew_secs: 60,
        }
    }

    /// Signs arbitrary header and claims, the way other clients build assertions.
    fn sign_custom(id: &SigningIdentity, header: Value, claims: Value, pss: bool) -> String {
        let mut out = b64::encode_url(header.to_string().as_bytes());
        out.push('.');
        out.push_str(&b64::encode_url(claims.to_string().as_bytes()));
        let sig = if pss {
            id.sign_ps256(out.as_bytes()).unwrap()
        } else {
            id.sign_rs256(out.as_bytes()).unwrap()
        };
        format!("{out}.{}", b64::encode_url(&sig))
    }

    #[test]
    fn minted_assertion_verifies_and_has_the_documented_shape() {
        let id = identity();
        let jti = Uuid::new_v4();
        let a = mint(&id, &AssertionRequest::new(CLIENT, ENDPOINT, jti), now()).unwrap();
        let parsed = jwt::parse(&a).unwrap();
        assert_eq!(parsed.header["alg"], "RS256");
        assert_eq!(parsed.header["x5t"], id.certificate().x5t());
        assert_eq!(parsed.claims["iss"], CLIENT);
        assert_eq!(parsed.claims["sub"], CLIENT);
        assert_eq!(parsed.claims["jti"], jti.to_string());
        let exp = parsed.claims["exp"].as_i64().unwrap();
        assert_eq!(
            exp - parsed.claims["nbf"].as_i64().unwrap(),
            MAX_LIFETIME_SECS
        );
        let certs = [id.certificate().clone()];
        let auds = [ENDPOINT.to_owned()];
        let v = verify(&a, &expect(&certs, &auds)).unwrap();
        assert_eq!(v.signer, 0);
        assert_eq!(v.jti.as_deref(), Some(jti.to_string().as_str()));
    }

    #[test]
    fn mint_refuses_long_lifetimes() {
        let id = identity();
        let mut r = AssertionRequest::new(CLIENT, ENDPOINT, Uuid::nil());
        r.lifetime_secs = 601;
        assert!(matches!(
            mint(&id, &r, now()),
            Err(AssertionError::Lifetime { .. })
        ));
    }

    #[test]
    fn accepts_what_msal_python_and_dotnet_send() {
        let id = identity();
        let certs = [id.certificate().clone()];
        let auds = [ENDPOINT.to_owned()];
        let t = now().unix_timestamp();
        // MSAL Python: padded x5t, no nbf.
        let padded = format!("{}=", id.certificate().x5t());
        let py = sign_custom(
            &id,
            serde_json::json!({"alg": "RS256", "typ": "JWT", "x5t": padded}),
            serde_json::json!({"aud": ENDPOINT, "iss": CLIENT, "sub": CLIENT, "jti": "x", "exp": t + 600, "iat": t}),
            false,
        );
        verify(&py, &expect(&certs, &auds)).unwrap();
        // MSAL .NET: numeric strings; PS256 with x5t#S256.
        let net = sign_custom(
            &id,
            serde_json::json!({"alg": "PS256", "typ": "JWT", "x5t#S256": id.certificate().x5t_s256()}),
            serde_json::json!({"aud": ENDPOINT, "iss": CLIENT, "sub": CLIENT, "jti": "y", "nbf": t.to_string(), "exp": (t + 600).to_string()}),
            true,
        );
        let v = verify(&net, &expect(&certs, &auds)).unwrap();
        assert_eq!(v.algorithm, SigAlg::Ps256);
    }

    #[test]
    fn each_rule_has_its_code() {
        let id = identity();
        let other = identity();
        let certs = [id.certificate().clone()];
        let auds = [ENDPOINT.to_owned()];
        let t = now().unix_timestamp();
        let header = serde_json::json!({"alg": "RS256", "x5t": id.certificate().x5t()});
        let good = serde_json::json!({"aud": ENDPOINT, "iss": CLIENT, "sub": CLIENT, "nbf": t, "exp": t + 600});
        let code = |token: String| {
            verify(&token, &expect(&certs, &auds))
                .unwrap_err()
                .aadsts_code()
        };
        let with = |k: &str, v: Value| {
            let mut c = good.clone();
            c[k] = v;
            c
        };
        assert_eq!(code("garbage".into()), 50027);
        assert_eq!(
            code(sign_custom(
                &id,
                serde_json::json!({"alg": "RS256"}),
                good.clone(),
                false
            )),
            50027
        );
        assert_eq!(
            code(sign_custom(
                &id,
                serde_json::json!({"alg": "HS256", "x5t": id.certificate().x5t()}),
                good.clone(),
                false
            )),
            50027
        );
        assert_eq!(
            code(sign_custom(
                &id,
                header.clone(),
                with("aud", "https://elsewhere/token".into()),
                false
            )),
            700023
        );
        assert_eq!(
            code(sign_custom(
                &id,
                header.clone(),
                with("iss", "someone-else".into()),
                false
            )),
            700021
        );
        assert_eq!(
            code(sign_custom(
                &id,
                header.clone(),
                with("exp", (t - 3600).into()),
                false
            )),
            700024
        );
        assert_eq!(
            code(sign_custom(
                &id,
                header.clone(),
                with("nbf", (t + 3600).into()),
                false
            )),
            700024
        );
        // Signed by a key whose certificate is not registered.
        let foreign = serde_json::json!({"alg": "RS256", "x5t": other.certificate().x5t()});
        assert_eq!(
            code(sign_custom(&other, foreign, good.clone(), false)),
            700027
        );
        // Names the registered certificate but signed by another key.
        assert_eq!(
            code(sign_custom(&other, header.clone(), good.clone(), false)),
            700027
        );
    }

    #[test]
    fn expired_registered_certificate_is_refused() {
        let old = self_signed_rsa("old", now() - time::Duration::days(100), 30, 2048)
            .unwrap()
            .identity()
            .unwrap();
        let certs = [old.certificate().clone()];
        let auds = [ENDPOINT.to_owned()];
        let a = mint(
            &old,
            &AssertionRequest::new(CLIENT, ENDPOINT, Uuid::nil()),
            now(),
        )
        .unwrap();
        assert!(matches!(
            verify(&a, &expect(&certs, &auds)),
            Err(AssertionError::KeyNotValid { .. })
        ));
    }
}
