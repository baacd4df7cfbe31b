//! Delegated sign-in by device code (the OAuth 2.0 device authorization grant, RFC 8628, as the identity
//! platform serves it: docs/protocol.md §9), with a token cache in the user's profile and refresh by refresh
//! token.
//!
//! The flow is two steps so that no face needs a callback: [`begin`] either finds a usable sign-in in the cache
//! (an access token still valid, or a refresh token the service still honours) and answers
//! [`SignInStart::Ready`], or asks the service for a device code and answers [`SignInStart::Pending`] with what
//! to show the user (the code, the page, the service's message, the expiry); [`PendingSignIn::wait`] then polls
//! as the protocol says — every `interval` seconds, 5 s more after each `slow_down`, stopping at
//! `authorization_declined`, `expired_token` or the code's expiry — and answers the signed-in [`UserSession`].
//!
//! Secrets (the device code, access and refresh tokens) are never in `Debug`, `Display` or an error's text; the
//! cache file is the one place they are written, with mode 0600 in a 0700 directory on Unix.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration as StdDuration;

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

use crate::auth::{AccessToken, AuthError};
use crate::cloud::Endpoints;
use keyroll_proto::clock::Clock;

/// Microsoft Graph Command Line Tools: the public client Connect-MgGraph signs in with when no client id is
/// given; ours too.
pub const GRAPH_CLI_CLIENT_ID: &str = "14d82eec-204b-4c2f-b7e8-296a70dab67e";
/// The tenant signed in to when none is given: any work or school account (app management is not for personal
/// accounts).
pub const DEFAULT_TENANT: &str = "organizations";
/// The delegated scope asked for when none is given: what addKey, removeKey and addPassword need from a user.
pub const DEFAULT_SCOPE: &str = "Application.ReadWrite.All";
/// The OIDC scopes asked for with every sign-in: `offline_access` brings the refresh token.
const OIDC_SCOPES: &[&str] = &["offline_access", "openid", "profile"];
/// RFC 8628 §3.5: the interval when the service names none.
const DEFAULT_INTERVAL_SECS: u64 = 5;
/// RFC 8628 §3.5: added to the interval after each `slow_down`.
const SLOW_DOWN_SECS: u64 = 5;
/// The shortest pause between polls whatever the service says (an interval of 0).
const MIN_POLL: StdDuration = StdDuration::from_millis(100);
/// A code is never waited for longer than this, whatever `expires_in` says.
const MAX_WAIT: StdDuration = StdDuration::from_secs(3600);
/// A cached access token is used while it has more than this left.
const USE_MARGIN: Duration = Duration::minutes(5);

/// The grant type of a device-code poll.
const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// What a user asks for when signing in as themselves.
#[derive(Debug, Clone)]
pub struct DelegatedRequest {
    /// Tenant id or domain ([`DEFAULT_TENANT`] when not given).
    pub tenant: String,
    /// The public client signed in through ([`GRAPH_CLI_CLIENT_ID`] when not given).
    pub client_id: String,
    /// Graph's delegated permissions, as full scope URIs of the cloud's Graph.
    pub scopes: Vec<String>,
    /// Where sign-ins are kept; `None` keeps nothing (every run asks for a new code).
    pub cache: Option<TokenCache>,
}

impl DelegatedRequest {
    /// A request in the user's words: the tenant, the client id and the scopes as given (bare permission names
    /// such as `Application.ReadWrite.All`, or full URIs), with the defaults filled in and bare names put under
    /// the cloud's Graph.
    pub fn new(
        endpoints: &Endpoints,
        tenant: Option<&str>,
        client_id: Option<&str>,
        scopes: &[String],
        cache: Option<TokenCache>,
    ) -> Self {
        let graph = endpoints.cloud.graph_resource().trim_end_matches('/');
        let mut full: Vec<String> = scopes
            .iter()
            .flat_map(|s| s.split([' ', ',']))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .filter(|s| !OIDC_SCOPES.iter().any(|o| o.eq_ignore_ascii_case(s)))
            .map(|s| {
                if s.contains('/') {
                    s.to_string()
                } else {
                    format!("{graph}/{s}")
                }
            })
            .collect();
        if full.is_empty() {
            full.push(format!("{graph}/{DEFAULT_SCOPE}"));
        }
        full.sort();
        full.dedup();
        DelegatedRequest {
            tenant: tenant
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .unwrap_or(DEFAULT_TENANT)
                .to_string(),
            client_id: client_id
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .unwrap_or(GRAPH_CLI_CLIENT_ID)
                .to_string(),
            scopes: full,
            cache,
        }
    }

    fn scope_param(&self) -> String {
        let mut all = self.scopes.clone();
        all.extend(OIDC_SCOPES.iter().map(|s| s.to_string()));
        all.join(" ")
    }

    /// The cache key: the authority (login host), tenant, client and scopes.
    fn cache_key(&self, endpoints: &Endpoints) -> String {
        format!(
            "{}|{}|{}|{}",
            endpoints.login_base().trim_end_matches('/'),
            self.tenant.to_ascii_lowercase(),
            self.client_id.to_ascii_lowercase(),
            self.scopes.join(" ").to_ascii_lowercase()
        )
    }
}

/// Why the token cache cannot be used. Texts name the file and the fix, never its contents.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CacheError {
    /// Other users may read or write the file (or its folder): tokens in it could be stolen or planted.
    #[error(
        "the token cache {path} can be read or written by other users (mode {mode:o}); it holds sign-in tokens, so it is not used: make it private (chmod 600 on the file, 700 on its folder) or sign out to remove it"
    )]
    Permissions {
        /// The file or folder.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// Not a cache this version wrote.
    #[error(
        "the token cache {path} is not a token cache this program can read ({detail}); sign out to remove it (or delete the file), then sign in again"
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What was wrong (never the contents).
        detail: String,
    },
    /// The file or its folder could not be read or written.
    #[error("the token cache {path}: {detail}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        detail: String,
    },
    /// No place for the cache: neither the override nor the profile folders are set.
    #[error(
        "no folder for the token cache: set KEYROLL_TOKEN_CACHE to a file path, or HOME (LOCALAPPDATA on Windows)"
    )]
    NoLocation,
}

/// A sign-in kept in the cache file.
#[derive(Clone, Serialize, Deserialize)]
struct CacheEntry {
    authority: String,
    tenant: String,
    client_id: String,
    scopes: Vec<String>,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    refresh_token: Option<String>,
    access_token: String,
    /// Unix seconds.
    expires_at: i64,
}

impl Drop for CacheEntry {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.access_token);
        if let Some(r) = self.refresh_token.as_mut() {
            zeroize::Zeroize::zeroize(r);
        }
    }
}

impl fmt::Debug for CacheEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "CacheEntry(user {:?}, client {}, tokens <redacted>)",
            self.user, self.client_id
        )
    }
}

#[derive(Default, Serialize, Deserialize)]
struct CacheFile {
    version: u32,
    entries: BTreeMap<String, CacheEntry>,
}

const CACHE_VERSION: u32 = 1;

/// The token cache: one JSON file, keyed by authority + tenant + client + scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenCache {
    path: PathBuf,
}

impl TokenCache {
    /// A cache at `path`.
    pub fn at(path: impl Into<PathBuf>) -> Self {
        TokenCache { path: path.into() }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io(&self, what: &str, e: std::io::Error) -> CacheError {
        CacheError::Io {
            path: self.path.clone(),
            detail: format!("{what}: {e}"),
        }
    }

    /// Refuses a file or folder others may read or write (Unix; Windows profiles are private to the user).
    #[cfg(unix)]
    fn check_private(&self) -> Result<(), CacheError> {
        use std::os::unix::fs::PermissionsExt;
        let checks = [(self.path.clone(), 0o077), (self.folder(), 0o022)];
        for (p, forbidden) in checks {
            if let Ok(meta) = std::fs::metadata(&p) {
                let mode = meta.permissions().mode() & 0o7777;
                // A shared folder with the sticky bit (/tmp) lets no one else replace or remove the file.
                let sticky_folder = meta.is_dir() && mode & 0o1000 != 0;
                if mode & forbidden != 0 && !sticky_folder {
                    let mode = mode & 0o777;
                    return Err(CacheError::Permissions { path: p, mode });
                }
            }
        }
        Ok(())
    }

    #[cfg(not(unix))]
    fn check_private(&self) -> Result<(), CacheError> {
        Ok(())
    }

    fn folder(&self) -> PathBuf {
        self.path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."))
    }

    fn load(&self) -> Result<CacheFile, CacheError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => Zeroizing::new(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(CacheFile::default()),
            Err(e) => return Err(self.io("cannot read it", e)),
        };
        self.check_private()?;
        let file: CacheFile = serde_json::from_slice(&bytes).map_err(|e| CacheError::Corrupt {
            path: self.path.clone(),
            detail: format!("not JSON of the expected shape at line {}", e.line()),
        })?;
        if file.version != CACHE_VERSION {
            return Err(CacheError::Corrupt {
                path: self.path.clone(),
                detail: format!("version {} where {CACHE_VERSION} is read", file.version),
            });
        }
        Ok(file)
    }

    fn save(&self, file: &CacheFile) -> Result<(), CacheError> {
        let folder = self.folder();
        create_private_dir(&folder).map_err(|e| self.io("cannot create its folder", e))?;
        let text = Zeroizing::new(serde_json::to_vec_pretty(file).map_err(|e| CacheError::Io {
            path: self.path.clone(),
            detail: e.to_string(),
        })?);
        let tmp = folder.join(format!(
            ".{}.{}.tmp",
            self.path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "token-cache".into()),
            std::process::id()
        ));
        write_private(&tmp, &text).map_err(|e| self.io("cannot write it", e))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            self.io("cannot replace it", e)
        })
    }

    fn get(&self, key: &str) -> Result<Option<CacheEntry>, CacheError> {
        Ok(self.load()?.entries.get(key).cloned())
    }

    fn put(&self, key: String, entry: CacheEntry) -> Result<(), CacheError> {
        let mut file = self.load()?;
        file.version = CACHE_VERSION;
        file.entries.insert(key, entry);
        self.save(&file)
    }

    /// Signs out: removes the sign-ins `which` matches, and the file when nothing is left. A corrupt or unprivate
    /// file is removed whole: nothing in it can be trusted. Answers how many sign-ins were removed.
    pub fn sign_out(&self, which: &SignOut) -> Result<usize, CacheError> {
        let mut file = match self.load() {
            Ok(f) => f,
            Err(CacheError::Corrupt { .. } | CacheError::Permissions { .. }) => {
                std::fs::remove_file(&self.path).map_err(|e| self.io("cannot remove it", e))?;
                return Ok(1);
            }
            Err(e) => return Err(e),
        };
        let before = file.entries.len();
        file.entries.retain(|_, e| !which.matches(e));
        let removed = before - file.entries.len();
        if file.entries.is_empty() {
            match std::fs::remove_file(&self.path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(self.io("cannot remove it", e)),
            }
        } else if removed > 0 {
            self.save(&file)?;
        }
        Ok(removed)
    }
}

/// Which cached sign-ins a sign-out removes: those of every field given (none given: all of them).
#[derive(Debug, Clone, Default)]
pub struct SignOut {
    /// The identity platform (login URL).
    pub authority: Option<String>,
    /// The tenant as given at sign-in.
    pub tenant: Option<String>,
    /// The public client.
    pub client_id: Option<String>,
    /// The scopes, as full URIs ([`DelegatedRequest::scopes`]).
    pub scopes: Option<Vec<String>>,
}

impl SignOut {
    fn matches(&self, e: &CacheEntry) -> bool {
        let eq =
            |a: &Option<String>, b: &str| a.as_deref().is_none_or(|a| a.eq_ignore_ascii_case(b));
        eq(&self.authority, e.authority.trim_end_matches('/'))
            && eq(&self.tenant, &e.tenant)
            && eq(&self.client_id, &e.client_id)
            && self.scopes.as_ref().is_none_or(|s| {
                let mut a: Vec<String> = s.iter().map(|x| x.to_ascii_lowercase()).collect();
                let mut b: Vec<String> = e.scopes.iter().map(|x| x.to_ascii_lowercase()).collect();
                a.sort();
                b.sort();
                a == b
            })
    }
}

#[cfg(unix)]
fn create_private_dir(folder: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if folder.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(folder)
}

#[cfg(not(unix))]
fn create_private_dir(folder: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(folder)
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

/// A user signed in: the access token, the refresh token that renews it, and where both are kept.
pub struct UserSession {
    request: DelegatedRequest,
    key: String,
    user: Option<String>,
    state: tokio::sync::Mutex<Tokens>,
}

struct Tokens {
    access: AccessToken,
    refresh: Option<Zeroizing<String>>,
}

impl fmt::Debug for UserSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "UserSession(user {:?}, client {}, tenant {}, tokens <redacted>)",
            self.user, self.request.client_id, self.request.tenant
        )
    }
}

impl UserSession {
    /// The signed-in user's name (the `upn` of the token), when it says.
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// The public client signed in through.
    pub fn client_id(&self) -> &str {
        &self.request.client_id
    }

    /// The delegated scopes asked for.
    pub fn scopes(&self) -> &[String] {
        &self.request.scopes
    }

    /// A token for Graph: the current one while it has more than five minutes left, else a new one by the
    /// refresh token (kept in the cache). A refresh the service refuses is [`AuthError::SignInAgain`].
    pub async fn token(
        &self,
        http: &reqwest::Client,
        endpoints: &Endpoints,
        now: OffsetDateTime,
    ) -> Result<AccessToken, AuthError> {
        let mut state = self.state.lock().await;
        if state.access.expires_at - USE_MARGIN > now {
            return Ok(state.access.clone());
        }
        let Some(refresh) = state.refresh.clone() else {
            return Err(AuthError::SignInAgain {
                user: self.user.clone().unwrap_or_else(|| "the user".into()),
                reason: "the sign-in expired and the service gave no refresh token".into(),
            });
        };
        let fresh = refresh_grant(http, endpoints, &self.request, &refresh, now)
            .await
            .map_err(|e| match e {
                AuthError::Refused { error, codes, .. } => AuthError::SignInAgain {
                    user: self.user.clone().unwrap_or_else(|| "the user".into()),
                    reason: format!(
                        "the service refused the refresh token ({error}{})",
                        codes
                            .first()
                            .map(|c| format!(", AADSTS{c}"))
                            .unwrap_or_default()
                    ),
                },
                other => other,
            })?;
        remember(&self.request, &self.key, &fresh)?;
        state.access = fresh.access.clone();
        if let Some(r) = fresh.refresh {
            state.refresh = Some(r);
        }
        Ok(state.access.clone())
    }
}

/// What [`begin`] found.
#[derive(Debug)]
pub enum SignInStart {
    /// A sign-in from the cache, still usable: no code to show.
    Ready(Arc<UserSession>),
    /// A new device code: show its message, then [`PendingSignIn::wait`].
    Pending(Box<PendingSignIn>),
}

/// A device code waiting for the user.
pub struct PendingSignIn {
    /// The code the user types.
    pub user_code: String,
    /// The page where the user types it.
    pub verification_uri: String,
    /// The service's own instructions (shows the page and the code).
    pub message: String,
    /// When the code stops working.
    pub expires_at: OffsetDateTime,
    /// The polling interval the service asked for.
    pub interval: StdDuration,
    device_code: Zeroizing<String>,
    request: DelegatedRequest,
    key: String,
    http: reqwest::Client,
    endpoints: Endpoints,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for PendingSignIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingSignIn")
            .field("user_code", &self.user_code)
            .field("verification_uri", &self.verification_uri)
            .field("expires_at", &self.expires_at)
            .field("device_code", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// Where [`PendingSignIn::wait`] spent its time: for the measurements of the README.
#[derive(Debug, Clone, Copy, Default)]
pub struct PollStats {
    /// Token requests sent.
    pub polls: u32,
    /// Time spent sleeping between polls.
    pub waited: StdDuration,
}

/// A flag another thread sets to stop a [`PendingSignIn::wait`].
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// Asks the wait to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    /// Whether it was asked.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

struct Granted {
    access: AccessToken,
    refresh: Option<Zeroizing<String>>,
    user: Option<String>,
}

/// Starts a delegated sign-in: the cached one when usable (refreshed if need be), else a new device code.
pub async fn begin(
    request: DelegatedRequest,
    http: reqwest::Client,
    endpoints: Endpoints,
    clock: Arc<dyn Clock>,
) -> Result<SignInStart, AuthError> {
    let key = request.cache_key(&endpoints);
    let now = clock.now();
    if let Some(cache) = &request.cache
        && let Some(entry) = cache.get(&key).map_err(AuthError::TokenCache)?
    {
        let session = UserSession {
            key: key.clone(),
            user: entry.user.clone(),
            state: tokio::sync::Mutex::new(Tokens {
                access: AccessToken::new(
                    entry.access_token.clone(),
                    OffsetDateTime::from_unix_timestamp(entry.expires_at)
                        .unwrap_or(OffsetDateTime::UNIX_EPOCH),
                ),
                refresh: entry.refresh_token.clone().map(Zeroizing::new),
            }),
            request: request.clone(),
        };
        match session.token(&http, &endpoints, now).await {
            Ok(_) => return Ok(SignInStart::Ready(Arc::new(session))),
            // A refresh the service refused: a new code is the way back in.
            Err(AuthError::SignInAgain { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    let url = endpoints.device_code_endpoint(&request.tenant);
    let form = [
        ("client_id", request.client_id.as_str()),
        ("scope", &request.scope_param()),
    ];
    let (status, body) = post_form(&http, &url, &form).await?;
    if status != 200 {
        return Err(refusal(&url, status, &body, &request));
    }
    #[derive(Deserialize)]
    struct Answer {
        device_code: String,
        user_code: String,
        verification_uri: Option<String>,
        verification_url: Option<String>,
        expires_in: serde_json::Value,
        interval: Option<serde_json::Value>,
        message: Option<String>,
    }
    let a: Answer = serde_json::from_slice(&body).map_err(|e| AuthError::InvalidResponse {
        url: url.clone(),
        detail: format!("not a device authorization response: {e}"),
    })?;
    let device_code = Zeroizing::new(a.device_code.clone());
    let number = |v: &serde_json::Value| match v {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    let expires_in = number(&a.expires_in)
        .unwrap_or(900)
        .clamp(1, MAX_WAIT.as_secs());
    let interval = a
        .interval
        .as_ref()
        .and_then(number)
        .unwrap_or(DEFAULT_INTERVAL_SECS)
        .min(600);
    let verification_uri = a
        .verification_uri
        .clone()
        .or(a.verification_url.clone())
        .unwrap_or_default();
    let message = a.message.clone().unwrap_or_else(|| {
        format!(
            "To sign in, use a web browser to open the page {verification_uri} and enter the code {} to authenticate.",
            a.user_code
        )
    });
    Ok(SignInStart::Pending(Box::new(PendingSignIn {
        user_code: a.user_code.clone(),
        verification_uri,
        message,
        expires_at: now + Duration::seconds(expires_in as i64),
        interval: StdDuration::from_secs(interval),
        device_code,
        request,
        key,
        http,
        endpoints,
        clock,
    })))
}

impl PendingSignIn {
    /// Polls the token endpoint until the user approves (the session), declines, the code expires, or `cancel`
    /// is set: every `interval`, 5 s more after each `slow_down` (RFC 8628 §3.5), never past the code's expiry.
    pub async fn wait(self, cancel: &Cancel) -> Result<Arc<UserSession>, AuthError> {
        self.wait_with_stats(cancel).await.map(|(s, _)| s)
    }

    /// [`PendingSignIn::wait`], also saying how many polls were sent and how long was slept between them.
    pub async fn wait_with_stats(
        self,
        cancel: &Cancel,
    ) -> Result<(Arc<UserSession>, PollStats), AuthError> {
        let url = self.endpoints.token_endpoint(&self.request.tenant);
        let mut interval = self.interval;
        let mut stats = PollStats::default();
        let started = std::time::Instant::now();
        let lifetime = (self.expires_at - self.clock.now())
            .try_into()
            .unwrap_or(StdDuration::ZERO)
            .min(MAX_WAIT);
        loop {
            if cancel.is_cancelled() {
                return Err(AuthError::DeviceCodeCancelled);
            }
            if started.elapsed() >= lifetime {
                return Err(AuthError::DeviceCodeExpired {
                    verification_uri: self.verification_uri.clone(),
                });
            }
            let form = [
                ("grant_type", DEVICE_CODE_GRANT),
                ("client_id", self.request.client_id.as_str()),
                ("device_code", self.device_code.as_str()),
            ];
            stats.polls += 1;
            let (status, body) = post_form(&self.http, &url, &form).await?;
            let now = self.clock.now();
            if status == 200 {
                let granted = parse_granted(&url, &body, now)?;
                remember(&self.request, &self.key, &granted)?;
                let session = UserSession {
                    request: self.request.clone(),
                    key: self.key.clone(),
                    user: granted.user.clone(),
                    state: tokio::sync::Mutex::new(Tokens {
                        access: granted.access,
                        refresh: granted.refresh,
                    }),
                };
                return Ok((Arc::new(session), stats));
            }
            let err: OAuthAnswer = serde_json::from_slice(&body).unwrap_or_default();
            match err.error.as_deref() {
                Some("authorization_pending") => {}
                Some("slow_down") => interval += StdDuration::from_secs(SLOW_DOWN_SECS),
                Some("authorization_declined") | Some("access_denied") => {
                    return Err(AuthError::DeviceCodeDeclined {
                        verification_uri: self.verification_uri.clone(),
                    });
                }
                Some("expired_token") | Some("code_expired") => {
                    return Err(AuthError::DeviceCodeExpired {
                        verification_uri: self.verification_uri.clone(),
                    });
                }
                _ => return Err(refusal(&url, status, &body, &self.request)),
            }
            // Sleep the interval in short slices so that a cancel is seen at once, never past the expiry.
            let pause = interval.max(MIN_POLL);
            let until = std::time::Instant::now() + pause;
            while std::time::Instant::now() < until {
                if cancel.is_cancelled() {
                    return Err(AuthError::DeviceCodeCancelled);
                }
                let left = until.saturating_duration_since(std::time::Instant::now());
                tokio::time::sleep(left.min(StdDuration::from_millis(100))).await;
            }
            stats.waited += pause;
        }
    }
}

#[derive(Deserialize, Default)]
struct OAuthAnswer {
    error: Option<String>,
    error_description: Option<String>,
    #[serde(default)]
    error_codes: Vec<u32>,
}

/// What to do about an identity platform refusal of a delegated sign-in, in plain words.
fn delegated_hint(codes: &[u32], description: &str, request: &DelegatedRequest) -> Option<String> {
    let hint = match codes.first()? {
        7000218 => format!(
            "the app {} is not a public client, so users cannot sign in through it with a device code: turn on \"Allow public client flows\" (isFallbackPublicClient) on it, or sign in through Microsoft Graph Command Line Tools ({GRAPH_CLI_CLIENT_ID}, the default when no client id is given), or sign in as the app with its certificate",
            request.client_id
        ),
        700016 | 700011 => format!(
            "no application with client id {} in tenant {}: check the client id, or give none to sign in through Microsoft Graph Command Line Tools",
            request.client_id, request.tenant
        ),
        70011 if description.contains("OwnedBy") => "Application.ReadWrite.OwnedBy is an application permission only: no user token carries it. Ask for the delegated Application.ReadWrite.All, or sign in as the app (its certificate or a managed identity) to use Application.ReadWrite.OwnedBy".to_string(),
        70011 => "a scope asked for is not a delegated permission of Graph: give permission names such as Application.ReadWrite.All".to_string(),
        900144 => "a parameter is missing from the request (a client id or the scopes)".to_string(),
        90002 | 900023 => "the tenant was not found; check the tenant id".to_string(),
        _ => return None,
    };
    Some(hint)
}

fn refusal(url: &str, status: u16, body: &[u8], request: &DelegatedRequest) -> AuthError {
    match serde_json::from_slice::<OAuthAnswer>(body) {
        Ok(err) if err.error.is_some() => {
            let description = err
                .error_description
                .unwrap_or_default()
                .replace("\r\n", " ");
            AuthError::Refused {
                status,
                hint: delegated_hint(&err.error_codes, &description, request),
                error: err.error.unwrap_or_default(),
                description,
                codes: err.error_codes,
            }
        }
        _ => AuthError::InvalidResponse {
            url: url.to_string(),
            detail: format!(
                "status {status}: {}",
                String::from_utf8_lossy(body)
                    .chars()
                    .take(200)
                    .collect::<String>()
            ),
        },
    }
}

async fn post_form(
    http: &reqwest::Client,
    url: &str,
    form: &[(&str, &str)],
) -> Result<(u16, bytes::Bytes), AuthError> {
    let resp = http
        .post(url)
        .form(form)
        .send()
        .await
        .map_err(|e| AuthError::Transport {
            url: url.to_string(),
            detail: crate::http::describe_reqwest(&e),
        })?;
    let status = resp.status().as_u16();
    let body = resp.bytes().await.map_err(|e| AuthError::Transport {
        url: url.to_string(),
        detail: e.to_string(),
    })?;
    Ok((status, body))
}

fn parse_granted(url: &str, body: &[u8], now: OffsetDateTime) -> Result<Granted, AuthError> {
    #[derive(Deserialize)]
    struct Answer {
        access_token: Option<String>,
        refresh_token: Option<String>,
        expires_in: Option<serde_json::Value>,
    }
    let a: Answer = serde_json::from_slice(body).map_err(|e| AuthError::InvalidResponse {
        url: url.to_string(),
        detail: e.to_string(),
    })?;
    let token = a.access_token.ok_or_else(|| AuthError::InvalidResponse {
        url: url.to_string(),
        detail: "no access_token".into(),
    })?;
    let lifetime = match &a.expires_in {
        Some(serde_json::Value::Number(n)) => n.as_i64(),
        Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    }
    .unwrap_or(3599)
    .clamp(60, 86_400);
    let access = AccessToken::new(token, now + Duration::seconds(lifetime));
    let user = access
        .claim("upn")
        .or_else(|| access.claim("preferred_username"));
    Ok(Granted {
        access,
        refresh: a.refresh_token.map(Zeroizing::new),
        user,
    })
}

async fn refresh_grant(
    http: &reqwest::Client,
    endpoints: &Endpoints,
    request: &DelegatedRequest,
    refresh: &str,
    now: OffsetDateTime,
) -> Result<Granted, AuthError> {
    let url = endpoints.token_endpoint(&request.tenant);
    let scope = request.scope_param();
    let form = [
        ("grant_type", "refresh_token"),
        ("client_id", request.client_id.as_str()),
        ("refresh_token", refresh),
        ("scope", scope.as_str()),
    ];
    let (status, body) = post_form(http, &url, &form).await?;
    if status == 200 {
        parse_granted(&url, &body, now)
    } else {
        Err(refusal(&url, status, &body, request))
    }
}

/// Keeps a sign-in in the cache (when there is one).
fn remember(request: &DelegatedRequest, key: &str, granted: &Granted) -> Result<(), AuthError> {
    let Some(cache) = &request.cache else {
        return Ok(());
    };
    let entry = CacheEntry {
        authority: key.split('|').next().unwrap_or_default().to_string(),
        tenant: request.tenant.clone(),
        client_id: request.client_id.clone(),
        scopes: request.scopes.clone(),
        user: granted.user.clone(),
        refresh_token: granted.refresh.as_ref().map(|r| r.to_string()),
        access_token: granted.access.secret().to_string(),
        expires_at: granted.access.expires_at.unix_timestamp(),
    };
    cache
        .put(key.to_string(), entry)
        .map_err(AuthError::TokenCache)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::Cloud;

    fn endpoints() -> Endpoints {
        Endpoints::custom(Cloud::Global, None, None).unwrap()
    }

    #[test]
    fn defaults_and_bare_scopes_go_under_the_clouds_graph() {
        let r = DelegatedRequest::new(&endpoints(), None, None, &[], None);
        assert_eq!(r.client_id, GRAPH_CLI_CLIENT_ID);
        assert_eq!(r.tenant, DEFAULT_TENANT);
        assert_eq!(
            r.scopes,
            vec!["https://graph.microsoft.com/Application.ReadWrite.All".to_string()]
        );
        let r = DelegatedRequest::new(
            &endpoints(),
            Some("contoso"),
            Some("c"),
            &["Application.Read.All, offline_access".into()],
            None,
        );
        assert_eq!(
            r.scopes,
            vec!["https://graph.microsoft.com/Application.Read.All".to_string()]
        );
        assert!(r.scope_param().ends_with("offline_access openid profile"));
    }

    #[cfg(unix)]
    #[test]
    fn the_cache_is_private_and_refuses_files_others_can_read() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let cache = TokenCache::at(dir.path().join("sub").join("cache.json"));
        let r = DelegatedRequest::new(&endpoints(), None, None, &[], Some(cache.clone()));
        let granted = Granted {
            access: AccessToken::new("eyJ.secret.token".into(), OffsetDateTime::now_utc()),
            refresh: Some(Zeroizing::new("refresh-secret".into())),
            user: Some("u@x".into()),
        };
        remember(&r, &r.cache_key(&endpoints()), &granted).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(cache.path()), 0o600);
        assert_eq!(mode(&dir.path().join("sub")), 0o700);
        std::fs::set_permissions(cache.path(), std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = cache.get("k").unwrap_err();
        assert!(
            matches!(e, CacheError::Permissions { mode: 0o644, .. }),
            "{e}"
        );
        assert!(!e.to_string().contains("secret"), "{e}");
        std::fs::set_permissions(cache.path(), std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::write(cache.path(), b"{not json refresh-secret").unwrap();
        let e = cache.get("k").unwrap_err();
        assert!(matches!(e, CacheError::Corrupt { .. }), "{e}");
        assert!(!e.to_string().contains("secret"), "{e}");
        assert_eq!(cache.sign_out(&SignOut::default()).unwrap(), 1);
        assert!(!cache.path().exists());

        // A folder others may write is refused, unless it is sticky (as /tmp is): no one else can replace the file.
        let shared = dir.path().join("shared");
        std::fs::create_dir(&shared).unwrap();
        let cache = TokenCache::at(shared.join("cache.json"));
        let r = DelegatedRequest::new(&endpoints(), None, None, &[], Some(cache.clone()));
        remember(&r, &r.cache_key(&endpoints()), &granted).unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(matches!(
            cache.get("k"),
            Err(CacheError::Permissions { .. })
        ));
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
        assert!(cache.get("k").unwrap().is_none());
    }
}
