//! Identities, proofs and key credentials: everything that needs no network.

use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::*;
use keyroll_client::signer::{self, Signer};
use keyroll_proto::cert::{self, Certificate, SigningIdentity};
use keyroll_proto::credential::{CredentialKind, KeyCredentialBuilder, serde_date};
use keyroll_proto::inspect::{self, InspectOptions};
use keyroll_proto::proof::{self, Proof, ProofRequest};

// ---------------------------------------------------------------------------------------------------------
// Identities, proofs, key credentials: no network.

/// Loads a signing identity (certificate + private key) from PFX or PEM bytes. An empty password means none.
pub fn open_identity(bytes: &[u8], password: &str) -> Result<SigningIdentity, ApiError> {
    let password = (!password.is_empty()).then_some(password);
    Ok(SigningIdentity::load(bytes, password)?)
}

/// Loads a signing identity from a PFX or PEM file. An empty password means none.
pub fn open_identity_file(path: &str, password: &str) -> Result<SigningIdentity, ApiError> {
    let password = (!password.is_empty()).then_some(password);
    Ok(SigningIdentity::load_file(
        std::path::Path::new(path),
        None,
        password,
    )?)
}

/// What a host shows about a certificate.
pub fn describe_certificate(c: &Certificate) -> Value {
    json!({
        "thumbprint": c.sha1_hex(),
        "thumbprintSha256": c.sha256_hex(),
        "x5t": c.x5t(),
        "subject": c.subject(),
        "issuer": c.issuer(),
        "serialNumber": c.serial(),
        "notBefore": serde_date::format(c.not_before()),
        "notAfter": serde_date::format(c.not_after()),
        "keyAlgorithm": c.key_algorithm(),
        "certificate": keyroll_proto::b64::encode_std(c.der()),
    })
}

pub(crate) fn proof_request(
    object_id: &str,
    lifetime_secs: i64,
    audience: &str,
) -> Result<ProofRequest, ApiError> {
    let mut request = ProofRequest::new(proof::parse_object_id(object_id)?);
    if lifetime_secs != 0 {
        request = request.lifetime(lifetime_secs);
    }
    if !audience.is_empty() {
        request = request.audience(audience);
    }
    Ok(request)
}

/// Mints a proof. `lifetime_secs` 0 means the default (600 s); an empty `audience` means Graph's.
pub async fn mint_proof(
    identity: &dyn Signer,
    object_id: &str,
    lifetime_secs: i64,
    audience: &str,
    now: OffsetDateTime,
) -> Result<Proof, ApiError> {
    let request = proof_request(object_id, lifetime_secs, audience)?;
    proof::check_signer_valid(identity.certificate(), now)?;
    signer::mint_proof(identity, &request, now)
        .await
        .map_err(|e| keyroll_client::graph::GraphError::from(e).into())
}

/// First phase of signing elsewhere: the exact `header.payload` text to sign with RS256 for the public
/// certificate given (DER, PEM or base64), object id and lifetime (0 = default).
pub fn signing_input(
    certificate: &[u8],
    object_id: &str,
    lifetime_secs: i64,
    audience: &str,
    now: OffsetDateTime,
) -> Result<String, ApiError> {
    let certificate = cert::load_public_certificate(certificate, None)?.certificate;
    let request = proof_request(object_id, lifetime_secs, audience)?;
    proof::check_signer_valid(&certificate, now)?;
    Ok(proof::signing_input(&certificate, &request, now)?)
}

/// Second phase: the finished proof from the signing input and the RS256 signature made elsewhere, after
/// checking the signature against the certificate.
pub fn assemble_proof(
    signing_input: &str,
    signature: &[u8],
    certificate: &[u8],
) -> Result<Proof, ApiError> {
    let certificate = cert::load_public_certificate(certificate, None)?.certificate;
    Ok(proof::assemble(signing_input, signature, &certificate)?)
}

/// What to check a proof against.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InspectSettings {
    /// Certificates that may have signed it (base64 DER or PEM).
    #[serde(default)]
    pub certificates: Vec<String>,
    /// The object id the proof must be for.
    #[serde(default)]
    pub object_id: Option<String>,
    /// The application's appId, to recognise it used as `iss` by mistake.
    #[serde(default)]
    pub app_id: Option<String>,
    /// The audience to expect instead of Graph's.
    #[serde(default)]
    pub audience: Option<String>,
    /// Seconds of clock difference to tolerate; the service's ([`inspect::SERVICE_CLOCK_SKEW_SECS`]) when
    /// absent, so that a host's check gives the emulator's and the client's verdict.
    #[serde(default = "service_clock_skew_secs")]
    pub clock_skew_secs: i64,
}

pub(crate) fn service_clock_skew_secs() -> i64 {
    inspect::SERVICE_CLOCK_SKEW_SECS
}

impl Default for InspectSettings {
    /// No context, and the service's clock tolerance (as when the JSON leaves the fields out).
    fn default() -> Self {
        InspectSettings {
            certificates: Vec::new(),
            object_id: None,
            app_id: None,
            audience: None,
            clock_skew_secs: service_clock_skew_secs(),
        }
    }
}

/// Inspects a proof: the report with every reason the service would reject it, and `accepted`.
pub fn inspect_proof(
    proof: &str,
    settings: &InspectSettings,
    now: OffsetDateTime,
) -> Result<Value, ApiError> {
    let certificates = settings
        .certificates
        .iter()
        .map(|c| cert::load_public_certificate(c.as_bytes(), None).map(|p| p.certificate))
        .collect::<Result<Vec<_>, _>>()?;
    let expected_object_id = settings
        .object_id
        .as_deref()
        .map(|s| parse_guid("inspect settings (objectId)", s))
        .transpose()?;
    let app_id = settings
        .app_id
        .as_deref()
        .map(|s| parse_guid("inspect settings (appId)", s))
        .transpose()?;
    let report = inspect::inspect(
        proof,
        &InspectOptions {
            certificates: &certificates,
            expected_object_id,
            app_id,
            expected_audience: settings.audience.as_deref(),
            now,
            clock_skew_secs: settings.clock_skew_secs,
        },
    );
    let mut v =
        serde_json::to_value(&report).map_err(|e| ApiError::settings("report", e.to_string()))?;
    v["accepted"] = Value::Bool(report.accepted());
    Ok(v)
}

/// The fields of a key credential a caller may choose.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeyCredentialSettings {
    /// Display name (default: the certificate's subject).
    #[serde(default)]
    pub display_name: Option<String>,
    /// Start of validity (default: the certificate's).
    #[serde(default)]
    pub start_date_time: Option<String>,
    /// End of validity (default: the certificate's).
    #[serde(default)]
    pub end_date_time: Option<String>,
    /// `customKeyIdentifier`, base64 (default: the SHA-1 thumbprint, set by the service).
    #[serde(default)]
    pub custom_key_identifier: Option<String>,
    /// `type`: AsymmetricX509Cert (default) or X509CertAndPassword.
    #[serde(default, rename = "type")]
    pub key_type: Option<String>,
    /// `usage`: Verify (default) or Sign.
    #[serde(default)]
    pub usage: Option<String>,
}

impl KeyCredentialSettings {
    pub(crate) fn kind(&self) -> Result<CredentialKind, ApiError> {
        let (t, u) = (self.key_type.as_deref(), self.usage.as_deref());
        CredentialKind::from_parts(t, u).ok_or_else(|| {
            ApiError::settings(
                "type/usage",
                format!(
                    "{} with {} is not accepted; use AsymmetricX509Cert + Verify or X509CertAndPassword + Sign",
                    t.unwrap_or("(no type)"),
                    u.unwrap_or("(no usage)")
                ),
            )
        })
    }

    pub(crate) fn builder(
        &self,
        certificate: Certificate,
    ) -> Result<KeyCredentialBuilder, ApiError> {
        let mut b = KeyCredentialBuilder::new(certificate).kind(self.kind()?);
        if let Some(n) = &self.display_name {
            b = b.display_name(n.clone());
        }
        b = b
            .start(parse_date(
                "startDateTime",
                self.start_date_time.as_deref(),
            )?)
            .end(parse_date("endDateTime", self.end_date_time.as_deref())?);
        if let Some(c) = &self.custom_key_identifier {
            let bytes = keyroll_proto::b64::decode_lenient(c).map_err(|e| {
                ApiError::settings("customKeyIdentifier", format!("not base64 ({e})"))
            })?;
            b = b.custom_key_identifier(Some(bytes));
        }
        Ok(b)
    }
}

/// Builds and validates the `keyCredential` for a public certificate (DER, PEM, base64, or a PFX/PEM bundle of
/// which only the certificate is taken): `{keyCredential, thumbprint, warnings, notice}`.
pub fn key_credential(
    certificate: &[u8],
    settings: &KeyCredentialSettings,
) -> Result<Value, ApiError> {
    let public = cert::load_key_credential_certificate(certificate)?;
    let thumbprint = public.certificate.sha1_hex();
    let built = settings.builder(public.certificate)?.build()?;
    // `base64Text`: the bytes were base64 text of the certificate, not the certificate. Where the host passed
    // text on purpose that is fine; where it passed bytes, it is the double-encoding mistake to report.
    Ok(json!({
        "keyCredential": built.key_credential,
        "thumbprint": thumbprint,
        "warnings": built.warnings,
        "notice": public.notice,
        "base64Text": public.from_base64_text,
    }))
}
