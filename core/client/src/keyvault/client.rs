//! The Key Vault data-plane client: one HTTP client (the connection's TLS roots and proxy), bearer tokens for
//! the cloud's vault resource, the 401 challenge, retries of 429 and 5xx, and a count of the requests sent.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::Value;

use super::error::KeyVaultError;
use super::permission::Permission;
use crate::auth::{AccessToken, Credential, TokenProvider};
use crate::cloud::{Cloud, Endpoints};
use crate::graph::{GraphClient, RetryEvent, RetryObserver, RetryPolicy, parse_retry_after};
use crate::http::describe_reqwest;
use keyroll_proto::clock::Clock;

/// The REST API version this client speaks (the shapes used are the same from 7.0 on).
pub const API_VERSION: &str = "7.4";

/// A Key Vault client. Cheap to clone; clones share the token cache and the call count.
#[derive(Clone)]
pub struct KeyVaultClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    tokens: Arc<TokenProvider>,
    cloud: Cloud,
    clock: Arc<dyn Clock>,
    retry: RetryPolicy,
    observers: Vec<Arc<dyn RetryObserver>>,
    calls: AtomicU64,
}

impl std::fmt::Debug for KeyVaultClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyVaultClient")
            .field("cloud", &self.inner.cloud)
            .field("tokens", &self.inner.tokens)
            .finish_non_exhaustive()
    }
}

/// What one request is about, to name it in a refusal.
pub(crate) struct Subject<'a> {
    /// The vault.
    pub vault: &'a str,
    /// `certificate` or `key`.
    pub what: &'static str,
    /// The object's name.
    pub name: &'a str,
    /// Its version, when one was named.
    pub version: Option<&'a str>,
    /// The permission the request needs.
    pub permission: Permission,
}

/// A successful answer.
pub(crate) struct Answer {
    pub body: Value,
    pub retry_after: Option<Duration>,
}

impl KeyVaultClient {
    /// A client getting its tokens from `tokens` (a provider for the cloud's vault resource: see
    /// [`KeyVaultClient::for_connection`]), sending with `http`.
    pub fn new(
        http: reqwest::Client,
        tokens: Arc<TokenProvider>,
        cloud: Cloud,
        clock: Arc<dyn Clock>,
    ) -> Self {
        KeyVaultClient {
            inner: Arc::new(Inner {
                http,
                tokens,
                cloud,
                clock,
                retry: RetryPolicy::default(),
                observers: Vec::new(),
                calls: AtomicU64::new(0),
            }),
        }
    }

    /// A client with the connection's HTTP client (its TLS roots and proxy) and credential (the app's
    /// certificate, a managed identity), asking tokens for the cloud's vault resource
    /// ([`TokenProvider::for_resource`]). A connection signing in with a given Graph token has no vault token:
    /// the first request says so ([`crate::auth::AuthError::GivenTokenIsForGraph`]); use
    /// [`KeyVaultClient::with_access_token`].
    pub fn for_connection(graph: &GraphClient) -> Self {
        let cloud = graph.endpoints().cloud;
        let tokens = Arc::new(graph.tokens().for_resource(cloud.vault_resource()));
        Self::new(graph.http().clone(), tokens, cloud, graph.clock().clone())
    }

    /// A client sending `token`, an access token for the vault obtained elsewhere, with the connection's HTTP
    /// client.
    pub fn with_access_token(graph: &GraphClient, token: &str) -> Self {
        Self::with_token_over(
            graph.http().clone(),
            graph.endpoints().clone(),
            graph.clock().clone(),
            token,
        )
    }

    /// A client sending `token` (an access token for the vault) with `http`, for `endpoints`' cloud.
    pub fn with_token_over(
        http: reqwest::Client,
        endpoints: Endpoints,
        clock: Arc<dyn Clock>,
        token: &str,
    ) -> Self {
        // A given token has no known expiry: the vault is the judge.
        let token = AccessToken::new(
            token.trim().to_string(),
            clock.now() + time::Duration::hours(1),
        );
        let cloud = endpoints.cloud;
        let tokens = Arc::new(TokenProvider::new(
            Credential::Token(token),
            endpoints,
            http.clone(),
            clock.clone(),
        ));
        Self::new(http, tokens, cloud, clock)
    }

    /// Sets the retry bounds.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.retry = retry;
        }
        self
    }

    /// Adds an observer of retries (before the client is cloned).
    pub fn with_retry_observer(mut self, observer: Arc<dyn RetryObserver>) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.observers.push(observer);
        }
        self
    }

    /// Requests sent to vaults through this client and its clones (retries and challenge answers included).
    pub fn calls(&self) -> u64 {
        self.inner.calls.load(Ordering::Relaxed)
    }

    /// The cloud, whose vault resource tokens are for.
    pub fn cloud(&self) -> Cloud {
        self.inner.cloud
    }

    /// The resource tokens are requested for.
    pub fn resource(&self) -> &'static str {
        self.inner.cloud.vault_resource()
    }

    /// Sends one logical request, retrying 429 (and, when `repeatable`, 5xx and lost answers) within the retry
    /// policy, answering the 401 challenge once. `path` starts with `/` (a query may follow; `api-version` is added
    /// unless it is there).
    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        subject: &Subject<'_>,
        repeatable: bool,
    ) -> Result<Answer, KeyVaultError> {
        // A next link carries its own query (api-version included).
        let url = if path.contains("api-version=") {
            format!("{}{path}", subject.vault)
        } else if path.contains('?') {
            format!("{}{path}&api-version={API_VERSION}", subject.vault)
        } else {
            format!("{}{path}?api-version={API_VERSION}", subject.vault)
        };
        let retry = self.inner.retry;
        let started = Instant::now();
        let mut attempt = 0u32;
        let mut refreshed = false;
        loop {
            attempt += 1;
            let token = self
                .inner
                .tokens
                .token()
                .await
                .map_err(|source| KeyVaultError::Token {
                    resource: self.resource().to_string(),
                    source: Box::new(source),
                })?;
            let mut request = self
                .inner
                .http
                .request(method.clone(), &url)
                .bearer_auth(token.secret());
            if let Some(b) = body {
                request = request.json(b);
            }
            self.inner.calls.fetch_add(1, Ordering::Relaxed);
            let may_retry = |attempt: u32| {
                attempt < retry.max_attempts && started.elapsed() < retry.max_elapsed
            };
            let response = match request.send().await {
                Ok(r) => r,
                Err(e) => {
                    let detail = describe_reqwest(&e);
                    // A request that never connected was not received: safe to send again.
                    if (repeatable || e.is_connect()) && may_retry(attempt) {
                        self.pause(&method, path, None, &detail, None, attempt)
                            .await;
                        continue;
                    }
                    return Err(KeyVaultError::Transport { url, detail });
                }
            };
            let status = response.status().as_u16();
            let header = |name: &str| {
                response
                    .headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            };
            let request_ids: Vec<String> = header("x-ms-request-id").into_iter().collect();
            let retry_after =
                header("retry-after").and_then(|v| parse_retry_after(&v, self.inner.clock.now()));
            let challenge = header("www-authenticate");
            let bytes = response
                .bytes()
                .await
                .map_err(|e| KeyVaultError::Transport {
                    url: url.clone(),
                    detail: describe_reqwest(&e),
                })?;
            if (200..300).contains(&status) {
                let body = if bytes.is_empty() {
                    Value::Null
                } else {
                    serde_json::from_slice(&bytes).map_err(|e| KeyVaultError::InvalidResponse {
                        url: url.clone(),
                        detail: format!("status {status}, not JSON: {e}"),
                    })?
                };
                return Ok(Answer { body, retry_after });
            }
            let (code, message) = service_error(&bytes);
            let refusal = Refusal {
                status,
                code,
                message,
                request_ids,
                challenge,
            };
            match self.judge(refusal, subject, refreshed) {
                Next::Refresh => {
                    refreshed = true;
                    self.inner.tokens.invalidate().await;
                }
                Next::Busy { reason, .. }
                    if (status == 429 || repeatable) && may_retry(attempt) =>
                {
                    self.pause(&method, path, Some(status), &reason, retry_after, attempt)
                        .await;
                }
                Next::Busy { error, .. } => return Err(error),
                Next::Fail(e) => return Err(e),
            }
        }
    }

    /// What a refusal means: a token to fetch again (the first 401 whose challenge names the cloud's vault
    /// resource), a busy service (429, 5xx), or an error naming the problem and the fix.
    fn judge(&self, r: Refusal, subject: &Subject<'_>, refreshed: bool) -> Next {
        let vault = subject.vault.to_string();
        let expected = self.resource();
        match r.status {
            401 => {
                if let Some(challenged) = r.challenge.as_deref().and_then(challenge_resource)
                    && !same_resource(&challenged, expected)
                {
                    return Next::Fail(KeyVaultError::UnexpectedChallenge {
                        vault,
                        challenged,
                        expected: expected.to_string(),
                    });
                }
                if !refreshed {
                    // The challenge names the resource whose token was sent: the cached one may have expired or
                    // been revoked, so one fresh token is tried.
                    return Next::Refresh;
                }
                Next::Fail(KeyVaultError::Unauthorized {
                    vault,
                    resource: expected.to_string(),
                    service: r.message,
                    request_ids: r.request_ids,
                })
            }
            403 => Next::Fail(KeyVaultError::Forbidden {
                vault,
                permission: subject.permission,
                service: r.message,
                request_ids: r.request_ids,
            }),
            404 => Next::Fail(KeyVaultError::NotFound {
                vault,
                what: subject.what,
                name: subject.name.to_string(),
                version: subject.version.map(str::to_string),
                request_ids: r.request_ids,
            }),
            429 | 500..=599 => Next::Busy {
                reason: if r.status == 429 {
                    "throttled (429)".to_string()
                } else {
                    format!("service busy ({} {})", r.status, r.code)
                },
                error: r.into_error(vault),
            },
            _ => Next::Fail(r.into_error(vault)),
        }
    }

    async fn pause(
        &self,
        method: &Method,
        path: &str,
        status: Option<u16>,
        reason: &str,
        retry_after: Option<Duration>,
        attempt: u32,
    ) {
        let delay = retry_after
            .unwrap_or_else(|| self.inner.retry.backoff(attempt))
            .min(self.inner.retry.max_delay);
        let event = RetryEvent {
            operation: format!("{method} {path}"),
            status,
            reason: reason.to_string(),
            delay,
            retry_after,
            attempt,
        };
        for o in &self.inner.observers {
            o.retrying(&event);
        }
        tokio::time::sleep(delay).await;
    }
}

/// A refusal of the vault, as read from the answer.
struct Refusal {
    status: u16,
    code: String,
    message: String,
    request_ids: Vec<String>,
    challenge: Option<String>,
}

impl Refusal {
    /// The refusal as the vault's error, as it is.
    fn into_error(self, vault: String) -> KeyVaultError {
        KeyVaultError::Service {
            vault,
            status: self.status,
            code: self.code,
            message: self.message,
            request_ids: self.request_ids,
        }
    }
}

/// What to do after a refusal.
enum Next {
    /// Fetch a fresh token and send again.
    Refresh,
    /// The service is busy: send again after a pause while the retry budget lasts (`reason` for the
    /// observers), else give up with `error`.
    Busy {
        reason: String,
        error: KeyVaultError,
    },
    /// Give up with this error.
    Fail(KeyVaultError),
}

/// The service's `{"error":{"code","message"}}`, or the status line's words.
fn service_error(body: &[u8]) -> (String, String) {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let error = parsed.as_ref().and_then(|v| v.get("error"));
    let text = |key: &str| {
        error
            .and_then(|e| e.get(key))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let code = text("code").unwrap_or_else(|| "Unknown".into());
    let message = text("message").unwrap_or_else(|| {
        String::from_utf8_lossy(body)
            .chars()
            .take(200)
            .collect::<String>()
    });
    (code, message)
}

/// The resource a `WWW-Authenticate: Bearer authorization="…", resource="…"` (or `scope="…/.default"`)
/// challenge names; `None` when it names none.
pub(crate) fn challenge_resource(header: &str) -> Option<String> {
    let rest = header.trim();
    let params = match rest.split_once(char::is_whitespace) {
        Some((scheme, params)) if scheme.eq_ignore_ascii_case("bearer") => params,
        _ => return None,
    };
    let mut resource = None;
    let mut scope = None;
    for part in params.split(',') {
        let Some((key, value)) = part.split_once('=') else {
            continue;
        };
        let value = value.trim().trim_matches('"').to_string();
        match key.trim().to_ascii_lowercase().as_str() {
            "resource" => resource = Some(value),
            "scope" => scope = Some(value),
            _ => {}
        }
    }
    resource.or(scope).filter(|r| !r.is_empty())
}

/// Whether a challenged resource (or scope) is `expected`: case, a trailing slash and `/.default` aside.
pub(crate) fn same_resource(challenged: &str, expected: &str) -> bool {
    let norm = |s: &str| {
        let s = s.trim().to_ascii_lowercase();
        let s = s.strip_suffix("/.default").unwrap_or(&s).to_string();
        s.trim_end_matches('/').to_string()
    };
    norm(challenged) == norm(expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_names_the_resource_or_the_scope() {
        assert_eq!(
            challenge_resource(
                "Bearer authorization=\"https://login.microsoftonline.com/72f988bf\", resource=\"https://vault.azure.net\""
            )
            .as_deref(),
            Some("https://vault.azure.net")
        );
        assert_eq!(
            challenge_resource(
                "Bearer authorization=\"https://login.microsoftonline.com/t\", scope=\"https://vault.azure.net/.default\""
            )
            .as_deref(),
            Some("https://vault.azure.net/.default")
        );
        assert_eq!(challenge_resource("Basic realm=\"x\""), None);
        assert!(same_resource(
            "https://vault.azure.net/.default",
            "https://vault.azure.net"
        ));
        assert!(same_resource(
            "HTTPS://VAULT.AZURE.NET/",
            "https://vault.azure.net"
        ));
        assert!(!same_resource(
            "https://graph.microsoft.com",
            "https://vault.azure.net"
        ));
        assert!(!same_resource(
            "https://vault.azure.net.evil.example",
            "https://vault.azure.net"
        ));
    }

    #[test]
    fn service_errors_are_read_from_the_envelope() {
        let (code, message) = service_error(
            br#"{"error":{"code":"Forbidden","message":"no sign permission","innererror":{"code":"AccessDenied"}}}"#,
        );
        assert_eq!(code, "Forbidden");
        assert_eq!(message, "no sign permission");
        let (code, message) = service_error(b"<html>bad gateway</html>");
        assert_eq!(code, "Unknown");
        assert!(message.contains("bad gateway"));
    }
}
