//! Why a Graph call did not succeed: the service's answer with everything support needs, or a local refusal.

use std::fmt;
use std::time::Duration;

use uuid::Uuid;

use crate::auth::AuthError;
use keyroll_proto::credential::ValidationErrors;

/// An error answer of Graph, with everything support needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceError {
    /// HTTP method and path (no query secrets; none exist here).
    pub operation: String,
    /// HTTP status.
    pub status: u16,
    /// Graph's error code.
    pub code: String,
    /// Graph's message.
    pub message: String,
    /// The service's `request-id`.
    pub request_id: Option<String>,
    /// Our `client-request-id`.
    pub client_request_id: String,
    /// The likely cause in plain words, when known.
    pub hint: Option<String>,
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} answered {} {}: {} (request-id {}, client-request-id {})",
            self.operation,
            self.status,
            self.code,
            self.message,
            self.request_id.as_deref().unwrap_or("none"),
            self.client_request_id
        )?;
        if let Some(h) = &self.hint {
            write!(f, "\n  likely cause: {h}")?;
        }
        Ok(())
    }
}

/// Why a Graph call did not succeed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GraphError {
    /// The service refused.
    #[error("{0}")]
    Service(Box<ServiceError>),
    /// Throttled or unavailable for longer than the retry budget.
    #[error(
        "{last} — gave up after {attempts} attempts over {elapsed:?}; try again later or lower the concurrency"
    )]
    RetriesExhausted {
        /// The last refusal.
        last: Box<ServiceError>,
        /// How many attempts were made.
        attempts: u32,
        /// Over how long.
        elapsed: Duration,
    },
    /// The service could not be reached.
    #[error("{operation}: {detail} (client-request-id {client_request_id})")]
    Transport {
        /// Method and path.
        operation: String,
        /// What failed (timeout, connection, TLS).
        detail: String,
        /// Our id of the request.
        client_request_id: String,
    },
    /// The answer was not what Graph sends.
    #[error("{operation}: unexpected answer ({detail}; request-id {})", request_id.as_deref().unwrap_or("none"))]
    InvalidResponse {
        /// Method and path.
        operation: String,
        /// What was wrong.
        detail: String,
        /// The service's request id.
        request_id: Option<String>,
    },
    /// No token.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The request breaks a rule; nothing was sent.
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
    /// The proof would be rejected; nothing was sent.
    #[error("the proof would be rejected, so it was not sent:{}", .0.iter().map(|m| format!("\n  - {m}")).collect::<String>())]
    ProofRejected(Vec<String>),
    /// The certificate is on the object already.
    #[error(
        "the certificate {thumbprint} is already a key credential of the {target} (keyId {key_id}); nothing was added"
    )]
    AlreadyPresent {
        /// The target.
        target: String,
        /// The certificate's thumbprint.
        thumbprint: String,
        /// The existing credential's id.
        key_id: String,
    },
    /// A write whose outcome could not be established: the service may or may not have applied it.
    #[error(
        "{operation}: the outcome is unknown ({detail}; client-request-id {client_request_id}); list the keys before trying again"
    )]
    OutcomeUnknown {
        /// Method and path.
        operation: String,
        /// What happened.
        detail: String,
        /// Our id of the request.
        client_request_id: String,
    },
    /// A local refusal that is not about the proof (a safety rule, an input that matches nothing).
    #[error("{0}")]
    Refused(String),
    /// removeKey for a keyId the object does not have.
    #[error(
        "the {target} has no key credential with keyId {key_id}; list them with `keyroll key list`"
    )]
    KeyNotFound {
        /// The target.
        target: String,
        /// The keyId asked for.
        key_id: Uuid,
    },
    /// An id that is the appId of the object, used as its object id.
    #[error(
        "{given} is the appId (client id) of the application, not its object id; address it by appId (keyroll --app-id {given}, PowerShell -AppId {given}), or use the object id {object_id}"
    )]
    AppIdAsObjectId {
        /// What was given.
        given: Uuid,
        /// The real object id.
        object_id: Uuid,
    },
}

impl GraphError {
    /// Whether the failure is the network's (exit code 4) rather than the service's verdict.
    pub fn is_transport(&self) -> bool {
        match self {
            GraphError::Transport { .. } | GraphError::OutcomeUnknown { .. } => true,
            GraphError::Auth(a) => a.is_transport(),
            _ => false,
        }
    }
    /// Whether the request was refused locally, before anything was sent.
    pub fn is_local(&self) -> bool {
        matches!(
            self,
            GraphError::Invalid(_)
                | GraphError::ProofRejected(_)
                | GraphError::AlreadyPresent { .. }
                | GraphError::KeyNotFound { .. }
                | GraphError::Refused(_)
        )
    }
    /// The service error, if this is one.
    pub fn service(&self) -> Option<&ServiceError> {
        match self {
            GraphError::Service(s) => Some(s),
            GraphError::RetriesExhausted { last, .. } => Some(last),
            _ => None,
        }
    }
}

pub(super) fn hint_for(status: u16, code: &str) -> Option<String> {
    let h = match (status, code) {
        (401, "Authentication_MissingOrMalformed") => {
            "the service rejected the proof; run `keyroll proof inspect` on it to see why"
        }
        (403, _) => {
            "the token may not change this object: rolling another object's keys needs Application.ReadWrite.OwnedBy (as owner) or Application.ReadWrite.All; an app may always roll its own keys with its own token"
        }
        (404, _) => {
            "no such object; if you gave an appId (client id) as the object id, address it by appId (keyroll --app-id, PowerShell -AppId)"
        }
        (400, "Directory_ResourceSizeExceeded") => {
            "the object has too many key credentials; remove expired ones first"
        }
        (400, "CredentialInvalidLifetimeAsPerAppPolicy") => {
            "an app management policy limits credential lifetimes; use a certificate (or an end date) within the allowed lifetime"
        }
        (400, c) if c.starts_with("KeyCredentialsInvalid") => {
            "check the certificate's validity dates against the start and end dates given, and that the new key is a public certificate"
        }
        _ => return None,
    };
    Some(h.to_string())
}
