//! Why a roll stopped: refused before anything was written ([`RollRefusal`]), or the new key could not be
//! verified ([`VerifyError`]).

use std::time::Duration;

use uuid::Uuid;

use crate::auth::AuthError;
use keyroll_proto::ErrorKind;

/// Why a roll was refused before anything was written: each is the caller's input, not the service's verdict.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RollRefusal {
    /// The new certificate is the one in use.
    #[error(
        "the new certificate {thumbprint} is the certificate in use now: rolling to it would add nothing and verify nothing; give the certificate to roll to as the new one and the one in use now as the current one"
    )]
    SameCertificate {
        /// Its SHA-1 thumbprint.
        thumbprint: String,
    },
    /// The new certificate's validity starts later.
    #[error(
        "the new certificate {thumbprint} is not valid until {valid_from} (in {wait}): added now, it could not be verified before then, and the roll would only wait out its verify timeout; roll at or after {valid_from}, or roll to a certificate that is valid now"
    )]
    NotYetValid {
        /// Its SHA-1 thumbprint.
        thumbprint: String,
        /// When it becomes valid (Graph's date format, UTC).
        valid_from: String,
        /// How long until then, in words.
        wait: String,
    },
    /// Removing the old key was asked for, but the new key could not be verified: no tenant to ask in.
    #[error(
        "removing the old key needs the new one verified first, with a token from the object's tenant, and no tenant id is known (none was given and the connection names none); give the tenant id, or roll without removing the old key"
    )]
    RemoveOldWithoutTenant,
    /// Removing the old key was asked for, but the new key could not be verified: no client id to ask as.
    #[error(
        "removing the old key needs the new one verified first, as the object's own application, and the object's appId could not be read; give its client id, or roll without removing the old key"
    )]
    RemoveOldWithoutClientId,
    /// The client id given for verification is another application's.
    #[error(
        "the client id {given} given for verification is not the object's appId {app_id}; the new key can only be verified as the object's own application: give {app_id}, or leave the client id out"
    )]
    ClientIdNotAppId {
        /// What was given.
        given: String,
        /// The object's appId.
        app_id: Uuid,
    },
}

impl RollRefusal {
    /// Every refusal of a roll before it writes is about what the caller asked for: [`ErrorKind::Input`].
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::Input
    }
}

/// Why the new key could not be verified.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The token endpoint kept refusing the new key (or could not be reached) until the verify timeout ran out.
    #[error(transparent)]
    TimedOut(VerifyTimedOut),
    /// The token endpoint refused for a reason waiting does not cure.
    #[error(transparent)]
    Refused(AuthError),
}

impl VerifyError {
    /// The network's when the token endpoint could not be reached, else the identity platform's verdict.
    pub fn kind(&self) -> ErrorKind {
        if self.is_transport() {
            ErrorKind::Transport
        } else {
            ErrorKind::Service
        }
    }
    /// Whether the failure is the network's.
    pub fn is_transport(&self) -> bool {
        match self {
            VerifyError::TimedOut(t) => t.last.is_transport(),
            VerifyError::Refused(e) => e.is_transport(),
        }
    }
}

/// The verify timeout ran out: the new key is on the object but did not sign in in time. Says what was tried and
/// how to finish, not the last refusal's own hint (which, for a key that is still replicating, would be wrong).
#[derive(Debug, thiserror::Error)]
#[error(
    "the new key{} was added, but no token could be obtained with it within the verify timeout of {} s: {attempts} token request(s) over {:.1} s, the last answered {}. A new key can take minutes before the identity platform accepts it: it may still be replicating. The old key was kept, so the application still signs in with it. To finish the roll, run the same roll again later (it finds the new key in place, verifies it and goes on from there), with a longer verify timeout if needed; or, once the new key signs in, remove the old key yourself{}",
    key_id.map(|k| format!(" (keyId {k})")).unwrap_or_default(),
    timeout.as_secs(),
    waited.as_secs_f64(),
    last_answer(last),
    if old_key_ids.is_empty() { String::new() } else {
        let object = object_id.map(|o| format!(" of object {o}")).unwrap_or_default();
        format!(" (the key {}{object})", old_key_ids[0])
    }
)]
pub struct VerifyTimedOut {
    /// The object.
    pub object_id: Option<Uuid>,
    /// The new key's id.
    pub key_id: Option<Uuid>,
    /// The old key(s), which stay.
    pub old_key_ids: Vec<Uuid>,
    /// The timeout that ran out.
    pub timeout: Duration,
    /// Token requests made.
    pub attempts: u32,
    /// Time spent.
    pub waited: Duration,
    /// The last refusal.
    pub last: AuthError,
}

impl VerifyTimedOut {
    /// The network's when the last token request could not be sent, else the identity platform's verdict.
    pub fn kind(&self) -> ErrorKind {
        if self.last.is_transport() {
            ErrorKind::Transport
        } else {
            ErrorKind::Service
        }
    }
}

/// The last token endpoint answer in short: its codes, not its hint.
fn last_answer(e: &AuthError) -> String {
    match e {
        AuthError::Refused { error, codes, .. } => {
            let codes: Vec<String> = codes.iter().map(|c| format!("AADSTS{c}")).collect();
            let why = if codes.iter().any(|c| c == "AADSTS700027") {
                " (the key is not accepted for sign-in yet)"
            } else {
                ""
            };
            format!("{error} {}{why}", codes.join(", "))
        }
        other => other.to_string(),
    }
}
