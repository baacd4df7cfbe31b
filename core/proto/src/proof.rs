//! Minting the proof-of-possession JWT that `addKey` and `removeKey` demand (docs/docs/protocol.md §1).
//!
//! The header and claims are exactly what Microsoft's documented sample (JsonWebTokenHandler with
//! X509SigningCredentials) emits — `{"alg":"RS256","kid":…,"x5t":…,"typ":"JWT"}` and
//! `{"aud":…,"iss":…,"nbf":…,"exp":…,"iat":…}` — because that is what the service is known to accept.
//!
//! Speed: the signature is the whole cost, so the RSA key stays parsed inside the [`SigningIdentity`] and this
//! module only formats two small JSON objects around it (`jsonwebtoken::encode` would parse the key again for
//! every token, at 2.5× the cost). Keys that cannot leave their store use the two-phase path:
//! [`signing_input`] gives the exact bytes to sign and [`assemble`] checks the signature made elsewhere.

use std::fmt;

use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::b64;
use crate::cert::{CertError, Certificate, SigningIdentity};

/// The audience the service expects: the legacy Azure AD Graph application id.
pub const GRAPH_AUDIENCE: &str = "00000002-0000-0000-c000-000000000000";
/// Microsoft Graph's application id — wrong as a proof audience, yet the docs briefly said so in 2023.
pub const MICROSOFT_GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";
/// The longest lifetime the service accepts (`exp - nbf`).
pub const MAX_LIFETIME_SECS: i64 = 600;
/// The default lifetime: the maximum, so a slow pipeline still gets through.
pub const DEFAULT_LIFETIME_SECS: i64 = MAX_LIFETIME_SECS;

/// Why a proof could not be minted or assembled.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// Lifetime above 600 s.
    #[error(
        "a proof lifetime of {secs} s exceeds the service's maximum of {MAX_LIFETIME_SECS} s; use {MAX_LIFETIME_SECS} or less"
    )]
    LifetimeTooLong {
        /// Requested lifetime.
        secs: i64,
    },
    /// Lifetime of zero or less.
    #[error(
        "a proof lifetime of {secs} s is not positive; use between 1 and {MAX_LIFETIME_SECS} s"
    )]
    LifetimeNotPositive {
        /// Requested lifetime.
        secs: i64,
    },
    /// Not a GUID.
    #[error(
        "{value:?} is not an object id: give the object's id (a GUID such as 3fa85f64-5717-4562-b3fc-2c963f66afa6) — the 'Object ID' of the app registration, not its 'Application (client) ID'"
    )]
    InvalidObjectId {
        /// What was given (never secret).
        value: String,
    },
    /// Empty audience.
    #[error("the proof audience is empty; leave it at the default {GRAPH_AUDIENCE}")]
    EmptyAudience,
    /// The certificate cannot sign.
    #[error(transparent)]
    Cert(#[from] CertError),
    /// The signing certificate is expired or not yet valid.
    #[error(
        "the certificate {thumbprint} is not valid now (valid {not_before} to {not_after}); the service only accepts proofs signed by a currently valid certificate of the object"
    )]
    SignerNotValid {
        /// Its thumbprint.
        thumbprint: String,
        /// Start of validity.
        not_before: String,
        /// End of validity.
        not_after: String,
    },
    /// The signing input given to `assemble` is not `header.payload`.
    #[error("the signing input is not 'header.payload' as produced by the first phase ({reason})")]
    MalformedSigningInput {
        /// What is wrong.
        reason: String,
    },
    /// The external signature does not verify.
    #[error(
        "the signature does not verify with certificate {thumbprint}: it was made with another key, over other bytes, or not with RS256 (RSASSA-PKCS1-v1_5 + SHA-256)"
    )]
    SignatureMismatch {
        /// The certificate's thumbprint.
        thumbprint: String,
    },
}

/// The service accepts only proofs signed by a currently valid certificate: checks `certificate` at `now`.
/// Hosts call it before minting for a real call; [`mint`] itself does not, so that tests and the inspector can
/// craft any proof.
pub fn check_signer_valid(
    certificate: &Certificate,
    now: OffsetDateTime,
) -> Result<(), ProofError> {
    if certificate.is_valid_at(now) {
        return Ok(());
    }
    Err(ProofError::SignerNotValid {
        thumbprint: certificate.sha1_hex(),
        not_before: crate::credential::serde_date::format(certificate.not_before()),
        not_after: crate::credential::serde_date::format(certificate.not_after()),
    })
}

/// Parses an object id as users paste it (any case, with or without braces).
pub fn parse_object_id(value: &str) -> Result<Uuid, ProofError> {
    Uuid::parse_str(value.trim()).map_err(|_| ProofError::InvalidObjectId {
        value: value.chars().take(64).collect(),
    })
}

/// What to put into a proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofRequest {
    /// The object id of the application / servicePrincipal / agentIdentityBlueprint (becomes `iss`).
    pub object_id: Uuid,
    /// `exp - nbf`, in seconds.
    pub lifetime_secs: i64,
    /// `aud`; [`GRAPH_AUDIENCE`] unless the service changes it.
    pub audience: String,
}

impl ProofRequest {
    /// A request with the default lifetime and audience.
    pub fn new(object_id: Uuid) -> Self {
        ProofRequest {
            object_id,
            lifetime_secs: DEFAULT_LIFETIME_SECS,
            audience: GRAPH_AUDIENCE.to_string(),
        }
    }
    /// Sets the lifetime.
    pub fn lifetime(mut self, secs: i64) -> Self {
        self.lifetime_secs = secs;
        self
    }
    /// Sets the audience.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = audience.into();
        self
    }
    fn check(&self) -> Result<(), ProofError> {
        if self.lifetime_secs > MAX_LIFETIME_SECS {
            return Err(ProofError::LifetimeTooLong {
                secs: self.lifetime_secs,
            });
        }
        if self.lifetime_secs <= 0 {
            return Err(ProofError::LifetimeNotPositive {
                secs: self.lifetime_secs,
            });
        }
        if self.audience.trim().is_empty() {
            return Err(ProofError::EmptyAudience);
        }
        Ok(())
    }
}

/// A minted proof. It is a short-lived credential: `Debug` does not show it; use [`Proof::as_str`].
#[derive(Clone, PartialEq, Eq)]
pub struct Proof(String);

impl Proof {
    /// The compact JWS.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The compact JWS, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Debug for Proof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Proof({})", crate::jwt::redact(&self.0))
    }
}

#[derive(Serialize)]
struct Header<'a> {
    alg: &'a str,
    kid: &'a str,
    x5t: &'a str,
    typ: &'a str,
}

#[derive(Serialize)]
struct Claims<'a> {
    aud: &'a str,
    iss: &'a str,
    nbf: i64,
    exp: i64,
    iat: i64,
}

/// The exact bytes to sign (`base64url(header).base64url(claims)`) for `certificate`, first phase of signing
/// with a key held elsewhere.
pub fn signing_input(
    certificate: &Certificate,
    request: &ProofRequest,
    now: OffsetDateTime,
) -> Result<String, ProofError> {
    request.check()?;
    certificate.check_signing_key()?;
    let kid = certificate.sha1_hex();
    let x5t = certificate.x5t();
    let header = Header {
        alg: "RS256",
        kid: &kid,
        x5t: &x5t,
        typ: "JWT",
    };
    let iss = request.object_id.hyphenated().to_string();
    let nbf = now.unix_timestamp();
    let claims = Claims {
        aud: &request.audience,
        iss: &iss,
        nbf,
        exp: nbf + request.lifetime_secs,
        iat: nbf,
    };
    // Serializing these two plain structs cannot fail; map it anyway rather than unwrap.
    let h = serde_json::to_vec(&header).map_err(|e| ProofError::MalformedSigningInput {
        reason: e.to_string(),
    })?;
    let c = serde_json::to_vec(&claims).map_err(|e| ProofError::MalformedSigningInput {
        reason: e.to_string(),
    })?;
    let mut out = b64::encode_url(&h);
    out.push('.');
    out.push_str(&b64::encode_url(&c));
    Ok(out)
}

/// Mints a proof signed by `identity` for `request` at time `now`.
pub fn mint(
    identity: &SigningIdentity,
    request: &ProofRequest,
    now: OffsetDateTime,
) -> Result<Proof, ProofError> {
    let mut input = signing_input(identity.certificate(), request, now)?;
    let sig = identity.sign_rs256(input.as_bytes())?;
    input.push('.');
    input.push_str(&b64::encode_url(&sig));
    Ok(Proof(input))
}

/// Second phase: joins a signing input from [`signing_input`] and an RS256 signature made elsewhere, after
/// checking that the signature verifies with `certificate` — a wrong signature would only come back from the
/// service as a bare 401.
pub fn assemble(
    signing_input: &str,
    signature: &[u8],
    certificate: &Certificate,
) -> Result<Proof, ProofError> {
    let parts: Vec<&str> = signing_input.trim().split('.').collect();
    if parts.len() != 2 || parts.iter().any(|p| p.is_empty()) {
        return Err(ProofError::MalformedSigningInput {
            reason: format!("{} segment(s) instead of 2", parts.len()),
        });
    }
    if !crate::jwt::verify_rs256(certificate, signing_input.trim().as_bytes(), signature) {
        return Err(ProofError::SignatureMismatch {
            thumbprint: certificate.sha1_hex(),
        });
    }
    Ok(Proof(format!(
        "{}.{}",
        signing_input.trim(),
        b64::encode_url(signature)
    )))
}
