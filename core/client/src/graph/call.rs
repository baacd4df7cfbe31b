//! One logical Graph call: the token, the request ids, the retries and what an answer means.

use std::time::{Duration, Instant};

use serde_json::Value;
use uuid::Uuid;

use super::retry::MAX_CONNECT_ATTEMPTS;
use super::{GraphClient, GraphError, ServiceError, parse_retry_after};
use crate::http::{describe_reqwest, is_certificate_failure};

pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) body: bytes::Bytes,
    pub(super) request_id: Option<String>,
    /// `Retry-After` of a 429 or 503, parsed.
    pub(super) retry_after: Option<Duration>,
    /// Requests sent for this call, this one included (retries after 429s and the like).
    pub(super) attempts: u32,
}

pub(super) enum Outcome {
    Answer(Answer),
    /// Sent, but no answer: it may or may not have been committed.
    Lost(String),
}

/// Whether a call may be repeated blindly.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Idempotency {
    Safe,
    /// addKey: after an ambiguous failure, hand control back to the caller to check first.
    CheckFirst,
}

pub(super) enum CallResult {
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

/// The attempts of one logical call so far.
struct Tries {
    started: Instant,
    attempt: u32,
    /// 429s that said when to come back: the service pacing a shared budget, not a failure.
    paced: u32,
    token_refreshed: bool,
}

impl Tries {
    fn new() -> Self {
        Tries {
            started: Instant::now(),
            attempt: 0,
            paced: 0,
            token_refreshed: false,
        }
    }
    /// What is left of the time budget.
    fn time_left(&self, retry: &super::RetryPolicy) -> Duration {
        retry.max_elapsed.saturating_sub(self.started.elapsed())
    }
    /// Whether the retry budget is spent: attempts (paced 429s not counted) or time.
    fn give_up(&self, retry: &super::RetryPolicy) -> bool {
        self.attempt - self.paced >= retry.max_attempts
            || self.started.elapsed() >= retry.max_elapsed
    }
}

/// What a non-2xx answer leads to.
enum Next {
    /// Send again after this pause.
    Again(Duration),
    /// Hand this back to the caller.
    Return(CallResult),
}

impl GraphClient {
    pub(super) async fn send_once(
        &self,
        method: &reqwest::Method,
        url: &str,
        body: Option<&Value>,
        client_request_id: &str,
        headers: &[(&str, &str)],
    ) -> Result<Outcome, GraphError> {
        let token = self.tokens.token().await?;
        let mut req = self
            .http
            .request(method.clone(), url)
            .bearer_auth(token.secret())
            .header("client-request-id", client_request_id)
            .header("Accept", "application/json");
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
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
                // A plain http:// URL to a server that speaks TLS: its answer is not HTTP, and no retry changes
                // that (the request never reached the service as a request). Said at once, with the fix.
                if is_plain_http_to_tls(url, &e) {
                    return Err(GraphError::InvalidResponse {
                        operation: format!("{method} {url}"),
                        detail: "the server answered a plain http:// request in TLS: it speaks HTTPS; use https:// in the Graph URL".into(),
                        request_id: None,
                    });
                }
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
            attempts: 1,
        }))
    }

    pub(super) fn service_error(
        &self,
        operation: &str,
        a: &Answer,
        client_request_id: &str,
    ) -> ServiceError {
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
            hint: self.hint(a.status, &code),
            code,
            message,
            request_id,
            client_request_id: client_request_id.into(),
        }
    }

    /// One logical call with retries. Returns the final 2xx answer, or the error.
    pub(super) async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        idem: Idempotency,
    ) -> Result<CallResult, GraphError> {
        self.call_with(method, path, body, idem, &[]).await
    }

    /// [`GraphClient::call`] with extra request headers (`ConsistencyLevel` for `$count`).
    pub(super) async fn call_with(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        idem: Idempotency,
        headers: &[(&str, &str)],
    ) -> Result<CallResult, GraphError> {
        let url = format!("{}/{}", self.endpoints.graph_base(), path);
        let operation = format!("{method} {path}");
        let mut tries = Tries::new();
        loop {
            tries.attempt += 1;
            // A pause set by another request never holds this one past its own time budget.
            self.throttle
                .wait_at_most(tries.time_left(&self.retry))
                .await;
            let client_request_id = Uuid::new_v4().to_string();
            let out = self
                .send_once(&method, &url, body, &client_request_id, headers)
                .await;
            let delay = match out {
                Ok(Outcome::Answer(mut a)) if (200..300).contains(&a.status) => {
                    a.attempts = tries.attempt;
                    return Ok(CallResult::Done(a));
                }
                Ok(Outcome::Answer(a)) => {
                    let err = self.service_error(&operation, &a, &client_request_id);
                    match self
                        .after_refusal(a, err, client_request_id, idem, &mut tries, &operation)
                        .await?
                    {
                        Next::Again(delay) => delay,
                        Next::Return(result) => return Ok(result),
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
                    if tries.give_up(&self.retry) {
                        return Err(GraphError::Transport {
                            operation,
                            detail,
                            client_request_id,
                        });
                    }
                    let delay = self.retry.backoff(tries.attempt);
                    self.retrying(
                        &operation,
                        None,
                        format!("no answer ({detail})"),
                        delay,
                        None,
                        tries.attempt,
                    );
                    delay
                }
                Err(GraphError::Transport {
                    operation,
                    detail,
                    client_request_id,
                }) => {
                    // Nothing was sent. A certificate that is not trusted will not become trusted; an address
                    // that refuses connections gets a few tries only.
                    if tries.give_up(&self.retry)
                        || tries.attempt >= MAX_CONNECT_ATTEMPTS
                        || is_certificate_failure(&detail)
                    {
                        return Err(GraphError::Transport {
                            operation,
                            detail,
                            client_request_id,
                        });
                    }
                    let delay = self.retry.backoff(tries.attempt);
                    self.retrying(
                        &operation,
                        None,
                        format!("not reached ({detail})"),
                        delay,
                        None,
                        tries.attempt,
                    );
                    delay
                }
                Err(e) => return Err(e),
            };
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
        }
    }

    /// What follows a non-2xx answer: a fresh token once for an expired one, the error for a final refusal,
    /// the caller's check for an ambiguous addKey, else the pause before trying again.
    async fn after_refusal(
        &self,
        a: Answer,
        err: ServiceError,
        client_request_id: String,
        idem: Idempotency,
        tries: &mut Tries,
        operation: &str,
    ) -> Result<Next, GraphError> {
        if a.status == 401 && err.code == "InvalidAuthenticationToken" && !tries.token_refreshed {
            // The token expired or was revoked between cache and call: one fresh try.
            tries.token_refreshed = true;
            self.tokens.invalidate().await;
            return Ok(Next::Again(Duration::ZERO));
        }
        if !matches!(a.status, 429 | 502 | 503 | 504) {
            return Err(GraphError::Service(Box::new(err)));
        }
        // 429 means "not processed"; other 5xx may have been committed.
        if a.status != 429 && idem == Idempotency::CheckFirst {
            return Ok(Next::Return(CallResult::Ambiguous {
                detail: format!("{} {}", a.status, err.code),
                retry_after: a.retry_after,
                client_request_id,
            }));
        }
        // A 429 with Retry-After counts against the time budget only: many requests sharing one write budget
        // each meet several of them while the batch as a whole makes progress.
        if a.status == 429 && a.retry_after.is_some() {
            tries.paced += 1;
        }
        // A wait the service asks for that ends past the time budget is not waited for: the caller hears now
        // that the service is busy, instead of hanging (and a proof expiring) meanwhile.
        let beyond_budget = a
            .retry_after
            .is_some_and(|d| tries.started.elapsed() + d > self.retry.max_elapsed);
        if tries.give_up(&self.retry) || beyond_budget {
            return Err(GraphError::RetriesExhausted {
                last: Box::new(err),
                attempts: tries.attempt,
                elapsed: tries.started.elapsed(),
            });
        }
        // Retry-After was applied to the shared throttle for 429; a 503's Retry-After is honoured here;
        // otherwise back off.
        let (delay, waits) = match (a.status, a.retry_after) {
            (429, Some(d)) => (Duration::ZERO, d),
            (_, Some(d)) => (d, d),
            _ => {
                let d = self.retry.backoff(tries.attempt);
                (d, d)
            }
        };
        let reason = match a.status {
            429 => "throttled (429)".to_string(),
            s => format!("service busy ({s} {})", err.code),
        };
        self.retrying(
            operation,
            Some(a.status),
            reason,
            waits,
            a.retry_after,
            tries.attempt,
        );
        Ok(Next::Again(delay))
    }

    /// Tells the retry observers that a request is being tried again.
    fn retrying(
        &self,
        operation: &str,
        status: Option<u16>,
        reason: String,
        delay: Duration,
        retry_after: Option<Duration>,
        attempt: u32,
    ) {
        if self.observers.is_empty() {
            return;
        }
        let event = super::RetryEvent {
            operation: operation.to_string(),
            status,
            reason,
            delay,
            retry_after,
            attempt,
        };
        self.log(|| event.to_string());
        for o in self.observers.iter() {
            o.retrying(&event);
        }
    }

    pub(super) async fn call_done(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Answer, GraphError> {
        self.call_done_with(method, path, body, &[]).await
    }

    /// [`GraphClient::call_done`] with extra request headers.
    pub(super) async fn call_done_with(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Result<Answer, GraphError> {
        match self
            .call_with(method, path, body, Idempotency::Safe, headers)
            .await?
        {
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
}

/// The service's one answer to every bad proof (as opposed to a bad access token, also a 401).
pub(super) fn is_proof_refusal(s: &ServiceError) -> bool {
    s.status == 401 && s.code == "Authentication_MissingOrMalformed"
}

/// Whether a request to a plain `http://` URL failed because the server answered in TLS (hyper reads the TLS
/// record's first bytes as an invalid HTTP version).
fn is_plain_http_to_tls(url: &str, e: &reqwest::Error) -> bool {
    if !url
        .get(..7)
        .is_some_and(|s| s.eq_ignore_ascii_case("http://"))
    {
        return false;
    }
    let mut src: Option<&dyn std::error::Error> = Some(e);
    while let Some(s) = src {
        if s.to_string().contains("invalid HTTP version") {
            return true;
        }
        src = s.source();
    }
    false
}
