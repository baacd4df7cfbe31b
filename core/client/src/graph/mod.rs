//! The Graph client for key credentials: `addKey`, `removeKey` and reading the keys, in every addressing form,
//! with safe retries; and for client secrets, `addPassword` / `removePassword` (the rule in `graph/password.rs`).
//!
//! Two rules shape this module:
//!
//! * **Throttling is shared.** 429 and 503 honour `Retry-After` (fractional seconds too), otherwise exponential
//!   backoff with jitter, bounded in attempts and total time. A 429 pauses *every* request made through the same
//!   client (clones share the pause), so a bulk run backs off together instead of hammering the budget.
//! * **addKey is not idempotent, and reads lag writes.** After a timeout, a dropped connection or a 5xx, the
//!   request may have been committed. The directory is eventually consistent: a read right after a write can
//!   miss it, so one read that does not show the new certificate proves nothing. The rule (the one place it
//!   lives is [`GraphClient::add_key_resolved`]):
//!   1. after an ambiguous failure the keys are read again and again, with backoff, for
//!      [`RetryPolicy::replication_window`], until the new certificate shows; found, it is the result and
//!      nothing is sent again;
//!   2. only when reads over the whole window have not shown it is addKey sent again;
//!   3. once addKey was sent more than once, the keys are read until they are fresh (the last answer's keyId
//!      shows, or a replication window has passed since the last lost answer), and every further copy of the
//!      certificate (same certificate, type and usage) beyond one is removed again with removeKey and the
//!      same proof, and said in [`AddKeyOutcome`]; a copy that cannot be removed is said too, with the command
//!      that removes it.
//!
//!   So a retry never follows a single stale read, and a retry that a lag longer than the window let through
//!   leaves exactly one key all the same. removeKey's lost answers are confirmed the same way (step 1).
//! * **Writes to one object take turns.** Whether a key may be added or removed is decided on a read of the
//!   object's keys; a write by someone else between that read and the write makes the decision wrong (the same
//!   certificate added twice, the last valid certificate removed). Clones of a client share one lock per object
//!   id ([`GraphClient::lock_object`]): every write through [`GraphClient::add_key`] and
//!   [`GraphClient::remove_key`], and every roll, holds it from its read to its last write.

mod add;
mod call;
mod error;
mod keys;
mod list;
mod lock;
mod password;
mod precheck;
mod remove;
mod repair;
mod retry;
mod target;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::auth::TokenProvider;
use crate::cloud::Endpoints;
use keyroll_proto::clock::Clock;

pub use crate::http::describe_reqwest;
pub use add::{AddKeyOutcome, parse_key_credential};
pub use error::{
    DELEGATED_PROOF_NOTE, GraphError, Refusal, ServiceError, delegated_forbidden_hint,
};
pub use keys::{ObjectKeys, Reread};
pub use list::Page;
pub use lock::ObjectGuard;
use lock::ObjectLocks;
pub use password::{AddPasswordOutcome, ObjectPasswords, parse_password_answer};
pub use repair::{REPAIR_READ_ATTEMPTS, RepairOutcome, RepairPlan};
use retry::Throttle;
pub use retry::{RetryPolicy, parse_retry_after};
pub use target::{ObjectRef, Target, TargetKind};

/// The Graph client. Cheap to clone; clones share the token cache and the throttle.
#[derive(Clone)]
pub struct GraphClient {
    http: reqwest::Client,
    endpoints: Endpoints,
    tokens: Arc<TokenProvider>,
    retry: RetryPolicy,
    throttle: Arc<Throttle>,
    locks: Arc<ObjectLocks>,
    clock: Arc<dyn Clock>,
    logger: Option<Logger>,
    observers: Arc<[Arc<dyn RetryObserver>]>,
}

/// A request about to be sent again: the service throttled it, was busy, or did not answer. Hosts show these
/// (a batch that waits out 429s for minutes must not look hung).
#[derive(Debug, Clone)]
pub struct RetryEvent {
    /// The call, as `METHOD path`.
    pub operation: String,
    /// The HTTP status that asked for the retry; `None` when no answer came.
    pub status: Option<u16>,
    /// Why, in words: `throttled (429)`, `service busy (503 ...)`, `no answer (...)`.
    pub reason: String,
    /// How long until the next attempt.
    pub delay: Duration,
    /// The service's `Retry-After`, when it sent one.
    pub retry_after: Option<Duration>,
    /// The attempt that was refused, from 1; the next one is `attempt + 1`.
    pub attempt: u32,
}

impl fmt::Display for RetryEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}, retrying in {}, attempt {} ({})",
            self.reason,
            human_wait(self.delay),
            self.attempt + 1,
            self.operation
        )
    }
}

/// A wait as people read it: milliseconds under a second (Retry-After is often a few ms, and "0.0 s" would say
/// nothing), else tenths of seconds.
pub fn human_wait(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// Receives [`RetryEvent`]s. Called on the request's task: keep it short.
pub trait RetryObserver: Send + Sync {
    /// A request will be sent again after `event.delay`.
    fn retrying(&self, event: &RetryEvent);
}

impl fmt::Debug for GraphClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GraphClient")
            .field("endpoints", &self.endpoints)
            .field("tokens", &self.tokens)
            .finish_non_exhaustive()
    }
}

/// Something worth telling a `-v` reader: never a header value, a body, a token or a proof.
#[derive(Debug, Clone)]
pub struct LogEvent {
    /// One line.
    pub line: String,
}

/// Receives log events.
pub type Logger = Arc<dyn Fn(&LogEvent) + Send + Sync>;

impl GraphClient {
    /// Builds the HTTP clients (one for Graph and the token endpoint, one without proxy for managed-identity
    /// endpoints) from `options` and a client authenticating with `credential`.
    pub fn connect(
        credential: crate::auth::Credential,
        endpoints: Endpoints,
        options: &crate::http::HttpOptions,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, crate::http::HttpSetupError> {
        let http = crate::http::build_client(options)?;
        // The second client only where it is used: building one loads the trust store again.
        let managed = matches!(credential, crate::auth::Credential::ManagedIdentity { .. });
        let mut provider =
            TokenProvider::new(credential, endpoints.clone(), http.clone(), clock.clone());
        if managed {
            provider = provider.with_identity_http(crate::http::build_identity_client(options)?);
        }
        let tokens = Arc::new(provider);
        Ok(GraphClient::new(http, endpoints, tokens, clock))
    }

    /// A client for `endpoints`, authenticating with `tokens`.
    pub fn new(
        http: reqwest::Client,
        endpoints: Endpoints,
        tokens: Arc<TokenProvider>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        GraphClient {
            http,
            endpoints,
            tokens,
            retry: RetryPolicy::default(),
            throttle: Arc::new(Throttle::default()),
            locks: Arc::new(ObjectLocks::default()),
            clock,
            logger: None,
            observers: Arc::new([]),
        }
    }
    /// Sets the retry bounds.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }
    /// Adds an observer of retries (this client and clones made from it from now on).
    pub fn with_retry_observer(mut self, observer: Arc<dyn RetryObserver>) -> Self {
        let mut all: Vec<_> = self.observers.iter().cloned().collect();
        all.push(observer);
        self.observers = all.into();
        self
    }
    /// Sets the logger.
    pub fn with_logger(mut self, logger: Logger) -> Self {
        self.logger = Some(logger);
        self
    }
    /// The endpoints.
    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }
    /// The HTTP client (shared with token acquisition).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }
    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }
    /// The token provider.
    pub fn tokens(&self) -> &Arc<TokenProvider> {
        &self.tokens
    }

    pub(super) fn log(&self, line: impl FnOnce() -> String) {
        if let Some(l) = &self.logger {
            l(&LogEvent { line: line() });
        }
    }
}
