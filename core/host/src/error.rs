//! The error object hosts show (`ErrorReport`), the errors of this API (`ApiError`) and how each error of the
//! libraries becomes one: the kind from its `kind()`, a stable code, the message with the fix, request ids.

use serde::Serialize;
use serde_json::{Value, json};

use keyroll_client::auth::AuthError;
use keyroll_client::cloud::EndpointError;
use keyroll_client::graph::GraphError;
use keyroll_client::http::HttpSetupError;
use keyroll_client::inventory::ScanError;
use keyroll_client::keyvault::KeyVaultError;
use keyroll_client::roll::RollReport;
use keyroll_client::settings::{ConnectError, Setting, SettingsError};
use keyroll_proto::cert::CertError;
use keyroll_proto::credential::{CredentialError, ValidationErrors};
use keyroll_proto::proof::ProofError;

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
    /// A refused setting: its JSON name (`cloud`, `apiVersion`, …), so that a host names its own parameter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub setting: Option<String>,
    /// With `setting`: what is wrong with it and the fix, without the setting's name (the host puts its own
    /// name for it in front: `--cloud`, `-Environment`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
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
            setting: None,
            detail: None,
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
        /// The file does not exist (hosts report a missing object, not a malformed argument).
        not_found: bool,
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
    /// Key Vault.
    #[error(transparent)]
    KeyVault(#[from] KeyVaultError),
    /// An inventory scan that stopped.
    #[error(transparent)]
    Scan(#[from] ScanError),
    /// A roll that did not complete; the report says what the object holds. After a write, the first line says
    /// what the object holds and what completes the roll; the error follows.
    #[error("{}", roll_message(.0))]
    Roll(Box<RollReport>),
}

impl ApiError {
    pub(crate) fn settings(what: &'static str, detail: impl Into<String>) -> Self {
        ApiError::Settings {
            what,
            detail: detail.into(),
        }
    }

    /// The error object for hosts.
    pub fn report(&self) -> ErrorReport {
        let message = self.to_string();
        match self {
            ApiError::Settings { what, detail } => {
                let mut e = ErrorReport::new(ErrorKind::Input, "settings", message);
                e.setting = Some((*what).to_string());
                e.detail = Some(detail.clone());
                e
            }
            ApiError::File {
                what,
                path,
                not_found,
                detail,
            } => {
                // The setting names the file for the host (`-CaCertificate`, `--ca-file`); a missing file has
                // its own code, so that a host can report it as a missing object.
                let code = if *not_found { FILE_NOT_FOUND } else { "file" };
                let mut e = ErrorReport::new(ErrorKind::Input, code, message);
                e.setting = Some((*what).to_string());
                e.detail = Some(format!("cannot read {path}: {detail}"));
                e
            }
            ApiError::Cert(CertError::Io { error, .. })
                if error.kind() == std::io::ErrorKind::NotFound =>
            {
                ErrorReport::new(ErrorKind::Input, FILE_NOT_FOUND, message)
            }
            ApiError::Cert(_) => ErrorReport::new(ErrorKind::Input, "certificate", message),
            ApiError::Proof(_) => ErrorReport::new(ErrorKind::Input, "proof", message),
            ApiError::Credential(CredentialError::Invalid(v)) => validation_report(v, message),
            ApiError::Credential(_) => ErrorReport::new(ErrorKind::Input, "certificate", message),
            ApiError::Endpoint(e) => {
                // Named by its setting, so that a host says `-GraphUrl` / `--graph-url` in front of the rest.
                let mut r = ErrorReport::new(ErrorKind::Input, "endpoint", message.clone());
                let setting = match e.what() {
                    "the Graph URL" => Some("graphUrl"),
                    "the login URL" => Some("loginUrl"),
                    _ => None,
                };
                if let Some(s) = setting {
                    r.setting = Some(s.to_string());
                    r.detail = Some(
                        message
                            .strip_prefix(e.what())
                            .unwrap_or(&message)
                            .trim()
                            .to_string(),
                    );
                }
                r
            }
            ApiError::Http(h) => {
                let mut r = ErrorReport::new(ErrorKind::Input, "http_settings", message.clone());
                let setting = match h {
                    HttpSetupError::BadProxy(_) => Some("proxy"),
                    HttpSetupError::BadRoots(_) => Some("caFile"),
                    _ => None,
                };
                if let Some(s) = setting {
                    r.setting = Some(s.to_string());
                    r.detail = Some(message);
                }
                r
            }
            ApiError::Auth(a) => auth_report(a, message),
            ApiError::Graph(g) => graph_report(g, message),
            ApiError::KeyVault(k) => {
                let mut e = ErrorReport::new(k.kind(), k.code(), message);
                e.request_id = k.request_ids().into_iter().next();
                e
            }
            ApiError::Scan(ScanError::Denied { source, .. }) => {
                let mut e = graph_report(source, message);
                e.code = "scan_denied".into();
                e
            }
            ApiError::Scan(ScanError::Graph { source, .. }) => graph_report(source, message),
            ApiError::Scan(s) => ErrorReport::new(s.kind(), "scan", message),
            ApiError::Roll(r) => {
                // A roll refused before anything was written is the caller's input (same certificate, not yet
                // valid, a removal that could not be verified): kind `input`, code `roll_refused`.
                // So is a failure of the caller's input found while reading, before any write (the current
                // certificate not a key of the object, a new certificate the service's rules refuse).
                let refused_input = r.error_kind == Some(ErrorKind::Input) && !r.state.written();
                let (kind, code) = if r.refusal.is_some() || refused_input {
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

/// The code of an error about a file that does not exist (any setting's, or a certificate's).
pub const FILE_NOT_FOUND: &str = "file_not_found";

pub(crate) fn validation_report(v: &ValidationErrors, message: String) -> ErrorReport {
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

pub(crate) fn auth_report(a: &AuthError, message: String) -> ErrorReport {
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
            let mut e = ErrorReport::new(kind, a.code(), message);
            e.http_status = Some(*status);
            e
        }
        _ => ErrorReport::new(kind, a.code(), message),
    }
}

pub(crate) fn graph_report(g: &GraphError, message: String) -> ErrorReport {
    // The kind and the code are the error's own (one classification, in the client).
    if let GraphError::Auth(a) = g {
        return auth_report(a, message);
    }
    if let GraphError::Invalid(v) = g {
        return validation_report(v, message);
    }
    let mut e = ErrorReport::new(g.kind(), g.code(), message);
    if let Some(s) = g.service() {
        e.http_status = Some(s.status);
        e.request_id = s.request_id.clone();
        e.client_request_id = Some(s.client_request_id.clone()).filter(|c| !c.is_empty());
        return e;
    }
    match g {
        GraphError::Transport {
            client_request_id, ..
        }
        | GraphError::OutcomeUnknown {
            client_request_id, ..
        } => {
            e.client_request_id = Some(client_request_id.clone()).filter(|c| !c.is_empty());
        }
        GraphError::InvalidResponse { request_id, .. } => e.request_id = request_id.clone(),
        _ => {}
    }
    e
}

/// The JSON name of a setting, as a host writes it.
pub(crate) fn setting_name(setting: Setting) -> &'static str {
    match setting {
        Setting::Cloud => "cloud",
        Setting::ApiVersion => "apiVersion",
        Setting::TargetKind => "target (kind)",
        Setting::ObjectId => "target (objectId)",
        Setting::AppId => "target (appId)",
        Setting::Target => "target",
        Setting::DeviceCode => "deviceCode",
        Setting::GraphUrl => "graphUrl",
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

/// The message of a roll that did not complete: after a write, what the object holds and what completes the roll
/// come first (a runbook's log shows the first line), then the error.
fn roll_message(r: &RollReport) -> String {
    let error = r.error.as_deref().unwrap_or("the roll did not complete");
    match (&r.next_step, r.state.written()) {
        (Some(next), true) => format!(
            "the roll did not complete ({}): {}; to complete it, {next}.\n{error}",
            r.state, r.detail
        ),
        _ => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_file_has_its_own_code_and_names_its_setting() {
        let missing =
            crate::json::read_named_file("caFile", std::path::Path::new("/no/such/ca.pem"))
                .unwrap_err()
                .report();
        assert_eq!(missing.code, FILE_NOT_FOUND);
        assert_eq!(missing.setting.as_deref(), Some("caFile"));
        assert!(
            missing
                .detail
                .as_deref()
                .is_some_and(|d| d.contains("/no/such/ca.pem"))
        );
        let unreadable = crate::json::read_named_file("caFile", &std::env::temp_dir())
            .unwrap_err()
            .report();
        assert_eq!(unreadable.code, "file");
        let cert = ApiError::Cert(
            keyroll_proto::cert::read_file(std::path::Path::new("/no/such.pfx")).unwrap_err(),
        )
        .report();
        assert_eq!(cert.code, FILE_NOT_FOUND);
        assert!(cert.message.contains("/no/such.pfx"), "{}", cert.message);
    }
}
