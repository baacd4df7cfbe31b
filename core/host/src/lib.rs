//! # keyroll-host
//!
//! Host-facing operations taking plain settings: what a host that is not Rust (the C ABI, and through it
//! PowerShell, C, Python) needs, with JSON in and JSON out, so that every host gets the same parameters, the
//! same defaults and the same error object. The top tier of the libraries: over `keyroll-client` and
//! `keyroll-proto`, under the C ABI (`ffi/`).
//!
//! Nothing here adds a rule: each operation parses its settings, calls the module that owns the rule
//! ([`proof`], [`inspect`](mod@keyroll_proto::inspect), [`credential`](keyroll_proto::credential),
//! [`graph`](keyroll_client::graph), [`roll`](keyroll_client::roll)) and shapes the answer.
//!
//! * Settings arrive as UTF-8 JSON (camelCase, unknown fields refused so that a typo is an error and not a
//!   silently ignored option). [`from_json`] parses them.
//! * Results are [`serde_json::Value`]s, except proofs and signing inputs, which are returned as text.
//! * Every failure is an [`ApiError`]; [`ApiError::report`] turns it into the [`ErrorReport`] hosts show:
//!   a [`ErrorKind`], a stable code (Graph's own code for service errors), the message with the fix, and the
//!   service's request ids.
//!
//! The environment is never read behind the caller's back: hosts such as .NET keep their own copy of it, so
//! the variables that matter (managed identity, `AZURE_*`) are passed in [`ConnectionSettings::environment`].
//! Files are read only where a setting names one (`caFile`, `certificateFile`).

#![forbid(unsafe_code)]

/// The environment variables a host passes in [`ConnectionSettings::environment`] (the client reads them through
/// the function it is given, never from the process).
pub use keyroll_client::auth::CREDENTIAL_ENVIRONMENT;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;
use zeroize::{Zeroize, Zeroizing};

use keyroll_client::auth::AuthError;
use keyroll_client::cloud::EndpointError;
use keyroll_client::graph::{GraphClient, GraphError, ObjectRef, Target};
use keyroll_client::http::HttpSetupError;
use keyroll_client::roll::{self, NoProgress, RollReport, RollSpec};
use keyroll_client::settings::{
    ConnectError, ConnectionChoices, Setting, SettingsError, TargetChoice,
};
use keyroll_proto::cert::{self, CertError, Certificate, SigningIdentity};
use keyroll_proto::clock::Clock;
use keyroll_proto::credential::{
    AddKeyRequest, CredentialError, CredentialKind, KeyCredentialBuilder, ValidationErrors,
    serde_date,
};
use keyroll_proto::inspect::{self, InspectOptions};
use keyroll_proto::proof::{self, Proof, ProofError, ProofRequest};

/// The largest settings document accepted (settings are a few hundred bytes; certificates a few KiB).
pub const MAX_JSON_LEN: usize = 4 * 1024 * 1024;

/// What kind of failure an [`ErrorReport`] describes (the libraries' one classification), so that a host can map
/// it to its own conventions (exit codes, exception types) without reading messages.
pub use keyroll_proto::ErrorKind;

/// The error object hosts show: everything needed to act, and to quote to support.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorReport {
    /// The kind of failure.
    pub kind: ErrorKind,
    /// A stable code: Graph's error code for service errors (e.g. `Authentication_MissingOrMalformed`), the
    /// OAuth error for token refusals, else one of this module's codes (`settings`, `certificate`, …).
    pub code: String,
    /// What went wrong and how to fix it.
    pub message: String,
    /// The HTTP status, when the service answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// The service's `request-id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Our `client-request-id` of the failed request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_request_id: Option<String>,
    /// AADSTS codes of a token refusal.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aadsts_codes: Vec<u32>,
    /// Each broken rule of an invalid request: `{field, graphCode, graphMessage, message}`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub issues: Vec<Value>,
    /// The roll report of a failed roll: what the object holds now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<Value>,
}

impl ErrorReport {
    /// A report with only kind, code and message.
    pub fn new(kind: ErrorKind, code: impl Into<String>, message: impl Into<String>) -> Self {
        ErrorReport {
            kind,
            code: code.into(),
            message: message.into(),
            http_status: None,
            request_id: None,
            client_request_id: None,
            aadsts_codes: Vec::new(),
            issues: Vec::new(),
            report: None,
        }
    }

    /// The report as JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| {
            // Serializing strings and numbers cannot fail; keep a valid object regardless.
            r#"{"kind":"input","code":"internal","message":"the error could not be serialized"}"#
                .into()
        })
    }
}

/// Why a host-facing operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The settings JSON is not what the operation takes.
    #[error("invalid {what}: {detail}")]
    Settings {
        /// Which settings.
        what: &'static str,
        /// What is wrong, with the fix.
        detail: String,
    },
    /// A file named by a setting cannot be read.
    #[error("cannot read {what} {path}: {detail}")]
    File {
        /// Which setting.
        what: &'static str,
        /// The path given.
        path: String,
        /// The OS error.
        detail: String,
    },
    /// A certificate or key.
    #[error(transparent)]
    Cert(#[from] CertError),
    /// Minting or assembling a proof.
    #[error(transparent)]
    Proof(#[from] ProofError),
    /// Building a key credential.
    #[error(transparent)]
    Credential(#[from] CredentialError),
    /// An endpoint URL.
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    /// The HTTP client settings.
    #[error(transparent)]
    Http(#[from] HttpSetupError),
    /// Authentication.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// A Graph call.
    #[error(transparent)]
    Graph(#[from] GraphError),
    /// A roll that did not complete; the report says what the object holds.
    #[error("{}", .0.error.as_deref().unwrap_or("the roll did not complete"))]
    Roll(Box<RollReport>),
}

impl ApiError {
    fn settings(what: &'static str, detail: impl Into<String>) -> Self {
        ApiError::Settings {
            what,
            detail: detail.into(),
        }
    }

    /// The error object for hosts.
    pub fn report(&self) -> ErrorReport {
        let message = self.to_string();
        match self {
            ApiError::Settings { .. } => ErrorReport::new(ErrorKind::Input, "settings", message),
            ApiError::File { .. } => ErrorReport::new(ErrorKind::Input, "file", message),
            ApiError::Cert(_) => ErrorReport::new(ErrorKind::Input, "certificate", message),
            ApiError::Proof(_) => ErrorReport::new(ErrorKind::Input, "proof", message),
            ApiError::Credential(CredentialError::Invalid(v)) => validation_report(v, message),
            ApiError::Credential(_) => ErrorReport::new(ErrorKind::Input, "certificate", message),
            ApiError::Endpoint(_) => ErrorReport::new(ErrorKind::Input, "endpoint", message),
            ApiError::Http(_) => ErrorReport::new(ErrorKind::Input, "http_settings", message),
            ApiError::Auth(a) => auth_report(a, message),
            ApiError::Graph(g) => graph_report(g, message),
            ApiError::Roll(r) => {
                // A roll refused before anything was written is the caller's input (same certificate, not yet
                // valid, a removal that could not be verified): kind `input`, code `roll_refused`.
                let (kind, code) = if r.refusal.is_some() {
                    (ErrorKind::Input, "roll_refused")
                } else if r.transport_failure {
                    (ErrorKind::Transport, "roll_incomplete")
                } else {
                    (ErrorKind::Service, "roll_incomplete")
                };
                let mut e = ErrorReport::new(kind, code, message);
                e.report = serde_json::to_value(r.as_ref()).ok();
                e
            }
        }
    }
}

fn validation_report(v: &ValidationErrors, message: String) -> ErrorReport {
    let code = v
        .first()
        .map(|i| i.graph_code())
        .unwrap_or("Request_BadRequest");
    let mut e = ErrorReport::new(ErrorKind::Input, code, message);
    e.issues =
        v.0.iter()
            .map(|i| {
                json!({
                    "field": i.field,
                    "graphCode": i.graph_code(),
                    "graphMessage": i.graph_message(),
                    "message": i.to_string(),
                })
            })
            .collect();
    e
}

fn auth_report(a: &AuthError, message: String) -> ErrorReport {
    let kind = a.kind();
    match a {
        AuthError::Refused {
            status,
            error,
            codes,
            ..
        } => {
            let mut e = ErrorReport::new(kind, error.clone(), message);
            e.http_status = Some(*status);
            e.aadsts_codes = codes.clone();
            e
        }
        AuthError::ManagedIdentity { status, .. } => {
            let mut e = ErrorReport::new(kind, "managed_identity", message);
            e.http_status = Some(*status);
            e
        }
        AuthError::Transport { .. } => ErrorReport::new(kind, "transport", message),
        AuthError::InvalidResponse { .. } => ErrorReport::new(kind, "invalid_response", message),
        _ => ErrorReport::new(kind, "credentials", message),
    }
}

fn graph_report(g: &GraphError, message: String) -> ErrorReport {
    // The kind is the error's own (one classification, in the client); the code is this API's stable name.
    let kind = g.kind();
    if let Some(s) = g.service() {
        let mut e = ErrorReport::new(kind, s.code.clone(), message);
        e.http_status = Some(s.status);
        e.request_id = s.request_id.clone();
        e.client_request_id = Some(s.client_request_id.clone()).filter(|c| !c.is_empty());
        return e;
    }
    let code = match g {
        GraphError::Auth(a) => return auth_report(a, message),
        GraphError::Invalid(v) => return validation_report(v, message),
        GraphError::Transport {
            client_request_id, ..
        }
        | GraphError::OutcomeUnknown {
            client_request_id, ..
        } => {
            let code = if matches!(g, GraphError::Transport { .. }) {
                "transport"
            } else {
                "outcome_unknown"
            };
            let mut e = ErrorReport::new(kind, code, message);
            e.client_request_id = Some(client_request_id.clone()).filter(|c| !c.is_empty());
            return e;
        }
        GraphError::InvalidResponse { request_id, .. } => {
            let mut e = ErrorReport::new(kind, "invalid_response", message);
            e.request_id = request_id.clone();
            return e;
        }
        GraphError::ProofRejected(_) => "proof_rejected",
        GraphError::ProofNotMinted(_) => "proof",
        GraphError::Credential(_) => "certificate",
        GraphError::AlreadyPresent { .. } => "already_present",
        GraphError::KeyNotFound { .. } => "key_not_found",
        GraphError::AppIdAsObjectId { .. } => "app_id_as_object_id",
        GraphError::Refused(_) => "refused",
        _ => "graph",
    };
    ErrorReport::new(kind, code, message)
}

/// Parses a settings document. `what` names it in the error (e.g. `"connection settings"`). Empty input is
/// read as `{}`.
pub fn from_json<T: DeserializeOwned>(what: &'static str, json: &[u8]) -> Result<T, ApiError> {
    if json.len() > MAX_JSON_LEN {
        return Err(ApiError::settings(
            what,
            format!("{} bytes is above the limit of {MAX_JSON_LEN}", json.len()),
        ));
    }
    let text = if json.iter().all(u8::is_ascii_whitespace) {
        &b"{}"[..]
    } else {
        json
    };
    serde_json::from_slice(text).map_err(|e| ApiError::settings(what, e.to_string()))
}

fn parse_guid(what: &'static str, value: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(value.trim())
        .map_err(|_| ApiError::settings(what, format!("{value:?} is not a GUID")))
}

fn parse_date(what: &'static str, value: Option<&str>) -> Result<Option<OffsetDateTime>, ApiError> {
    value
        .map(|s| serde_date::parse(s).map_err(|e| ApiError::settings(what, e)))
        .transpose()
}

fn read_named_file(what: &'static str, path: &std::path::Path) -> Result<Vec<u8>, ApiError> {
    cert::read_file(path).map_err(|e| ApiError::File {
        what,
        path: path.display().to_string(),
        detail: match e {
            CertError::Io { error, .. } => error.to_string(),
            other => other.to_string(),
        },
    })
}

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

fn proof_request(
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
pub fn mint_proof(
    identity: &SigningIdentity,
    object_id: &str,
    lifetime_secs: i64,
    audience: &str,
    now: OffsetDateTime,
) -> Result<Proof, ApiError> {
    let request = proof_request(object_id, lifetime_secs, audience)?;
    proof::check_signer_valid(identity.certificate(), now)?;
    Ok(proof::mint(identity, &request, now)?)
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

fn service_clock_skew_secs() -> i64 {
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
    fn kind(&self) -> Result<CredentialKind, ApiError> {
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

    fn builder(&self, certificate: Certificate) -> Result<KeyCredentialBuilder, ApiError> {
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
    let public = cert::load_public_certificate(certificate, None)?;
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

// ---------------------------------------------------------------------------------------------------------
// The service.

/// Where the service is, how to trust it, and how to authenticate.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConnectionSettings {
    /// `global` (default), `usgov`, `usgovdod`, `china`, or an Azure PowerShell environment name.
    #[serde(default)]
    pub cloud: Option<String>,
    /// Replaces the Graph host (e.g. the emulator's `graph_url`).
    #[serde(default)]
    pub graph_url: Option<String>,
    /// Replaces the login host (e.g. the emulator's `login_url`).
    #[serde(default)]
    pub login_url: Option<String>,
    /// `v1.0` (default) or `beta`.
    #[serde(default)]
    pub api_version: Option<String>,
    /// A PEM file of extra root certificates to trust (e.g. the emulator's `ca_cert`).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// PEM text of extra root certificates to trust.
    #[serde(default)]
    pub ca_pem: Option<String>,
    /// An explicit proxy URL. Hosts pass it explicitly: their environment changes do not reach this library.
    #[serde(default)]
    pub proxy: Option<String>,
    /// Whole-request timeout in seconds (default 30).
    #[serde(default)]
    pub timeout_secs: Option<u64>,
    /// An access token for Graph (first in precedence).
    #[serde(default)]
    pub access_token: Option<String>,
    /// Tenant, to authenticate as the app with its certificate.
    #[serde(default)]
    pub tenant_id: Option<String>,
    /// Client id (appId) to authenticate as, or of a user-assigned managed identity.
    #[serde(default)]
    pub client_id: Option<String>,
    /// Authenticate with a managed identity.
    #[serde(default)]
    pub managed_identity: bool,
    /// Environment variables as the host sees them (`IDENTITY_ENDPOINT`, `IDENTITY_HEADER`, `AZURE_TENANT_ID`,
    /// `AZURE_CLIENT_ID`, `AZURE_CLIENT_CERTIFICATE_PATH`, …). The process environment is not read.
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
}

impl Drop for ConnectionSettings {
    fn drop(&mut self) {
        self.access_token.zeroize();
        for v in self.environment.values_mut() {
            v.zeroize();
        }
    }
}

impl std::fmt::Debug for ConnectionSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionSettings")
            .field("cloud", &self.cloud)
            .field("graph_url", &self.graph_url)
            .field("login_url", &self.login_url)
            .field(
                "access_token",
                &self.access_token.as_ref().map(|_| "<redacted>"),
            )
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field("managed_identity", &self.managed_identity)
            .finish_non_exhaustive()
    }
}

/// The object an operation is about.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetSettings {
    /// `application` (default), `servicePrincipal`, `agentIdentityBlueprint`.
    #[serde(default)]
    pub kind: Option<String>,
    /// The object id.
    #[serde(default)]
    pub object_id: Option<String>,
    /// The appId (client id), when the object id is not known.
    #[serde(default)]
    pub app_id: Option<String>,
}

impl TargetSettings {
    /// The target, through the client's one translation of a user's words ([`TargetChoice`]).
    fn target(&self) -> Result<Target, ApiError> {
        Ok(TargetChoice {
            kind: self.kind.clone(),
            object_id: self.object_id.clone(),
            app_id: self.app_id.clone(),
        }
        .target()?)
    }
}

/// The JSON name of a setting, as a host writes it.
fn setting_name(setting: Setting) -> &'static str {
    match setting {
        Setting::Cloud => "cloud",
        Setting::ApiVersion => "apiVersion",
        Setting::TargetKind => "target (kind)",
        Setting::ObjectId => "target (objectId)",
        Setting::AppId => "target (appId)",
        Setting::Target => "target",
        _ => "settings",
    }
}

impl From<SettingsError> for ApiError {
    fn from(e: SettingsError) -> Self {
        ApiError::settings(setting_name(e.setting), e.problem)
    }
}

impl From<ConnectError> for ApiError {
    fn from(e: ConnectError) -> Self {
        match e {
            ConnectError::Settings(s) => s.into(),
            ConnectError::Endpoint(e) => ApiError::Endpoint(e),
            ConnectError::Auth(e) => ApiError::Auth(e),
            ConnectError::Http(e) => ApiError::Http(e),
            other => ApiError::settings("connection settings", other.to_string()),
        }
    }
}

/// A connection to the service: the Graph client with its token cache and shared throttle. Cheap to share
/// between threads; every operation may run concurrently.
#[derive(Debug, Clone)]
pub struct Connection {
    client: GraphClient,
}

impl Connection {
    /// Builds the connection. `certificate` authenticates as the app when `tenantId` and `clientId` are set and
    /// no token is given. Nothing is sent yet.
    pub fn open(
        settings: &ConnectionSettings,
        certificate: Option<Arc<SigningIdentity>>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ApiError> {
        let mut roots = match &settings.ca_file {
            Some(p) => Some(read_named_file("caFile", p)?),
            None => None,
        };
        if let Some(pem) = &settings.ca_pem {
            roots
                .get_or_insert_with(Vec::new)
                .extend_from_slice(format!("\n{pem}\n").as_bytes());
        }
        // The same translation the CLI uses: the host's certificate is the one it signs in with.
        let choices = ConnectionChoices {
            cloud: settings.cloud.clone(),
            graph_url: settings.graph_url.clone(),
            login_url: settings.login_url.clone(),
            api_version: settings.api_version.clone(),
            extra_roots_pem: roots,
            proxy: settings.proxy.clone(),
            request_timeout: settings.timeout_secs.map(Duration::from_secs),
            access_token: settings.access_token.clone().map(Zeroizing::new),
            tenant_id: settings.tenant_id.clone(),
            client_id: settings.client_id.clone(),
            sign_in_certificate: certificate,
            proof_certificate: None,
            managed_identity: settings.managed_identity,
        };
        let env = |k: &str| {
            settings
                .environment
                .get(k)
                .filter(|v| !v.is_empty())
                .cloned()
        };
        Ok(Connection {
            client: choices.connect(&env, clock)?,
        })
    }

    /// The Graph client.
    pub fn client(&self) -> &GraphClient {
        &self.client
    }

    /// Where the connection goes and as whom, without secrets: `{graphUrl, loginUrl, cloud, apiVersion,
    /// credential}`.
    pub fn describe(&self) -> Value {
        let e = self.client.endpoints();
        json!({
            "graphUrl": e.graph,
            "loginUrl": e.login,
            "cloud": e.cloud.to_string(),
            "apiVersion": e.api_version.as_str(),
            "credential": self.client.tokens().credential().describe(),
        })
    }

    /// An object's key credentials: `{id, appId, keys: [{keyId, thumbprint, displayName, type, usage,
    /// startDateTime, endDateTime, daysLeft, status, signs}]}`. `signer` marks the caller's certificate.
    pub async fn list_keys(
        &self,
        target: &TargetSettings,
        signer: Option<&SigningIdentity>,
    ) -> Result<Value, ApiError> {
        let keys = self.client.resolve(&target.target()?).await?;
        let now = self.client.clock().now();
        Ok(json!({
            "id": keys.id,
            "appId": keys.app_id,
            "keys": roll::summarize(&keys.keys, now, signer.map(SigningIdentity::certificate)),
        }))
    }

    /// The object id a proof for `target` must carry (a read when the target is named by appId).
    async fn object_id(&self, target: &Target) -> Result<Uuid, ApiError> {
        match target.object {
            ObjectRef::Id(id) => Ok(id),
            ObjectRef::AppId(_) => Ok(self.client.resolve(target).await?.id),
        }
    }

    /// `addKey`: the new certificate as a key credential, with the given proof or one minted with `signer` (a
    /// current certificate of the object). `{keyId, thumbprint, recovered, attempts, keyCredential, warnings}`.
    pub async fn add_key(
        &self,
        settings: &AddKeySettings,
        signer: Option<&SigningIdentity>,
    ) -> Result<Value, ApiError> {
        let target = settings.target.target()?;
        let bytes = match (&settings.certificate, &settings.certificate_file) {
            (Some(text), None) => text.as_bytes().to_vec(),
            (None, Some(path)) => read_named_file("certificateFile", path)?,
            _ => {
                return Err(ApiError::settings(
                    "addKey settings",
                    "give the new certificate as certificate (base64 or PEM) or certificateFile, one of them",
                ));
            }
        };
        let public = cert::load_public_certificate(&bytes, None)?;
        let built = settings.key.builder(public.certificate.clone())?.build()?;
        let proof = self
            .proof_for(&target, settings.proof.as_deref(), signer)
            .await?;
        let request = AddKeyRequest {
            key_credential: built.key_credential,
            password_credential: settings.password_credential.as_ref().map(|p| {
                keyroll_proto::credential::PasswordCredential::with_secret(p.secret_text.clone())
            }),
            proof,
        };
        let outcome = self
            .client
            .add_key(&target, &request, &public.certificate)
            .await?;
        let mut warnings = built.warnings;
        warnings.extend(public.notice);
        Ok(json!({
            "keyId": outcome.credential.key_id,
            "thumbprint": public.certificate.sha1_hex(),
            "recovered": outcome.recovered,
            "attempts": outcome.attempts,
            "keyCredential": outcome.credential,
            "warnings": warnings,
        }))
    }

    /// `removeKey` with the given proof or one minted with `signer`: `{keyId, removed: true}`.
    pub async fn remove_key(
        &self,
        settings: &RemoveKeySettings,
        signer: Option<&SigningIdentity>,
    ) -> Result<Value, ApiError> {
        let target = settings.target.target()?;
        let key_id = parse_guid("removeKey settings (keyId)", &settings.key_id)?;
        let proof = self
            .proof_for(&target, settings.proof.as_deref(), signer)
            .await?;
        self.client
            .remove_key(&target, key_id, &proof, settings.force)
            .await?;
        Ok(json!({ "keyId": key_id, "removed": true }))
    }

    async fn proof_for(
        &self,
        target: &Target,
        given: Option<&str>,
        signer: Option<&SigningIdentity>,
    ) -> Result<String, ApiError> {
        match (given.filter(|p| !p.trim().is_empty()), signer) {
            (Some(p), _) => Ok(p.trim().to_string()),
            (None, Some(identity)) => {
                let object_id = self.object_id(target).await?;
                let now = self.client.clock().now();
                Ok(proof::mint(identity, &ProofRequest::new(object_id), now)?.into_string())
            }
            (None, None) => Err(ApiError::settings(
                "proof",
                "give a proof, or a current certificate of the object to mint one with",
            )),
        }
    }

    /// Rolls the object from `current` to `new` (both with their keys). A roll that does not complete is an
    /// [`ApiError::Roll`] carrying the report.
    pub async fn roll(
        &self,
        settings: &RollSettings,
        current: Arc<SigningIdentity>,
        new: Arc<SigningIdentity>,
    ) -> Result<Value, ApiError> {
        let spec = settings.spec(current, new)?;
        roll_outcome(roll::roll(&self.client, &spec, &NoProgress).await)
    }

    /// Starts the same roll as [`Connection::roll`] in the background on the current tokio runtime and returns
    /// at once; [`RollOperation::poll`] reports its progress and, at the end, its outcome. Settings are checked
    /// before anything starts. Must be called from within a tokio runtime.
    pub fn start_roll(
        &self,
        settings: &RollSettings,
        current: Arc<SigningIdentity>,
        new: Arc<SigningIdentity>,
    ) -> Result<RollOperation, ApiError> {
        let spec = settings.spec(current, new)?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            ApiError::settings("roll", "a background roll needs a tokio runtime to run on")
        })?;
        let recorder = Arc::new(Recorder::default());
        let client = self.client.clone();
        let progress = recorder.clone();
        let task = runtime.spawn(async move {
            let outcome = roll_outcome(roll::roll(&client, &spec, progress.as_ref()).await);
            progress.lock().outcome = Some(outcome.map_err(|e| e.report()));
        });
        Ok(RollOperation { recorder, task })
    }
}

fn roll_outcome(report: RollReport) -> Result<Value, ApiError> {
    if report.success {
        serde_json::to_value(&report).map_err(|e| ApiError::settings("report", e.to_string()))
    } else {
        Err(ApiError::Roll(Box::new(report)))
    }
}

/// What a background roll has said so far.
#[derive(Default)]
struct Recorded {
    /// Step messages not yet handed out by a poll.
    events: Vec<String>,
    /// The latest waiting state while the new key is being verified: attempt and time waited.
    waiting: Option<(u32, Duration)>,
    /// The roll's result (the report) or its error object, once it has ended.
    outcome: Option<Result<Value, ErrorReport>>,
}

/// The [`Progress`](roll::Progress) of a background roll: records, never calls out.
#[derive(Default)]
struct Recorder(std::sync::Mutex<Recorded>);

impl Recorder {
    fn lock(&self) -> std::sync::MutexGuard<'_, Recorded> {
        // Nothing panics while holding the lock; if it ever did, the record itself is still consistent.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl roll::Progress for Recorder {
    fn step(&self, _target: &str, message: &str) {
        let mut r = self.lock();
        r.events.push(message.to_string());
        // A step after the wait ends it.
        r.waiting = None;
    }
    fn waiting(&self, _target: &str, attempt: u32, waited: Duration) {
        self.lock().waiting = Some((attempt, waited));
    }
}

/// A roll running in the background, started by [`Connection::start_roll`]. The host polls it; nothing calls
/// back into the host. Dropping it does not stop the roll: a roll cut short between adding the new key and
/// removing the old one would leave the object in between, so it runs to its end (at most the verify
/// timeout) and its outcome is discarded.
#[derive(Debug)]
pub struct RollOperation {
    recorder: Arc<Recorder>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Recorder")
    }
}

impl RollOperation {
    /// What happened since the last poll: `{"done": bool, "events": [step messages not yet polled], "waiting":
    /// {"attempt": n, "seconds": s} | null, "report": null | the report | the error object}`. While the roll
    /// runs, `report` is null and `waiting` is set while the new key is being verified. Once `done`, `report`
    /// is what [`Connection::roll`] answers: the report of a roll that succeeded, else the error object
    /// ([`ErrorReport`], carrying the report of an incomplete roll), and every later poll says the same.
    pub fn poll(&self) -> Value {
        let mut r = self.recorder.lock();
        let events = std::mem::take(&mut r.events);
        if r.outcome.is_none() && self.task.is_finished() {
            // The task ended without recording an outcome: it panicked.
            r.outcome = Some(Err(ErrorReport::new(
                ErrorKind::Internal,
                "panic",
                "internal error (a bug in keyroll, please report it): the roll stopped unexpectedly",
            )));
        }
        let report = match &r.outcome {
            None => Value::Null,
            Some(Ok(report)) => report.clone(),
            Some(Err(error)) => serde_json::to_value(error).unwrap_or(Value::Null),
        };
        let done = r.outcome.is_some();
        let waiting = match r.waiting.filter(|_| !done) {
            Some((attempt, waited)) => json!({ "attempt": attempt, "seconds": waited.as_secs() }),
            None => Value::Null,
        };
        json!({ "done": done, "events": events, "waiting": waiting, "report": report })
    }

    /// Whether the roll has ended.
    pub fn is_done(&self) -> bool {
        self.recorder.lock().outcome.is_some() || self.task.is_finished()
    }
}

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
    fn spec(
        &self,
        current: Arc<SigningIdentity>,
        new: Arc<SigningIdentity>,
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

/// Test support for hosts: panics inside an async operation on purpose, so that a host can prove that a panic
/// in this crate surfaces as an error and never crosses its boundary. Not for normal use.
#[doc(hidden)]
pub async fn panic_for_test() -> Result<Value, ApiError> {
    tokio::task::yield_now().await;
    panic!("deliberate panic inside keyroll-host (host boundary test)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_text_where_bytes_belong_is_reported() {
        let g = keyroll_proto::cert::generate::self_signed_rsa(
            "double",
            OffsetDateTime::now_utc() - time::Duration::hours(1),
            30,
            2048,
        )
        .unwrap();
        let der = g.certificate.der().to_vec();
        let text = keyroll_proto::b64::encode_std(&der);
        let settings = KeyCredentialSettings::default();
        let once = key_credential(&der, &settings).unwrap();
        assert_eq!(once["base64Text"], json!(false));
        let twice = key_credential(text.as_bytes(), &settings).unwrap();
        assert_eq!(twice["base64Text"], json!(true));
        assert_eq!(twice["thumbprint"], once["thumbprint"]);
    }

    #[test]
    fn add_key_settings_carry_type_usage_and_a_hidden_password() {
        let s: AddKeySettings = from_json(
            "addKey settings",
            br#"{"target":{"objectId":"11111111-2222-3333-4444-555555555555"},"certificate":"x","type":"X509CertAndPassword","usage":"Sign","passwordCredential":{"secretText":"hunter2-secret"}}"#,
        )
        .unwrap();
        assert_eq!(s.key.kind().unwrap(), CredentialKind::SignWithPassword);
        assert!(!format!("{s:?}").contains("hunter2-secret"));
        let bad = KeyCredentialSettings {
            key_type: Some("AsymmetricX509Cert".into()),
            usage: Some("Sign".into()),
            ..Default::default()
        };
        assert!(bad.kind().is_err());
        assert_eq!(
            KeyCredentialSettings::default().kind().unwrap(),
            CredentialKind::Verify
        );
    }

    #[test]
    fn unknown_settings_are_refused() {
        let e = from_json::<ConnectionSettings>(
            "connection settings",
            br#"{"graphUrl":"x","prxy":"y"}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("prxy"), "{e}");
        assert_eq!(e.report().kind, ErrorKind::Input);
        let empty: ConnectionSettings = from_json("connection settings", b"  ").unwrap();
        assert!(empty.graph_url.is_none());
    }

    #[test]
    fn targets() {
        let t: TargetSettings = from_json(
            "target",
            br#"{"kind":"servicePrincipal","appId":"11111111-2222-3333-4444-555555555555"}"#,
        )
        .unwrap();
        assert_eq!(
            t.target().unwrap().kind,
            keyroll_client::graph::TargetKind::ServicePrincipal
        );
        let both: TargetSettings = from_json(
            "target",
            br#"{"objectId":"11111111-2222-3333-4444-555555555555","appId":"11111111-2222-3333-4444-555555555555"}"#,
        )
        .unwrap();
        assert!(both.target().is_err());
    }

    #[test]
    fn mint_and_two_phase_agree() {
        let id = keyroll_proto::cert::generate::self_signed_rsa(
            "CN=api test",
            OffsetDateTime::now_utc() - time::Duration::days(1),
            30,
            2048,
        )
        .unwrap()
        .identity()
        .unwrap();
        let now = OffsetDateTime::now_utc();
        let oid = "11111111-2222-3333-4444-555555555555";
        let proof = mint_proof(&id, oid, 0, "", now).unwrap();
        let der = id.certificate().der();
        let input = signing_input(der, oid, 0, "", now).unwrap();
        assert!(proof.as_str().starts_with(&input));
        let sig = id.sign_rs256(input.as_bytes()).unwrap();
        let assembled = assemble_proof(&input, &sig, der).unwrap();
        assert_eq!(assembled, proof);
        let e = assemble_proof(&input, &[0u8; 256], der).unwrap_err();
        assert_eq!(e.report().code, "proof");
        let settings = InspectSettings {
            certificates: vec![keyroll_proto::b64::encode_std(der)],
            object_id: Some(oid.into()),
            ..Default::default()
        };
        let report = inspect_proof(proof.as_str(), &settings, now).unwrap();
        assert_eq!(report["accepted"], Value::Bool(true));
        let kc = key_credential(der, &KeyCredentialSettings::default()).unwrap();
        assert_eq!(kc["thumbprint"], id.certificate().sha1_hex());
        let e = mint_proof(&id, oid, 601, "", now).unwrap_err();
        assert_eq!(e.report().kind, ErrorKind::Input);
    }
}
