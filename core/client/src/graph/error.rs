//! Why a Graph call did not succeed: the service's answer with everything support needs, or a local refusal.

use std::fmt;
use std::time::Duration;

use uuid::Uuid;

use crate::auth::AuthError;
use keyroll_proto::ErrorKind;
use keyroll_proto::credential::{CredentialError, ValidationErrors};
use keyroll_proto::inspect::Finding;
use keyroll_proto::proof::ProofError;

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
    /// The proof would be rejected; nothing was sent. The inspector's findings, each with its code, say why.
    #[error("the proof would be rejected, so it was not sent:{}", .0.iter().map(|f| format!("\n  - {}", f.message)).collect::<String>())]
    ProofRejected(Vec<Finding>),
    /// No proof could be made (the signing certificate or the request is wrong); nothing was sent.
    #[error("the proof could not be made, so nothing was sent: {0}")]
    ProofNotMinted(#[source] ProofError),
    /// The key that signs the proof is held elsewhere (Key Vault, the host) and could not sign; nothing was sent.
    #[error(
        "the proof could not be signed with certificate {thumbprint} ({location}), so nothing was sent: {source}"
    )]
    ProofNotSigned {
        /// The certificate's thumbprint.
        thumbprint: String,
        /// Where its key is.
        location: String,
        /// Why (boxed: an error's size is paid by every result that carries it).
        #[source]
        source: Box<crate::signer::SignError>,
    },
    /// The new key credential could not be built from the certificate; nothing was sent.
    #[error(transparent)]
    Credential(CredentialError),
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
    #[error(transparent)]
    Refused(Refusal),
    /// removeKey for a keyId the object does not have.
    #[error(
        "the {target} has no key credential with keyId {key_id}; list the object's keys to see the ids it has"
    )]
    KeyNotFound {
        /// The target.
        target: String,
        /// The keyId asked for.
        key_id: Uuid,
    },
    /// A repair read the keys again right before its PATCH and found them changed, every time it tried: another
    /// writer is busy with the object. Nothing was written.
    #[error(
        "the keys of the {target} changed between each read and the repair's PATCH ({attempts} times): another tool is writing them; nothing was written. Stop the other writer and run the repair again"
    )]
    RepairRaced {
        /// The target.
        target: String,
        /// How many reads found a change.
        attempts: u32,
    },
    /// A repair's PATCH was answered, but the keys read afterwards do not list everything it sent.
    #[error(
        "the repair of the {target} was sent, but the keys read over {:.1} s {}{}; list the object's keys before doing anything else",
        waited.as_secs_f64(),
        if *new_key_listed { "list the new certificate" } else { "do not list the new certificate" },
        if missing.is_empty() { String::new() } else { format!(" and miss {} key(s) that were sent back: {}", missing.len(), missing.iter().map(Uuid::to_string).collect::<Vec<_>>().join(", ")) }
    )]
    RepairUnverified {
        /// The target.
        target: String,
        /// Whether the new certificate is listed.
        new_key_listed: bool,
        /// keyIds sent back that are not listed.
        missing: Vec<Uuid>,
        /// How long the keys were read for.
        waited: Duration,
    },
    /// An addPassword request that breaks a rule; nothing was sent.
    #[error(transparent)]
    InvalidPassword(#[from] keyroll_proto::password::PasswordIssue),
    /// removePassword for a keyId the object has no client secret with.
    #[error(
        "the {target} has no client secret with keyId {key_id}; list the object's passwordCredentials to see the ids it has"
    )]
    PasswordNotFound {
        /// The target.
        target: String,
        /// The keyId asked for.
        key_id: Uuid,
    },
    /// An id that is the appId of the object, used as its object id.
    #[error(
        "{given} is the appId (client id) of the application, not its object id; address the application by its appId {given}, or by its object id {object_id}"
    )]
    AppIdAsObjectId {
        /// What was given.
        given: Uuid,
        /// The real object id.
        object_id: Uuid,
    },
}

impl From<crate::signer::ProofSignError> for GraphError {
    fn from(e: crate::signer::ProofSignError) -> Self {
        match e {
            crate::signer::ProofSignError::Proof(e) => GraphError::ProofNotMinted(e),
            crate::signer::ProofSignError::Sign {
                thumbprint,
                location,
                source,
            } => GraphError::ProofNotSigned {
                thumbprint,
                location,
                source: Box::new(source),
            },
        }
    }
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
                | GraphError::ProofNotMinted(_)
                | GraphError::ProofNotSigned { .. }
                | GraphError::Credential(_)
                | GraphError::AlreadyPresent { .. }
                | GraphError::KeyNotFound { .. }
                | GraphError::InvalidPassword(_)
                | GraphError::PasswordNotFound { .. }
                | GraphError::Refused(_)
                | GraphError::RepairRaced { .. }
        )
    }
    /// What kind of failure this is, for each face to map in one place: the service's verdict, the network, a
    /// local guard that refused, or the caller's input.
    pub fn kind(&self) -> ErrorKind {
        match self {
            GraphError::Service(_)
            | GraphError::RetriesExhausted { .. }
            | GraphError::InvalidResponse { .. } => ErrorKind::Service,
            GraphError::Transport { .. } | GraphError::OutcomeUnknown { .. } => {
                ErrorKind::Transport
            }
            GraphError::Auth(a) => a.kind(),
            GraphError::Invalid(v) => v.kind(),
            GraphError::ProofNotMinted(e) => e.kind(),
            GraphError::ProofNotSigned { source, .. } => source.kind(),
            GraphError::Credential(e) => e.kind(),
            GraphError::ProofRejected(_)
            | GraphError::AlreadyPresent { .. }
            | GraphError::KeyNotFound { .. }
            | GraphError::PasswordNotFound { .. } => ErrorKind::Rejected,
            GraphError::InvalidPassword(_) => ErrorKind::Input,
            GraphError::Refused(r) => r.kind(),
            GraphError::AppIdAsObjectId { .. } => ErrorKind::Input,
            GraphError::RepairRaced { .. } => ErrorKind::Rejected,
            GraphError::RepairUnverified { .. } => ErrorKind::Service,
        }
    }
    /// The stable code every face shows for this failure: Graph's own code for the service's answers, the OAuth
    /// error for a refused sign-in, the first rule's Graph code for an invalid request, else this library's name
    /// for its family (`transport`, `outcome_unknown`, `proof_rejected`, ...). One list, here.
    pub fn code(&self) -> String {
        if let Some(s) = self.service() {
            return s.code.clone();
        }
        match self {
            GraphError::Auth(a) => a.code(),
            GraphError::Invalid(v) => v
                .first()
                .map(|i| i.graph_code())
                .unwrap_or("Request_BadRequest")
                .to_string(),
            GraphError::Transport { .. } => "transport".into(),
            GraphError::OutcomeUnknown { .. } => "outcome_unknown".into(),
            GraphError::InvalidResponse { .. } => "invalid_response".into(),
            GraphError::ProofRejected(_) => "proof_rejected".into(),
            GraphError::ProofNotMinted(_) => "proof".into(),
            GraphError::ProofNotSigned { source, .. } => source.code(),
            GraphError::Credential(_) => "certificate".into(),
            GraphError::AlreadyPresent { .. } => "already_present".into(),
            GraphError::KeyNotFound { .. } => "key_not_found".into(),
            GraphError::InvalidPassword(i) => i.graph_code().into(),
            GraphError::PasswordNotFound { .. } => "password_not_found".into(),
            GraphError::AppIdAsObjectId { .. } => "app_id_as_object_id".into(),
            GraphError::Refused(_) => "refused".into(),
            GraphError::RepairRaced { .. } => "repair_raced".into(),
            GraphError::RepairUnverified { .. } => "repair_unverified".into(),
            _ => "graph".into(),
        }
    }
    /// The ids that let Microsoft find the request: the service's `request-id`, then the `client-request-id`
    /// this client sent (the only id when no answer came). Empty when nothing was sent.
    pub fn request_ids(&self) -> Vec<String> {
        let ids: Vec<String> = if let Some(s) = self.service() {
            s.request_id
                .iter()
                .cloned()
                .chain([s.client_request_id.clone()])
                .collect()
        } else {
            match self {
                GraphError::Transport {
                    client_request_id, ..
                }
                | GraphError::OutcomeUnknown {
                    client_request_id, ..
                } => vec![client_request_id.clone()],
                GraphError::InvalidResponse { request_id, .. } => {
                    request_id.iter().cloned().collect()
                }
                _ => Vec::new(),
            }
        };
        ids.into_iter().filter(|i| !i.is_empty()).collect()
    }
    /// Whether the failure is the server's TLS certificate not being trusted (the rule lives in
    /// `http::is_certificate_failure`): a face may then name its own way to trust a CA.
    pub fn is_untrusted_certificate(&self) -> bool {
        matches!(self, GraphError::Transport { detail, .. } if crate::http::is_certificate_failure(detail))
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

/// Why a request was refused locally, before anything was sent, when it is not the proof: a guard that keeps an
/// object able to authenticate, or an input that names nothing. Each names the concept; a face that wants its own
/// spelling (a flag, a parameter) maps the variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// Removing the key would leave the object without a currently valid certificate.
    #[error(
        "removing key {key_id} would leave the {target} without a currently valid certificate: it could no longer authenticate with a certificate, and addKey would be impossible (only a PATCH of all its keys could repair it). Add a new certificate first, or force the removal"
    )]
    LastValidCertificate {
        /// The key asked to be removed.
        key_id: Uuid,
        /// The object, in words.
        target: String,
    },
    /// A roll would remove its old key, but the keys read do not list the new key as valid yet.
    #[error(
        "removing the old key would leave no currently valid certificate: the keys read over {:.1} s do not list the new key as valid now (reads may lag writes longer than that); nothing was removed. Run the same roll again later: it finds the new key, verifies it and removes the old one",
        waited.as_secs_f64()
    )]
    NewKeyNotListed {
        /// How long the keys were read for.
        waited: Duration,
    },
    /// The old key is removed only after the new one was verified.
    #[error(
        "the old key is only removed after the new one is verified, which needs the tenant id (and the appId when it cannot be read)"
    )]
    RemovalUnverified,
    /// The write lock held is for another object (a caller's mistake).
    #[error(
        "the write lock held is for object {held}, not for the {target} (object {object}); nothing was removed"
    )]
    WrongLock {
        /// The object the lock is for.
        held: Uuid,
        /// The object written, in words.
        target: String,
        /// Its object id.
        object: Uuid,
    },
    /// The certificate given as the one in use is not a key of the object.
    #[error(
        "the current certificate {thumbprint} is not a key credential of the object; proofs must be signed by one of its own certificates"
    )]
    CurrentNotAKey {
        /// Its SHA-1 thumbprint.
        thumbprint: String,
    },
    /// The certificate given as the one in use is a key of the object but cannot sign now.
    #[error(
        "the current certificate {thumbprint} is on the object but not valid now (credential {} to {}); addKey needs a proof signed by a currently valid certificate — only a PATCH of all keys can repair an object without one",
        valid_from.as_deref().unwrap_or("-"),
        valid_to.as_deref().unwrap_or("-")
    )]
    CurrentNotValid {
        /// Its SHA-1 thumbprint.
        thumbprint: String,
        /// The credential's start date, Graph's format.
        valid_from: Option<String>,
        /// The credential's end date, Graph's format.
        valid_to: Option<String>,
    },
    /// A key id that is not a GUID.
    #[error("the key id {given:?} is not a GUID")]
    KeyIdNotGuid {
        /// What was given.
        given: String,
    },
    /// A repair adds AsymmetricX509Cert + Verify keys only.
    #[error(
        "a repair adds AsymmetricX509Cert + Verify keys only: an X509CertAndPassword key needs its password, which a PATCH of keyCredentials does not carry"
    )]
    RepairNeedsVerifyKey,
    /// Nothing among the object's keys matches what was asked for.
    #[error("no key credential of the object matches {what}")]
    NoMatchingKey {
        /// What was looked for, in words (a thumbprint, a certificate).
        what: String,
    },
}

impl Refusal {
    /// A guard that keeps the object able to authenticate is [`ErrorKind::Rejected`]; an input that names
    /// nothing (a certificate, a key id) is [`ErrorKind::Input`].
    pub fn kind(&self) -> ErrorKind {
        match self {
            Refusal::LastValidCertificate { .. }
            | Refusal::NewKeyNotListed { .. }
            | Refusal::RemovalUnverified => ErrorKind::Rejected,
            Refusal::WrongLock { .. }
            | Refusal::CurrentNotAKey { .. }
            | Refusal::CurrentNotValid { .. }
            | Refusal::KeyIdNotGuid { .. }
            | Refusal::NoMatchingKey { .. }
            | Refusal::RepairNeedsVerifyKey => ErrorKind::Input,
        }
    }
}

/// What a user's token (delegated) can and cannot do with an application's credentials, for a 403 Graph gave one
/// (docs/protocol.md §9, microsoft-graph-docs#14626). `who` names the signed-in user.
pub fn delegated_forbidden_hint(who: &str) -> String {
    format!(
        "you are signed in as {who} with a user token (delegated): Graph lets such a token read applications with a delegated read scope, and change an application's or service principal's keys and secrets only when the sign-in was granted the delegated scope Application.ReadWrite.All and the user owns the object or holds the Application Administrator or Cloud Application Administrator role; Application.ReadWrite.OwnedBy is an application permission that no user token carries. Sign in again asking for Application.ReadWrite.All as such a user, or sign in as an app (its certificate or a managed identity) that holds Application.ReadWrite.All or owns the object with Application.ReadWrite.OwnedBy"
    )
}

/// What the proof means under a user's token: Graph still wants it signed by a current certificate of the
/// object itself (microsoft-graph-docs#14626).
pub const DELEGATED_PROOF_NOTE: &str = "a user token does not replace the proof: addKey and removeKey still need a proof signed with a current certificate of the object itself (issued by the object's id), whoever is signed in; an object with no valid certificate left is fixed by a repair (PATCH of its keys) instead";

impl super::GraphClient {
    /// The likely cause of a refusal, in plain words: with a user's token, a 403 is explained as delegated
    /// permissions work.
    pub(super) fn hint(&self, status: u16, code: &str) -> Option<String> {
        let credential = self.tokens.credential();
        if status == 403 && credential.is_delegated() {
            return Some(delegated_forbidden_hint(&credential.describe()));
        }
        hint_for(status, code)
    }

    /// Whether this client's tokens are a user's (delegated).
    pub fn is_delegated(&self) -> bool {
        self.tokens.credential().is_delegated()
    }
}

pub(super) fn hint_for(status: u16, code: &str) -> Option<String> {
    let h = match (status, code) {
        (401, "Authentication_MissingOrMalformed") => {
            "the service rejected the proof; run the proof inspector on it to see why"
        }
        (403, _) => {
            "the token may not change this object: rolling another object's keys needs Application.ReadWrite.OwnedBy (as owner) or Application.ReadWrite.All; an app may always roll its own keys with its own token"
        }
        (404, _) => {
            "no such object; if you gave an appId (client id) as the object id, address it by its appId instead"
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guards_are_rejections_and_inputs_that_name_nothing_are_input() {
        let guard = GraphError::Refused(Refusal::LastValidCertificate {
            key_id: Uuid::nil(),
            target: "application x".into(),
        });
        assert_eq!(guard.kind(), ErrorKind::Rejected);
        assert!(guard.is_local());
        let input = GraphError::Refused(Refusal::KeyIdNotGuid {
            given: "cert-1".into(),
        });
        assert_eq!(input.kind(), ErrorKind::Input);
        let transport = GraphError::Transport {
            operation: "GET x".into(),
            detail: "connection refused".into(),
            client_request_id: String::new(),
        };
        assert_eq!(transport.kind(), ErrorKind::Transport);
        assert_eq!(
            GraphError::ProofRejected(Vec::new()).kind(),
            ErrorKind::Rejected
        );
    }
}
