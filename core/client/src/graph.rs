//! The Graph client for key credentials: `addKey`, `removeKey` and reading the keys, in every addressing form,
//! with safe retries.
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

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::auth::{AuthError, TokenProvider};
use crate::cloud::Endpoints;
use keyroll_proto::cert::Certificate;
use keyroll_proto::clock::Clock;
use keyroll_proto::credential::{AddKeyRequest, KeyCredential, RemoveKeyRequest, ValidationErrors};
use keyroll_proto::inspect::{self, InspectOptions};

/// What kind of object's keys change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TargetKind {
    /// An application (app registration).
    #[default]
    Application,
    /// A service principal (enterprise application).
    ServicePrincipal,
    /// An agent identity blueprint (an application, addressed through its type cast).
    AgentIdentityBlueprint,
}

impl TargetKind {
    /// Parses `application`, `service-principal`, `agent-blueprint` and the PowerShell spellings.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().replace(['-', '_', ' '], "").as_str() {
            "application" | "app" => Some(TargetKind::Application),
            "serviceprincipal" | "sp" => Some(TargetKind::ServicePrincipal),
            "agentblueprint" | "agentidentityblueprint" | "blueprint" => {
                Some(TargetKind::AgentIdentityBlueprint)
            }
            _ => None,
        }
    }
    fn collection(self) -> &'static str {
        match self {
            TargetKind::Application | TargetKind::AgentIdentityBlueprint => "applications",
            TargetKind::ServicePrincipal => "servicePrincipals",
        }
    }
}

/// How the object is named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectRef {
    /// By object id (`id`): what proofs carry as `iss`.
    Id(Uuid),
    /// By client id (`appId`).
    AppId(Uuid),
}

/// The object whose keys change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Target {
    /// Its kind.
    pub kind: TargetKind,
    /// How it is named.
    pub object: ObjectRef,
}

impl Target {
    /// The resource path below the API version, e.g. `applications(appId='…')`.
    pub fn path(&self) -> String {
        let c = self.kind.collection();
        let base = match self.object {
            ObjectRef::Id(id) => format!("{c}/{id}"),
            ObjectRef::AppId(app) => format!("{c}(appId='{app}')"),
        };
        match self.kind {
            TargetKind::AgentIdentityBlueprint => {
                format!("{base}/microsoft.graph.agentIdentityBlueprint")
            }
            _ => base,
        }
    }
    /// The same object, named by its object id.
    pub fn with_object_id(&self, id: Uuid) -> Target {
        Target {
            kind: self.kind,
            object: ObjectRef::Id(id),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            TargetKind::Application => "application",
            TargetKind::ServicePrincipal => "service principal",
            TargetKind::AgentIdentityBlueprint => "agent identity blueprint",
        };
        match self.object {
            ObjectRef::Id(id) => write!(f, "{kind} {id}"),
            ObjectRef::AppId(a) => write!(f, "{kind} with appId {a}"),
        }
    }
}

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

/// Describes a reqwest error without the URL's query (none carries secrets here, but keep it short).
pub fn describe_reqwest(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_request() {
        "request failed"
    } else if e.is_body() || e.is_decode() {
        "response body failed"
    } else {
        "HTTP error"
    };
    let mut detail = String::new();
    let mut src: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(s) = src {
        detail = s.to_string();
        src = s.source();
    }
    if detail.is_empty() {
        kind.to_string()
    } else if is_certificate_failure(&detail) {
        format!("{kind}: {detail}; {UNTRUSTED_CERTIFICATE_HINT}")
    } else {
        format!("{kind}: {detail}")
    }
}

/// Said after a TLS certificate failure.
const UNTRUSTED_CERTIFICATE_HINT: &str = "the server's TLS certificate is not trusted: for the emulator trust its CA file (keyroll --ca-cert, PowerShell -CaCertificate); behind a TLS-inspecting proxy, its CA";

/// Whether a transport failure is the TLS certificate check: not transient, so not worth retrying.
fn is_certificate_failure(detail: &str) -> bool {
    let d = detail.to_ascii_lowercase();
    d.contains("certificate") || d.contains("unknownissuer")
}

/// Attempts for a connection that cannot be opened (refused, unreachable): a few, not the whole budget.
const MAX_CONNECT_ATTEMPTS: u32 = 3;

/// Bounds on retrying.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// Give up once this much time has passed.
    pub max_elapsed: Duration,
    /// First backoff delay.
    pub base_delay: Duration,
    /// Largest single delay.
    pub max_delay: Duration,
    /// How long reads of an object may lag its writes: after an ambiguous addKey (or removeKey), reads are
    /// repeated for this long before the write is taken as not done. The real directory replicates within
    /// seconds; a longer lag is still caught afterwards (a duplicate is removed again) but costs a write.
    pub replication_window: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            max_elapsed: Duration::from_secs(180),
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            replication_window: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let capped = exp.min(self.max_delay);
        // Full jitter in [50%, 100%] so that many clients do not retry in lockstep.
        let jitter = 0.5 + (Uuid::new_v4().as_u128() % 1000) as f64 / 2000.0;
        capped.mul_f64(jitter)
    }
    /// The pause before read number `read` + 1 while waiting out replication: short at first (most lags are
    /// short), at most half a second so that a key that shows is noticed soon, never past the window's end.
    fn reread_delay(&self, read: u32, waited: Duration, limit: Duration) -> Duration {
        let step = Duration::from_millis(100u64 << read.clamp(1, 3)).min(REREAD_MAX_STEP);
        step.min(limit.saturating_sub(waited))
    }
}

/// The longest pause between two reads that wait for a write to show.
const REREAD_MAX_STEP: Duration = Duration::from_millis(500);

/// How many replication windows the check for a second copy may wait for reads to be fresh: a second copy is
/// only possible when reads lagged longer than one window.
const SETTLE_WINDOWS: u32 = 4;

/// When a read is fresh enough to count copies of a certificate on.
#[derive(Debug, Clone, Copy)]
enum Fresh {
    /// Once it lists this keyId (the last addKey's answer): everything committed before it shows too.
    Listed(Uuid),
    /// From this instant on.
    After(Instant),
}

/// A pause shared by every request of a client and its clones: one 429 slows them all.
#[derive(Debug, Default)]
struct Throttle {
    resume_at: std::sync::Mutex<Option<Instant>>,
}

impl Throttle {
    fn pause_until(&self, at: Instant) {
        if let Ok(mut g) = self.resume_at.lock()
            && g.is_none_or(|cur| cur < at)
        {
            *g = Some(at);
        }
    }
    async fn wait_at_most(&self, limit: Duration) {
        let until = self.resume_at.lock().ok().and_then(|g| *g);
        if let Some(at) = until {
            let now = Instant::now();
            if at > now {
                tokio::time::sleep((at - now).min(limit)).await;
            }
        }
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

/// Parses `Retry-After`: seconds (fractional too, as Graph's docs show `2.128`) or an HTTP date.
pub fn parse_retry_after(value: &str, now: OffsetDateTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Some(Duration::from_secs_f64(secs.min(3600.0)));
        }
        return None;
    }
    let date = OffsetDateTime::parse(v, &time::format_description::well_known::Rfc2822).ok()?;
    let d = date - now;
    Some(Duration::from_secs_f64(
        d.as_seconds_f64().clamp(0.0, 3600.0),
    ))
}

struct Answer {
    status: u16,
    body: bytes::Bytes,
    request_id: Option<String>,
    /// `Retry-After` of a 429 or 503, parsed.
    retry_after: Option<Duration>,
}

enum Outcome {
    Answer(Answer),
    /// Sent, but no answer: it may or may not have been committed.
    Lost(String),
}

/// Whether a call may be repeated blindly.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Idempotency {
    Safe,
    /// addKey: after an ambiguous failure, hand control back to the caller to check first.
    CheckFirst,
}

enum CallResult {
    Done(Answer),
    /// addKey's ambiguous outcome: the caller must look before retrying.
    Ambiguous {
        /// What happened.
        detail: String,
        /// The service's Retry-After, if it sent one.
        retry_after: Option<Duration>,
        /// The id of the request whose outcome is unknown.
        client_request_id: String,
    },
}

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
}

/// One write lock per object id, created on first use. Each holds when its last holder let go, so that a read
/// made before waiting for the lock is known to be stale. Entries are kept for the client's life (one small entry
/// per object written): dropping one would forget a release that a reader waiting for it must learn of.
#[derive(Default)]
struct ObjectLocks(std::sync::Mutex<HashMap<Uuid, Arc<tokio::sync::Mutex<Option<Instant>>>>>);

/// The right to change one object's keys through this client (and its clones), from [`GraphClient::lock_object`].
/// Held from the read a write decides on until the write is done; dropping it lets the next writer in.
pub struct ObjectGuard {
    id: Uuid,
    guard: tokio::sync::OwnedMutexGuard<Option<Instant>>,
    previous_release: Option<Instant>,
}

impl ObjectGuard {
    /// The object the guard is for.
    pub fn object_id(&self) -> Uuid {
        self.id
    }
    /// Whether an earlier holder let go of the object at or after `since`: a read of its keys that started
    /// before then may miss that holder's writes and must be repeated.
    pub fn released_since(&self, since: Instant) -> bool {
        self.previous_release.is_some_and(|t| t >= since)
    }
}

impl Drop for ObjectGuard {
    fn drop(&mut self) {
        *self.guard = Some(Instant::now());
    }
}

impl fmt::Debug for ObjectGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectGuard").field("id", &self.id).finish()
    }
}

impl fmt::Debug for GraphClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GraphClient")
            .field("endpoints", &self.endpoints)
            .field("tokens", &self.tokens)
            .finish_non_exhaustive()
    }
}

/// The result of `addKey`.
#[derive(Debug, Clone)]
pub struct AddKeyOutcome {
    /// The credential as the service stored it.
    pub credential: KeyCredential,
    /// True when the answer was lost and the key was found by reading the object afterwards.
    pub recovered: bool,
    /// Attempts made.
    pub attempts: u32,
    /// Copies of the certificate that a retry added after an earlier attempt had committed unseen (reads
    /// lagged longer than [`RetryPolicy::replication_window`]), removed again: the object holds one.
    pub duplicates_removed: Vec<Uuid>,
    /// What the caller must still look at, in words: a copy that could not be removed (with the command that
    /// removes it), or keys that could not be read fresh enough to rule a copy out. Empty when all is settled.
    pub warnings: Vec<String>,
}

/// The keys as read by [`GraphClient::read_keys_until`].
#[derive(Debug, Clone)]
pub struct Reread {
    /// The last read.
    pub keys: ObjectKeys,
    /// Whether the last read showed what was waited for (false: the window passed first).
    pub seen: bool,
    /// Reads made.
    pub reads: u32,
    /// Time spent reading and waiting.
    pub waited: Duration,
}

/// An object's keys as read from Graph.
#[derive(Debug, Clone)]
pub struct ObjectKeys {
    /// The object id.
    pub id: Uuid,
    /// The appId, when Graph returned it.
    pub app_id: Option<Uuid>,
    /// The key credentials.
    pub keys: Vec<KeyCredential>,
}

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
        }
    }
    /// Sets the retry bounds.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
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

    fn log(&self, line: impl FnOnce() -> String) {
        if let Some(l) = &self.logger {
            l(&LogEvent { line: line() });
        }
    }

    async fn send_once(
        &self,
        method: &reqwest::Method,
        url: &str,
        body: Option<&Value>,
        client_request_id: &str,
    ) -> Result<Outcome, GraphError> {
        let token = self.tokens.token().await?;
        let mut req = self
            .http
            .request(method.clone(), url)
            .bearer_auth(token.secret())
            .header("client-request-id", client_request_id)
            .header("Accept", "application/json");
        if let Some(b) = body {
            req = req.json(b);
        }
        let started = Instant::now();
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                let detail = describe_reqwest(&e);
                self.log(|| {
                    format!("{method} {url} (client-request-id {client_request_id}) → {detail}")
                });
                // A connect failure happened before anything was sent: safe to retry even for addKey.
                if e.is_connect() {
                    return Err(GraphError::Transport {
                        operation: format!("{method} {url}"),
                        detail,
                        client_request_id: client_request_id.into(),
                    });
                }
                return Ok(Outcome::Lost(detail));
            }
        };
        let status = resp.status().as_u16();
        let request_id = resp
            .headers()
            .get("request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = match resp.bytes().await {
            Ok(b) => b,
            Err(e) => return Ok(Outcome::Lost(describe_reqwest(&e))),
        };
        self.log(|| {
            format!(
                "{method} {url} (client-request-id {client_request_id}) → {status} in {} ms, request-id {}{}",
                started.elapsed().as_millis(),
                request_id.as_deref().unwrap_or("none"),
                retry_after
                    .as_deref()
                    .map(|r| format!(", Retry-After {r}"))
                    .unwrap_or_default()
            )
        });
        let retry_after = retry_after
            .filter(|_| status == 429 || status == 503)
            .and_then(|ra| parse_retry_after(&ra, self.clock.now()));
        // A 429 pauses every request of this client (and its clones) for the time the service asked.
        if status == 429
            && let Some(d) = retry_after
        {
            self.throttle.pause_until(Instant::now() + d);
        }
        Ok(Outcome::Answer(Answer {
            status,
            body,
            request_id,
            retry_after,
        }))
    }

    fn service_error(&self, operation: &str, a: &Answer, client_request_id: &str) -> ServiceError {
        let parsed: Option<Value> = serde_json::from_slice(&a.body).ok();
        let err = parsed.as_ref().and_then(|v| v.get("error"));
        let code = err
            .and_then(|e| e.get("code"))
            .and_then(Value::as_str)
            .unwrap_or("UnknownError")
            .to_string();
        let message = err
            .and_then(|e| e.get("message"))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| {
                let text: String = String::from_utf8_lossy(&a.body).chars().take(200).collect();
                if text.is_empty() {
                    "(no body)".into()
                } else {
                    text
                }
            });
        let request_id = a.request_id.clone().or_else(|| {
            err.and_then(|e| e.get("innerError"))
                .and_then(|i| i.get("request-id"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
        ServiceError {
            operation: operation.to_string(),
            status: a.status,
            hint: hint_for(a.status, &code),
            code,
            message,
            request_id,
            client_request_id: client_request_id.into(),
        }
    }

    /// One logical call with retries. Returns the final 2xx answer, or the error.
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        idem: Idempotency,
    ) -> Result<CallResult, GraphError> {
        let url = format!("{}/{}", self.endpoints.graph_base(), path);
        let operation = format!("{method} {path}");
        let started = Instant::now();
        let mut attempt = 0u32;
        // 429s that said when to come back: the service pacing a shared budget, not a failure.
        let mut paced = 0u32;
        let mut token_refreshed = false;
        loop {
            attempt += 1;
            // A pause set by another request never holds this one past its own time budget.
            self.throttle
                .wait_at_most(self.retry.max_elapsed.saturating_sub(started.elapsed()))
                .await;
            let client_request_id = Uuid::new_v4().to_string();
            let out = self
                .send_once(&method, &url, body, &client_request_id)
                .await;
            let give_up = |counted: u32| {
                counted >= self.retry.max_attempts || started.elapsed() >= self.retry.max_elapsed
            };
            let delay = match out {
                Ok(Outcome::Answer(a)) if (200..300).contains(&a.status) => {
                    return Ok(CallResult::Done(a));
                }
                Ok(Outcome::Answer(a)) => {
                    let err = self.service_error(&operation, &a, &client_request_id);
                    let retryable =
                        a.status == 429 || a.status == 503 || a.status == 502 || a.status == 504;
                    if a.status == 401
                        && err.code == "InvalidAuthenticationToken"
                        && !token_refreshed
                    {
                        // The token expired or was revoked between cache and call: one fresh try.
                        token_refreshed = true;
                        self.tokens.invalidate().await;
                        continue;
                    }
                    if !retryable {
                        return Err(GraphError::Service(Box::new(err)));
                    }
                    // 429 means "not processed"; other 5xx may have been committed.
                    if a.status != 429 && idem == Idempotency::CheckFirst {
                        return Ok(CallResult::Ambiguous {
                            detail: format!("{} {}", a.status, err.code),
                            retry_after: a.retry_after,
                            client_request_id,
                        });
                    }
                    // A 429 with Retry-After counts against the time budget only: many requests sharing one
                    // write budget each meet several of them while the batch as a whole makes progress.
                    if a.status == 429 && a.retry_after.is_some() {
                        paced += 1;
                    }
                    // A wait the service asks for that ends past the time budget is not waited for: the caller
                    // hears now that the service is busy, instead of hanging (and a proof expiring) meanwhile.
                    let beyond_budget = a
                        .retry_after
                        .is_some_and(|d| started.elapsed() + d > self.retry.max_elapsed);
                    if give_up(attempt - paced) || beyond_budget {
                        return Err(GraphError::RetriesExhausted {
                            last: Box::new(err),
                            attempts: attempt,
                            elapsed: started.elapsed(),
                        });
                    }
                    // Retry-After was applied to the shared throttle for 429; a 503's Retry-After is honoured
                    // here; otherwise back off.
                    match (a.status, a.retry_after) {
                        (429, Some(_)) => Duration::ZERO,
                        (_, Some(d)) => d,
                        _ => self.retry.backoff(attempt),
                    }
                }
                Ok(Outcome::Lost(detail)) => {
                    if idem == Idempotency::CheckFirst {
                        return Ok(CallResult::Ambiguous {
                            detail,
                            retry_after: None,
                            client_request_id,
                        });
                    }
                    if give_up(attempt - paced) {
                        return Err(GraphError::Transport {
                            operation,
                            detail,
                            client_request_id,
                        });
                    }
                    self.retry.backoff(attempt)
                }
                Err(GraphError::Transport {
                    operation,
                    detail,
                    client_request_id,
                }) => {
                    // Nothing was sent. A certificate that is not trusted will not become trusted; an address
                    // that refuses connections gets a few tries only.
                    if give_up(attempt - paced)
                        || attempt >= MAX_CONNECT_ATTEMPTS
                        || is_certificate_failure(&detail)
                    {
                        return Err(GraphError::Transport {
                            operation,
                            detail,
                            client_request_id,
                        });
                    }
                    self.retry.backoff(attempt)
                }
                Err(e) => return Err(e),
            };
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
        }
    }

    async fn call_done(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Answer, GraphError> {
        match self.call(method, path, body, Idempotency::Safe).await? {
            CallResult::Done(a) => Ok(a),
            CallResult::Ambiguous {
                detail,
                client_request_id,
                ..
            } => Err(GraphError::Transport {
                operation: path.into(),
                detail,
                client_request_id,
            }),
        }
    }

    /// Reads the object's id, appId and key credentials (key bytes included: single-object `$select`).
    pub async fn read_keys(&self, target: &Target) -> Result<ObjectKeys, GraphError> {
        let select = match target.kind {
            TargetKind::ServicePrincipal | TargetKind::Application => "id,appId,keyCredentials",
            TargetKind::AgentIdentityBlueprint => "id,appId,keyCredentials",
        };
        let path = format!("{}?$select={select}", target.path());
        let a = self
            .call_done(reqwest::Method::GET, &path, None)
            .await
            .map_err(|e| self.explain_not_found(e, target))?;
        let v: Value =
            serde_json::from_slice(&a.body).map_err(|e| GraphError::InvalidResponse {
                operation: format!("GET {path}"),
                detail: e.to_string(),
                request_id: a.request_id.clone(),
            })?;
        let bad = |detail: &str| GraphError::InvalidResponse {
            operation: format!("GET {path}"),
            detail: detail.into(),
            request_id: a.request_id.clone(),
        };
        let id = match (v.get("id").and_then(Value::as_str), target.object) {
            (Some(s), _) => Uuid::parse_str(s).map_err(|_| bad("id is not a GUID"))?,
            (None, ObjectRef::Id(id)) => id,
            (None, ObjectRef::AppId(_)) => return Err(bad("no id in the answer")),
        };
        let app_id = v
            .get("appId")
            .and_then(Value::as_str)
            .and_then(|s| Uuid::parse_str(s).ok());
        let keys = match v.get("keyCredentials") {
            Some(k) => serde_json::from_value(k.clone())
                .map_err(|e| bad(&format!("keyCredentials: {e}")))?,
            None => Vec::new(),
        };
        Ok(ObjectKeys { id, app_id, keys })
    }

    /// Reads the object's keys until `seen` holds of them or [`RetryPolicy::replication_window`] has passed,
    /// with short pauses: reads lag writes, so one read that misses a write proves nothing. `what` names what
    /// is waited for in the `-v` log; `on_wait` hears of each read that did not show it (read number, time
    /// waited). A failed read ends the wait with its error.
    pub async fn read_keys_until(
        &self,
        target: &Target,
        what: &str,
        seen: impl Fn(&ObjectKeys) -> bool,
        on_wait: &(dyn Fn(u32, Duration) + Send + Sync),
    ) -> Result<Reread, GraphError> {
        self.read_keys_within(target, what, seen, on_wait, self.retry.replication_window)
            .await
    }

    /// [`GraphClient::read_keys_until`] bounded by `limit` instead of the replication window.
    async fn read_keys_within(
        &self,
        target: &Target,
        what: &str,
        seen: impl Fn(&ObjectKeys) -> bool,
        on_wait: &(dyn Fn(u32, Duration) + Send + Sync),
        limit: Duration,
    ) -> Result<Reread, GraphError> {
        let started = Instant::now();
        let mut reads = 0u32;
        loop {
            reads += 1;
            let keys = self.read_keys(target).await?;
            let waited = started.elapsed();
            if seen(&keys) || waited >= limit {
                return Ok(Reread {
                    seen: seen(&keys),
                    keys,
                    reads,
                    waited,
                });
            }
            self.log(|| {
                format!(
                    "the keys of {target} do not show {what} yet (read {reads}, {:.1} s): reads may lag writes; reading again",
                    waited.as_secs_f64()
                )
            });
            on_wait(reads, waited);
            tokio::time::sleep(self.retry.reread_delay(reads, waited, limit)).await;
        }
    }

    /// A 404 for an object id that is really an appId is the most common addressing mistake: detect and say so.
    fn explain_not_found(&self, e: GraphError, target: &Target) -> GraphError {
        let GraphError::Service(s) = &e else {
            return e;
        };
        if s.status != 404 {
            return e;
        }
        let mut s = s.clone();
        if let ObjectRef::Id(id) = target.object {
            s.hint = Some(format!(
                "no {} has object id {id}; if {id} is an appId (client id), address the object by appId (keyroll --app-id, PowerShell -AppId)",
                match target.kind {
                    TargetKind::ServicePrincipal => "service principal",
                    _ => "application",
                }
            ));
        }
        GraphError::Service(s)
    }

    /// Resolves an appId-addressed target to its object id (proofs need the object id as `iss`).
    pub async fn resolve(&self, target: &Target) -> Result<ObjectKeys, GraphError> {
        match self.read_keys(target).await {
            Err(GraphError::Service(s)) if s.status == 404 => {
                // Was an appId given as the object id? Look it up the other way before giving up.
                if let ObjectRef::Id(id) = target.object {
                    let alt = Target {
                        kind: target.kind,
                        object: ObjectRef::AppId(id),
                    };
                    if let Ok(found) = self.read_keys(&alt).await {
                        return Err(GraphError::AppIdAsObjectId {
                            given: id,
                            object_id: found.id,
                        });
                    }
                }
                Err(GraphError::Service(s))
            }
            other => other,
        }
    }

    /// Waits for the write lock of object `id` (shared by every clone of this client) and returns it.
    pub async fn lock_object(&self, id: Uuid) -> ObjectGuard {
        let lock = {
            // Nothing panics while holding the map; if it ever did, the map itself is still consistent.
            let mut map = self.locks.0.lock().unwrap_or_else(|e| e.into_inner());
            map.entry(id).or_default().clone()
        };
        let guard = lock.lock_owned().await;
        let previous_release = *guard;
        ObjectGuard {
            id,
            guard,
            previous_release,
        }
    }

    /// [`GraphClient::resolve`] for a write: the keys as read while holding the object's write lock, and the
    /// lock. An object named by appId is read first to learn its id; if another writer let go of the object
    /// meanwhile, it is read again under the lock.
    pub async fn resolve_for_write(
        &self,
        target: &Target,
    ) -> Result<(ObjectKeys, ObjectGuard), GraphError> {
        match target.object {
            ObjectRef::Id(id) => {
                let guard = self.lock_object(id).await;
                let keys = self.resolve(target).await?;
                Ok((keys, guard))
            }
            ObjectRef::AppId(_) => {
                let started = Instant::now();
                let keys = self.resolve(target).await?;
                let guard = self.lock_object(keys.id).await;
                if guard.released_since(started) {
                    let again = self.read_keys(&target.with_object_id(keys.id)).await?;
                    return Ok((again, guard));
                }
                Ok((keys, guard))
            }
        }
    }

    /// `addKey`. Checks the proof locally first (against the object's current certificates), refuses to add a
    /// certificate that is already present, and never creates a duplicate when an answer is lost. Holds the
    /// object's write lock from the read to the write.
    pub async fn add_key(
        &self,
        target: &Target,
        request: &AddKeyRequest,
        new_certificate: &Certificate,
    ) -> Result<AddKeyOutcome, GraphError> {
        keyroll_proto::credential::validate_add_key(request, self.clock.now())?;
        let (current, _guard) = self.resolve_for_write(target).await?;
        self.add_key_resolved(target, &current, request, new_certificate)
            .await
    }

    /// `addKey` for an object already read with [`GraphClient::resolve`] (a caller that needed the object id
    /// to mint the proof saves a second read). Whether the certificate is already present is judged on
    /// `current`: a caller that may write the same object concurrently reads it with
    /// [`GraphClient::resolve_for_write`] and holds the lock until this returns.
    pub async fn add_key_resolved(
        &self,
        target: &Target,
        current: &ObjectKeys,
        request: &AddKeyRequest,
        new_certificate: &Certificate,
    ) -> Result<AddKeyOutcome, GraphError> {
        keyroll_proto::credential::validate_add_key(request, self.clock.now())?;
        if let Some(existing) = current
            .keys
            .iter()
            .find(|k| k.is_certificate(new_certificate))
        {
            return Err(GraphError::AlreadyPresent {
                target: target.to_string(),
                thumbprint: new_certificate.sha1_hex(),
                key_id: existing.key_id.map(|k| k.to_string()).unwrap_or_default(),
            });
        }
        self.precheck_proof(&request.proof, current)?;
        let path = format!("{}/addKey", target.with_object_id(current.id).path());
        let body = serde_json::to_value(request).map_err(|e| GraphError::InvalidResponse {
            operation: "serialize addKey".into(),
            detail: e.to_string(),
            request_id: None,
        })?;
        let object = target.with_object_id(current.id);
        let has_new = |k: &ObjectKeys| k.keys.iter().any(|k| k.is_certificate(new_certificate));
        let started = Instant::now();
        let mut attempts = 0;
        // When the first answer was lost: how long the copy took to show is the lag seen.
        let mut first_lost: Option<Instant> = None;
        loop {
            attempts += 1;
            match self
                .call(
                    reqwest::Method::POST,
                    &path,
                    Some(&body),
                    Idempotency::CheckFirst,
                )
                .await
            {
                Ok(CallResult::Done(a)) => {
                    let credential = parse_key_credential(&a.body).map_err(|detail| {
                        GraphError::InvalidResponse {
                            operation: format!("POST {path}"),
                            detail,
                            request_id: a.request_id.clone(),
                        }
                    })?;
                    let mut outcome = AddKeyOutcome {
                        credential,
                        recovered: false,
                        attempts,
                        duplicates_removed: Vec::new(),
                        warnings: Vec::new(),
                    };
                    if attempts > 1 {
                        let listed = outcome.credential.key_id.map(Fresh::Listed);
                        self.settle_copies(&object, request, new_certificate, &mut outcome, listed)
                            .await;
                    }
                    return Ok(outcome);
                }
                Ok(CallResult::Ambiguous {
                    detail,
                    retry_after,
                    client_request_id,
                }) => {
                    self.log(|| {
                        format!(
                            "addKey outcome unknown ({detail}); reading the keys before any retry"
                        )
                    });
                    let answered = Instant::now();
                    let first_lost = *first_lost.get_or_insert(answered);
                    // Step 1 of the rule: reads lag writes, so read until the key shows or the window passes.
                    let after = match self
                        .read_keys_until(&object, "the new certificate", has_new, &|_, _| {})
                        .await
                    {
                        Ok(a) => a,
                        Err(e) => {
                            return Err(GraphError::OutcomeUnknown {
                                operation: format!("POST {path}"),
                                detail: format!(
                                    "{detail}; reading the keys afterwards failed too: {e}"
                                ),
                                client_request_id,
                            });
                        }
                    };
                    if let Some(k) = after
                        .keys
                        .keys
                        .iter()
                        .find(|k| k.is_certificate(new_certificate))
                    {
                        let mut outcome = AddKeyOutcome {
                            credential: k.clone(),
                            recovered: true,
                            attempts,
                            duplicates_removed: Vec::new(),
                            warnings: Vec::new(),
                        };
                        if attempts > 1 {
                            // Which send made the copy found is unknown: wait until reads are as fresh as
                            // the lag seen so far says, counted from the last lost answer.
                            let lag_seen = first_lost.elapsed().max(self.retry.replication_window);
                            self.settle_copies(
                                &object,
                                request,
                                new_certificate,
                                &mut outcome,
                                Some(Fresh::After(answered + lag_seen)),
                            )
                            .await;
                        }
                        return Ok(outcome);
                    }
                    if attempts >= self.retry.max_attempts
                        || started.elapsed() >= self.retry.max_elapsed
                    {
                        return Err(GraphError::Transport {
                            operation: format!("POST {path}"),
                            detail: format!(
                                "{detail}; the key was not added (not seen in {} reads over {:.1} s), gave up after {attempts} attempts",
                                after.reads,
                                after.waited.as_secs_f64()
                            ),
                            client_request_id,
                        });
                    }
                    // Step 2: reads over the whole window did not show it; send again after the backoff (the
                    // time spent reading counts towards it).
                    let wait = self
                        .retry
                        .backoff(attempts)
                        .max(retry_after.unwrap_or_default())
                        .saturating_sub(after.waited);
                    self.log(|| {
                        format!(
                            "the new certificate did not show in {} reads over {:.1} s: sending addKey again (attempt {})",
                            after.reads,
                            after.waited.as_secs_f64(),
                            attempts + 1
                        )
                    });
                    tokio::time::sleep(wait).await;
                }
                Err(GraphError::Service(s)) if is_proof_refusal(&s) => {
                    return Err(GraphError::Service(Box::new(self.explain_401(
                        *s,
                        &request.proof,
                        current,
                    ))));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Step 3 of the addKey rule, after addKey was sent more than once: reads the keys until they are fresh
    /// (`fresh`) and removes every copy of the certificate beyond one (same type and usage), keeping the
    /// earliest listed that is not the last answer's. A second copy means reads lagged longer than the
    /// replication window, so the wait for freshness may take up to [`SETTLE_WINDOWS`] windows. The caller
    /// holds the object's write lock.
    async fn settle_copies(
        &self,
        object: &Target,
        request: &AddKeyRequest,
        new_certificate: &Certificate,
        outcome: &mut AddKeyOutcome,
        fresh: Option<Fresh>,
    ) {
        let answered_id = match fresh {
            Some(Fresh::Listed(id)) => Some(id),
            _ => None,
        };
        let same = |a: &Option<String>, b: &Option<String>| match (a, b) {
            (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
            (None, None) => true,
            _ => false,
        };
        let is_copy = |k: &KeyCredential| {
            k.is_certificate(new_certificate)
                && same(&k.key_type, &request.key_credential.key_type)
                && same(&k.usage, &request.key_credential.usage)
        };
        let is_fresh = |keys: &ObjectKeys| match fresh {
            Some(Fresh::Listed(id)) => keys.keys.iter().any(|k| k.key_id == Some(id)),
            Some(Fresh::After(at)) => Instant::now() >= at,
            None => true,
        };
        let limit = match fresh {
            Some(Fresh::After(at)) => at
                .saturating_duration_since(Instant::now())
                .max(self.retry.replication_window),
            _ => self.retry.replication_window * SETTLE_WINDOWS,
        };
        let read = match self
            .read_keys_within(
                object,
                "every copy of the new certificate",
                is_fresh,
                &|_, _| {},
                limit,
            )
            .await
        {
            Ok(r) => r,
            Err(e) => {
                outcome.warnings.push(format!(
                    "addKey was sent {} times and the keys could not be read afterwards ({e}); check with `keyroll key list` that the certificate {} is there once",
                    outcome.attempts,
                    new_certificate.sha1_hex()
                ));
                return;
            }
        };
        let copies: Vec<&KeyCredential> = read.keys.keys.iter().filter(|k| is_copy(k)).collect();
        if !read.seen {
            outcome.warnings.push(format!(
                "addKey was sent {} times and after {:.1} s the keys read still lag (the added keyId is not listed yet); check with `keyroll key list` that the certificate {} is there once",
                outcome.attempts,
                read.waited.as_secs_f64(),
                new_certificate.sha1_hex()
            ));
        }
        if copies.len() < 2 {
            return;
        }
        let keep = copies
            .iter()
            .find(|k| k.key_id != answered_id)
            .copied()
            .unwrap_or(copies[0])
            .clone();
        let extra: Vec<Uuid> = copies
            .iter()
            .filter_map(|k| k.key_id)
            .filter(|id| Some(*id) != keep.key_id)
            .collect();
        for id in extra {
            self.log(|| {
                format!(
                    "the certificate {} is on {object} {} times (a retried addKey whose first answer was lost); removing the copy {id}",
                    new_certificate.sha1_hex(),
                    copies.len()
                )
            });
            match self.remove_copy(object, &read.keys, id, &request.proof).await {
                Ok(()) => outcome.duplicates_removed.push(id),
                Err(e) => outcome.warnings.push(format!(
                    "the certificate {} was added twice (a retry after a lost answer) and the copy {id} could not be removed ({e}); remove it with `keyroll key remove --object-id {oid} --key-id {id}` (PowerShell Remove-EntraMSApplicationKey -ObjectId {oid} -KeyId {id})",
                    new_certificate.sha1_hex(),
                    oid = read.keys.id
                )),
            }
        }
        outcome.credential = keep;
    }

    /// removeKey of a copy of a certificate that stays on the object (so no last valid certificate can go),
    /// with the proof addKey was sent with.
    async fn remove_copy(
        &self,
        object: &Target,
        keys: &ObjectKeys,
        key_id: Uuid,
        proof: &str,
    ) -> Result<(), GraphError> {
        self.precheck_proof(proof, keys)?;
        let path = format!("{}/removeKey", object.path());
        let body = serde_json::to_value(RemoveKeyRequest {
            key_id,
            proof: proof.to_string(),
        })
        .map_err(|e| GraphError::InvalidResponse {
            operation: "serialize removeKey".into(),
            detail: e.to_string(),
            request_id: None,
        })?;
        self.call(reqwest::Method::POST, &path, Some(&body), Idempotency::Safe)
            .await
            .map(|_| ())
    }

    /// `removeKey`. The proof must be signed by a certificate that stays (or by the one removed, while valid).
    ///
    /// Removing the object's last currently valid certificate is refused unless `allow_last_valid` is set.
    pub async fn remove_key(
        &self,
        target: &Target,
        key_id: Uuid,
        proof: &str,
        allow_last_valid: bool,
    ) -> Result<(), GraphError> {
        let (current, guard) = self.resolve_for_write(target).await?;
        self.remove_key_resolved(target, &current, key_id, proof, allow_last_valid, &guard)
            .await
    }

    /// [`GraphClient::remove_key`] for a caller that holds the object's write lock (a roll); reads the keys
    /// again, under that lock, to decide.
    pub async fn remove_key_held(
        &self,
        target: &Target,
        key_id: Uuid,
        proof: &str,
        allow_last_valid: bool,
        guard: &ObjectGuard,
    ) -> Result<(), GraphError> {
        let current = self.resolve(target).await?;
        self.remove_key_resolved(target, &current, key_id, proof, allow_last_valid, guard)
            .await
    }

    async fn remove_key_resolved(
        &self,
        target: &Target,
        current: &ObjectKeys,
        key_id: Uuid,
        proof: &str,
        allow_last_valid: bool,
        guard: &ObjectGuard,
    ) -> Result<(), GraphError> {
        if guard.object_id() != current.id {
            return Err(GraphError::Refused(format!(
                "the write lock held is for object {}, not for the {target} (object {}); nothing was removed",
                guard.object_id(),
                current.id
            )));
        }
        if !current.keys.iter().any(|k| k.key_id == Some(key_id)) {
            return Err(GraphError::KeyNotFound {
                target: target.to_string(),
                key_id,
            });
        }
        if !allow_last_valid {
            let now = self.clock.now();
            let remaining_can_sign = current.keys.iter().any(|k| {
                k.key_id != Some(key_id)
                    && keyroll_proto::credential::may_sign(k, now, 0)
                    && k.certificate().is_some_and(|c| c.is_valid_at(now))
            });
            if !remaining_can_sign {
                return Err(GraphError::Refused(format!(
                    "removing key {key_id} would leave the {target} without a currently valid certificate: it could no longer authenticate with a certificate, and addKey would be impossible (only a PATCH of all its keys could repair it). Add a new certificate first, or force the removal"
                )));
            }
        }
        self.precheck_proof(proof, current)?;
        let path = format!("{}/removeKey", target.with_object_id(current.id).path());
        let body = serde_json::to_value(RemoveKeyRequest {
            key_id,
            proof: proof.to_string(),
        })
        .map_err(|e| GraphError::InvalidResponse {
            operation: "serialize removeKey".into(),
            detail: e.to_string(),
            request_id: None,
        })?;
        // removeKey is idempotent in effect: a repeat after a lost answer finds the key gone and is refused;
        // the key was there before the call, so a refusal with the key now absent means it was removed.
        match self
            .call(reqwest::Method::POST, &path, Some(&body), Idempotency::Safe)
            .await
        {
            Ok(_) => Ok(()),
            Err(GraphError::Service(s)) if s.status == 404 || s.status == 400 => {
                // Reads lag writes: a read that still lists the key proves nothing until the window passes.
                let gone = |k: &ObjectKeys| !k.keys.iter().any(|k| k.key_id == Some(key_id));
                let after = self
                    .read_keys_until(
                        &target.with_object_id(current.id),
                        "the key removed",
                        gone,
                        &|_, _| {},
                    )
                    .await?;
                if after.seen {
                    Ok(())
                } else {
                    Err(GraphError::Service(s))
                }
            }
            Err(GraphError::Service(s)) if is_proof_refusal(&s) => Err(GraphError::Service(
                Box::new(self.explain_401(*s, proof, current)),
            )),
            Err(e) => Err(e),
        }
    }

    /// Every reason the service would reject `proof` for this object, judged against its current keys with the
    /// service's clock tolerance: the causes in words, empty when the proof checks out.
    fn proof_problems(&self, proof: &str, current: &ObjectKeys) -> Vec<String> {
        let now = self.clock.now();
        let pairs: Vec<(&KeyCredential, Certificate)> = current
            .keys
            .iter()
            .filter_map(|k| k.certificate().map(|c| (k, c)))
            .collect();
        let certs: Vec<Certificate> = pairs.iter().map(|(_, c)| c.clone()).collect();
        let report = inspect::inspect(
            proof,
            &InspectOptions {
                certificates: &certs,
                expected_object_id: Some(current.id),
                app_id: current.app_id,
                expected_audience: None,
                now,
                clock_skew_secs: inspect::SERVICE_CLOCK_SKEW_SECS,
            },
        );
        let mut problems: Vec<String> = report.errors().map(|f| f.message.clone()).collect();
        // The certificate may be valid while the key credential holding it is not (its own end date passed).
        if let Some(i) = report.signer
            && let Some((k, c)) = pairs.get(i)
            && !pairs.iter().any(|(k2, c2)| {
                c2 == c
                    && keyroll_proto::credential::may_sign(
                        k2,
                        now,
                        inspect::SERVICE_CLOCK_SKEW_SECS,
                    )
            })
        {
            problems.push(format!(
                "the key credential {} holding the signing certificate {} is not valid now (from {} to {}); sign with a current key of the object",
                k.key_id.map(|i| i.to_string()).unwrap_or_default(),
                c.sha1_hex(),
                k.start_date_time.map(keyroll_proto::credential::serde_date::format).unwrap_or_else(|| "-".into()),
                k.end_date_time.map(keyroll_proto::credential::serde_date::format).unwrap_or_else(|| "-".into()),
            ));
        }
        problems
    }

    fn precheck_proof(&self, proof: &str, current: &ObjectKeys) -> Result<(), GraphError> {
        let problems = self.proof_problems(proof, current);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(GraphError::ProofRejected(problems))
        }
    }

    fn explain_401(&self, mut s: ServiceError, proof: &str, current: &ObjectKeys) -> ServiceError {
        let causes = self.proof_problems(proof, current);
        s.hint = Some(if causes.is_empty() {
            "the proof checks out locally; the key that signed it may have been removed or not yet replicated, or the token lacks permission to change this object".into()
        } else {
            causes.join("; ")
        });
        s
    }
}

/// The service's one answer to every bad proof (as opposed to a bad access token, also a 401).
fn is_proof_refusal(s: &ServiceError) -> bool {
    s.status == 401 && s.code == "Authentication_MissingOrMalformed"
}

/// Reads addKey's answer in either documented shape: OData (properties at the top level) or wrapped in `value`.
pub fn parse_key_credential(body: &[u8]) -> Result<KeyCredential, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let obj = match v.get("value") {
        Some(inner @ Value::Object(_)) => inner.clone(),
        _ => v,
    };
    let kc: KeyCredential = serde_json::from_value(obj).map_err(|e| e.to_string())?;
    if kc.key_id.is_none() {
        return Err("the answer carries no keyId".into());
    }
    Ok(kc)
}

fn hint_for(status: u16, code: &str) -> Option<String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_paths() {
        let id = Uuid::parse_str("11111111-2222-3333-4444-555555555555").unwrap();
        let t = |kind, object| Target { kind, object }.path();
        assert_eq!(
            t(TargetKind::Application, ObjectRef::Id(id)),
            format!("applications/{id}")
        );
        assert_eq!(
            t(TargetKind::Application, ObjectRef::AppId(id)),
            format!("applications(appId='{id}')")
        );
        assert_eq!(
            t(TargetKind::ServicePrincipal, ObjectRef::Id(id)),
            format!("servicePrincipals/{id}")
        );
        assert_eq!(
            t(TargetKind::AgentIdentityBlueprint, ObjectRef::Id(id)),
            format!("applications/{id}/microsoft.graph.agentIdentityBlueprint")
        );
    }

    #[test]
    fn retry_after_forms() {
        let now = OffsetDateTime::UNIX_EPOCH;
        assert_eq!(
            parse_retry_after("2.128", now),
            Some(Duration::from_millis(2128))
        );
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Thu, 01 Jan 1970 00:00:05 GMT", now),
            Some(Duration::from_secs(5))
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
    }

    #[test]
    fn both_answer_shapes() {
        let odata = br#"{"@odata.context":"x","keyId":"11111111-2222-3333-4444-555555555555","type":"AsymmetricX509Cert","usage":"Verify","key":null}"#;
        assert!(parse_key_credential(odata).is_ok());
        let wrapped = br#"{"value":{"@odata.type":"microsoft.graph.keyCredential","keyId":"11111111-2222-3333-4444-555555555555"}}"#;
        assert!(parse_key_credential(wrapped).is_ok());
        assert!(parse_key_credential(br#"{"@odata.context":"x"}"#).is_err());
    }

    #[test]
    fn rereads_are_soon_and_end_with_the_window() {
        let p = RetryPolicy::default();
        let w = p.replication_window;
        assert_eq!(
            p.reread_delay(1, Duration::ZERO, w),
            Duration::from_millis(200)
        );
        assert_eq!(
            p.reread_delay(9, Duration::from_secs(1), w),
            REREAD_MAX_STEP
        );
        assert_eq!(
            p.reread_delay(9, w - Duration::from_millis(30), w),
            Duration::from_millis(30)
        );
        assert_eq!(p.reread_delay(9, w, w), Duration::ZERO);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy::default();
        assert!(p.backoff(1) <= Duration::from_millis(500));
        assert!(p.backoff(20) <= p.max_delay);
        assert!(p.backoff(4) >= Duration::from_secs(2));
    }
}
