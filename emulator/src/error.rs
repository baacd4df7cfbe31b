//! Errors of the emulator: those that stop it from starting ([`EmulatorError`]) and those a request earns
//! ([`ApiError`], which becomes exactly the envelope the real service answers with).

use std::path::PathBuf;

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Why the emulator could not start or keep its state.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmulatorError {
    /// The listen address is taken or not allowed.
    #[error(
        "cannot listen on {addr}: {source} (is another emulator running? use port 0 for a free port)"
    )]
    Bind {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// The socket error.
        source: std::io::Error,
    },
    /// The listen address is not a loopback address.
    #[error(
        "refusing to listen on {addr}: the emulator only serves loopback addresses (127.0.0.0/8 or ::1)"
    )]
    NotLoopback {
        /// The address asked for.
        addr: std::net::SocketAddr,
    },
    /// The SQLite state could not be opened or written.
    #[error("state store: {0}")]
    Store(#[from] StoreError),
    /// The TLS material could not be generated or loaded.
    #[error("tls setup failed: {reason}")]
    Tls {
        /// What went wrong.
        reason: String,
    },
    /// A file the emulator reads or writes.
    #[error("{path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The seed file is not what the emulator expects.
    #[error("seed file {path}: {reason}")]
    Seed {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The emulator's own signing key could not be created or loaded.
    #[error("token signing key: {reason}")]
    SigningKey {
        /// What went wrong.
        reason: String,
    },
}

/// Failures of the SQLite state store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// SQLite refused an operation.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored value does not parse (the file was edited by hand or by another version).
    #[error("stored {what} is corrupt: {reason}")]
    Corrupt {
        /// Which value.
        what: &'static str,
        /// Why it does not parse.
        reason: String,
    },
    /// The state file could not be created or given owner-only permissions.
    #[error("state file {path}: {reason} (check the directory's permissions)")]
    File {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        reason: String,
    },
    /// The state lock was poisoned by a panic in another request.
    #[error("the state lock was poisoned by an earlier panic")]
    Poisoned,
}

/// The two error dialects the emulator speaks: Graph's JSON envelope and the identity platform's OAuth body.
#[derive(Debug, Clone)]
pub enum ApiError {
    /// `{"error":{"code","message","innerError":{...}}}` as Graph answers.
    Graph {
        /// HTTP status.
        status: StatusCode,
        /// Graph's error code, e.g. `Request_ResourceNotFound`.
        code: String,
        /// Graph's message.
        message: String,
        /// Which check failed, for the emulator's diagnostic header (never a secret).
        diagnostic: Option<String>,
        /// Seconds for a `Retry-After` header (429 / 503).
        retry_after: Option<f64>,
        /// Extra members of `innerError` and extra headers (the throttling answer's); boxed, as most errors
        /// have none.
        extra: Option<Box<Extra>>,
    },
    /// The token endpoint's `{"error","error_description","error_codes",...}` body.
    OAuth {
        /// HTTP status (401 for invalid_client, 400 otherwise).
        status: StatusCode,
        /// OAuth error, e.g. `invalid_client`.
        error: &'static str,
        /// The AADSTS number.
        aadsts: u32,
        /// The description after `AADSTSnnnn: `.
        description: String,
        /// Which check failed, for the emulator's diagnostic header (never a secret).
        diagnostic: Option<String>,
    },
}

/// What some Graph errors carry beyond code and message.
#[derive(Debug, Clone, Default)]
pub struct Extra {
    /// Extra members of `innerError` (the throttling answer's `code`, `status`, `message`).
    pub inner: Vec<(&'static str, String)>,
    /// Extra response headers (the throttling answer's `x-ms-throttle-*`).
    pub headers: Vec<(&'static str, String)>,
}

/// Header carrying the emulator's reason for a refusal; the real service gives none, which is what makes
/// its 401s so hard to debug. Never carries a token or key.
pub const DIAGNOSTIC_HEADER: &str = "x-keyroll-emulator-diagnostic";

impl ApiError {
    /// A Graph error.
    pub fn graph(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        ApiError::Graph {
            status,
            code: code.to_owned(),
            message: message.into(),
            diagnostic: None,
            retry_after: None,
            extra: None,
        }
    }

    /// 429 as Graph's throttling documentation shows it: `TooManyRequests`, "Please retry again later.",
    /// `innerError` with `code` and `status` "429", a `Retry-After`, and for the identity services
    /// `x-ms-throttle-scope` (`<Scope>/<Limit>/<ApplicationId>/<TenantId>`, when the caller is known) and
    /// `x-ms-throttle-information` (the reason, e.g. `WriteLimitExceeded`).
    pub fn too_many_requests(
        retry_after: f64,
        scope: Option<String>,
        information: &'static str,
    ) -> Self {
        let mut e = Self::graph(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            "Please retry again later.",
        )
        .with_retry_after(Some(retry_after));
        if let ApiError::Graph { extra, .. } = &mut e {
            let mut x = Extra::default();
            x.inner.push(("code", "429".to_owned()));
            x.inner.push(("message", "Please retry after".to_owned()));
            x.inner.push(("status", "429".to_owned()));
            if let Some(scope) = scope {
                x.headers.push(("x-ms-throttle-scope", scope));
            }
            x.headers
                .push(("x-ms-throttle-information", information.to_owned()));
            *extra = Some(Box::new(x));
        }
        e
    }

    /// Adds the diagnostic header text.
    pub fn with_diagnostic(mut self, text: impl Into<String>) -> Self {
        match &mut self {
            ApiError::Graph { diagnostic, .. } | ApiError::OAuth { diagnostic, .. } => {
                *diagnostic = Some(text.into());
            }
        }
        self
    }

    /// Adds a `Retry-After`.
    pub fn with_retry_after(mut self, secs: Option<f64>) -> Self {
        if let ApiError::Graph { retry_after, .. } = &mut self {
            *retry_after = secs;
        }
        self
    }

    /// 400 `BadRequest` for malformed requests (OData's generic code).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::graph(StatusCode::BAD_REQUEST, "BadRequest", message)
    }

    /// 404 `Request_ResourceNotFound` for an id that names nothing.
    pub fn not_found(id: &str) -> Self {
        Self::graph(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            format!(
                "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
            ),
        )
    }

    /// 403 `Authorization_RequestDenied`.
    pub fn forbidden(diagnostic: impl Into<String>) -> Self {
        Self::graph(
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        )
        .with_diagnostic(diagnostic)
    }

    /// 401 for a bad proof: the service's one bare answer, with our reason in the diagnostic header.
    pub fn proof_rejected(diagnostic: impl Into<String>) -> Self {
        Self::graph(
            StatusCode::UNAUTHORIZED,
            "Authentication_MissingOrMalformed",
            "Access Token missing or malformed.",
        )
        .with_diagnostic(diagnostic)
    }

    /// 401 for a missing or bad access token.
    pub fn invalid_token(message: &str, diagnostic: impl Into<String>) -> Self {
        Self::graph(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            message,
        )
        .with_diagnostic(diagnostic)
    }

    /// 500 for the emulator's own failures (state store); the text never carries request data.
    pub fn internal(reason: impl std::fmt::Display) -> Self {
        Self::graph(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "The emulator failed to process the request.",
        )
        .with_diagnostic(reason.to_string())
    }

    /// An OAuth error of the token endpoint.
    pub fn oauth(error: &'static str, aadsts: u32, description: impl Into<String>) -> Self {
        let status = if error == "invalid_client" {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::BAD_REQUEST
        };
        ApiError::OAuth {
            status,
            error,
            aadsts,
            description: description.into(),
            diagnostic: None,
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Graph { status, .. } | ApiError::OAuth { status, .. } => *status,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::internal(e)
    }
}

/// Request ids of one request, filled in by the middleware and read when an error body is written.
#[derive(Debug, Clone)]
pub struct RequestIds {
    /// The emulator's id for this request.
    pub request_id: String,
    /// The caller's `client-request-id`, or the request id when none was sent (as the service does).
    pub client_request_id: String,
}

impl ApiError {
    /// Writes the error with the request's ids.
    pub fn into_response_with(self, ids: &RequestIds) -> Response {
        let now = time::OffsetDateTime::now_utc();
        match self {
            ApiError::Graph {
                status,
                code,
                message,
                diagnostic,
                retry_after,
                extra,
            } => {
                let Extra { inner, headers } = extra.map(|b| *b).unwrap_or_default();
                let date = now
                    .format(&time::macros::format_description!(
                        "[year]-[month]-[day]T[hour]:[minute]:[second]"
                    ))
                    .unwrap_or_default();
                let mut inner_error = serde_json::Map::new();
                for (k, v) in inner {
                    inner_error.insert(k.to_owned(), json!(v));
                }
                inner_error.insert("date".into(), json!(date));
                inner_error.insert("request-id".into(), json!(ids.request_id));
                inner_error.insert("client-request-id".into(), json!(ids.client_request_id));
                let body = json!({
                    "error": {
                        "code": code,
                        "message": message,
                        "innerError": inner_error,
                    }
                });
                let mut resp = (status, axum::Json(body)).into_response();
                for (name, value) in headers {
                    if let Some(v) = header_text(&value) {
                        resp.headers_mut().insert(name, v);
                    }
                }
                if let Some(text) = diagnostic.and_then(|d| header_text(&d)) {
                    resp.headers_mut().insert(DIAGNOSTIC_HEADER, text);
                }
                if let Some(secs) = retry_after
                    && let Ok(v) = HeaderValue::from_str(&format_retry_after(secs))
                {
                    resp.headers_mut().insert("retry-after", v);
                }
                resp
            }
            ApiError::OAuth {
                status,
                error,
                aadsts,
                description,
                diagnostic,
            } => {
                let timestamp = now
                    .format(&time::macros::format_description!(
                        "[year]-[month]-[day] [hour]:[minute]:[second]Z"
                    ))
                    .unwrap_or_default();
                let text = format!(
                    "AADSTS{aadsts}: {description}\r\nTrace ID: {}\r\nCorrelation ID: {}\r\nTimestamp: {timestamp}",
                    ids.request_id, ids.client_request_id
                );
                let body = json!({
                    "error": error,
                    "error_description": text,
                    "error_codes": [aadsts],
                    "timestamp": timestamp,
                    "trace_id": ids.request_id,
                    "correlation_id": ids.client_request_id,
                    "error_uri": format!("https://login.microsoftonline.com/error?code={aadsts}"),
                });
                let mut resp = (status, axum::Json(body)).into_response();
                if let Some(text) = diagnostic.and_then(|d| header_text(&d)) {
                    resp.headers_mut().insert(DIAGNOSTIC_HEADER, text);
                }
                resp
            }
        }
    }
}

/// `Retry-After` as the service writes it: whole seconds as an integer, fractions with up to 3 decimals.
pub fn format_retry_after(secs: f64) -> String {
    let secs = secs.max(0.0);
    if secs.fract() == 0.0 {
        format!("{}", secs as u64)
    } else {
        let s = format!("{secs:.3}");
        s.trim_end_matches('0').to_owned()
    }
}

/// A header value from free text: printable ASCII only, so that a diagnostic can never break the response.
fn header_text(text: &str) -> Option<HeaderValue> {
    let clean: String = text
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c
            } else {
                '?'
            }
        })
        .take(512)
        .collect();
    HeaderValue::from_str(&clean).ok()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // Handlers do not know the request's ids; the middleware that assigned them writes the body from the
        // error kept in the response's extensions (see `app::request_ids`).
        let mut resp = self.status().into_response();
        resp.extensions_mut().insert(PendingError(self));
        resp
    }
}

/// The error behind a response, kept so the middleware can rewrite the body with the request's ids.
#[derive(Debug, Clone)]
pub struct PendingError(pub ApiError);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_keeps_fractions_short() {
        assert_eq!(format_retry_after(2.0), "2");
        assert_eq!(format_retry_after(2.128), "2.128");
        assert_eq!(format_retry_after(0.5), "0.5");
    }

    #[test]
    fn diagnostic_text_is_sanitised() {
        assert!(header_text("bad\r\nheader").is_some());
        assert_eq!(
            header_text("ok").map(|v| v.to_str().map(str::to_owned).ok()),
            Some(Some("ok".into()))
        );
    }
}
