//! The HTTP transport settings: extra trusted roots, proxy, timeouts. Building the client is explicit so that
//! nothing in core opens a connection the caller did not configure.

use std::time::Duration;

/// How to reach the service.
#[derive(Clone, Default)]
pub struct HttpOptions {
    /// PEM text of extra root certificates to trust (e.g. the emulator's CA). The system roots stay trusted.
    pub extra_roots_pem: Option<Vec<u8>>,
    /// An explicit proxy URL. Without it, the standard `HTTP_PROXY` / `HTTPS_PROXY` / `ALL_PROXY` / `NO_PROXY`
    /// variables apply. (Passed explicitly by hosts such as .NET, whose environment changes never reach this
    /// library.) Either way, loopback destinations never go through it: see [`LOOPBACK_NO_PROXY`].
    pub proxy: Option<String>,
    /// Connect timeout (default 10 s).
    pub connect_timeout: Option<Duration>,
    /// Whole-request timeout (default 30 s).
    pub request_timeout: Option<Duration>,
}

impl std::fmt::Debug for HttpOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpOptions")
            .field(
                "extra_roots",
                &self.extra_roots_pem.as_ref().map(|_| "<pem>"),
            )
            // A proxy URL may carry credentials: show only that one is set.
            .field("proxy", &self.proxy.as_ref().map(|_| "<set>"))
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .finish()
    }
}

/// Why the HTTP client could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpSetupError {
    /// The CA file is not PEM certificates.
    #[error(
        "the CA certificate file is not PEM certificates ({0}); give the PEM file the emulator printed as ca_cert"
    )]
    BadRoots(String),
    /// The proxy URL is invalid (the explicit one, or a proxy variable: the text names which).
    #[error("the proxy URL is invalid ({0}); use http://host:port")]
    BadProxy(String),
    /// The TLS stack refused the configuration.
    #[error("cannot set up HTTPS ({0})")]
    Tls(String),
}

impl HttpSetupError {
    /// The kind of failure: the roots, proxy or TLS settings the caller gave.
    pub fn kind(&self) -> keyroll_proto::ErrorKind {
        keyroll_proto::ErrorKind::Input
    }
}

/// Destinations that never go through a proxy, whatever the settings: this machine (`127.0.0.0/8`, `::1`,
/// `localhost`). A loopback service (the emulator) is often plain http, so a proxy in between would receive the
/// `Authorization: Bearer` token, the client assertion and the proof in clear text — and a proxy cannot reach
/// this machine's loopback anyway. Added to every proxy's exclusion list, after the user's `NO_PROXY`.
pub const LOOPBACK_NO_PROXY: &str = "127.0.0.0/8,::1,localhost";

/// Redirects followed at most (the HTTP library's default).
const MAX_REDIRECTS: usize = 10;

/// Default connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default whole-request timeout.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The client for managed-identity endpoints: the same trust and timeouts, and never a proxy (explicit or from
/// the environment) — those endpoints are local, often plain http, and carry a secret header.
pub fn build_identity_client(options: &HttpOptions) -> Result<reqwest::Client, HttpSetupError> {
    let direct = HttpOptions {
        proxy: None,
        ..options.clone()
    };
    builder(&direct)?
        .no_proxy()
        .build()
        .map_err(|e| HttpSetupError::Tls(e.to_string()))
}

/// Builds the HTTP client. HTTPS certificates are always verified; loopback never goes through a proxy; a
/// redirect to plain http on another host is refused.
pub fn build_client(options: &HttpOptions) -> Result<reqwest::Client, HttpSetupError> {
    build_client_with_env(options, &|name| std::env::var(name).ok())
}

/// [`build_client`] with the proxy variables read through `env` (tests pass their own; nothing else reads the
/// environment here).
pub fn build_client_with_env(
    options: &HttpOptions,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<reqwest::Client, HttpSetupError> {
    let mut b = builder(options)?
        // The library's own proxy choice (from the environment) knows no loopback exemption: it sent requests
        // for http://127.0.0.1 through HTTP_PROXY / ALL_PROXY, bearer token in clear. Proxies are set here.
        .no_proxy()
        .redirect(reqwest::redirect::Policy::custom(redirect_policy));
    for proxy in proxies(options, env)? {
        b = b.proxy(proxy);
    }
    b.build().map_err(|e| HttpSetupError::Tls(e.to_string()))
}

/// Follows a redirect only where a token may go: https anywhere, plain http only on loopback (the rule of
/// `cloud::check_url`, which vets the configured URLs; a redirect would otherwise bypass it and carry the
/// request body — a proof — to a plain-http host).
fn redirect_policy(attempt: reqwest::redirect::Attempt<'_>) -> reqwest::redirect::Action {
    if attempt.previous().len() >= MAX_REDIRECTS {
        return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
    }
    let url = attempt.url();
    if url.scheme() == "https" || (url.scheme() == "http" && crate::cloud::is_loopback(url)) {
        attempt.follow()
    } else {
        let refused = format!(
            "refused a redirect to {}://{}: tokens and proofs only travel over https (plain http only to loopback)",
            url.scheme(),
            url.host_str().unwrap_or("")
        );
        attempt.error(refused)
    }
}

/// The first non-empty value of `names`, with the name it came from.
fn first_var(
    env: &dyn Fn(&str) -> Option<String>,
    names: [&'static str; 2],
) -> Option<(&'static str, String)> {
    names.into_iter().find_map(|n| {
        env(n)
            .filter(|v| !v.trim().is_empty())
            .map(|v| (n, v.trim().to_owned()))
    })
}

/// The proxies to use, each excluding loopback: the explicit one, else those of the standard variables
/// (`HTTP_PROXY` for http, `HTTPS_PROXY` for https, `ALL_PROXY` for both; upper case first, as curl does;
/// none at all in a CGI process, where `HTTP_PROXY` comes from a request header).
fn proxies(
    options: &HttpOptions,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<reqwest::Proxy>, HttpSetupError> {
    if let Some(p) = &options.proxy {
        // A scheme the HTTP library would take as a host name or ignore (ftp://, a bare word) is named here; the
        // URL itself is never quoted (it may carry credentials).
        if let Ok(u) = url::Url::parse(p.trim())
            && !matches!(u.scheme(), "http" | "https")
        {
            return Err(HttpSetupError::BadProxy(format!(
                "its scheme {:?} is not http or https",
                u.scheme()
            )));
        }
        let proxy =
            reqwest::Proxy::all(p).map_err(|e| HttpSetupError::BadProxy(proxy_error(&e)))?;
        return Ok(vec![
            proxy.no_proxy(reqwest::NoProxy::from_string(LOOPBACK_NO_PROXY)),
        ]);
    }
    if env("REQUEST_METHOD").is_some() {
        return Ok(Vec::new());
    }
    let no_proxy = match first_var(env, ["NO_PROXY", "no_proxy"]) {
        Some((_, list)) => format!("{list},{LOOPBACK_NO_PROXY}"),
        None => LOOPBACK_NO_PROXY.to_owned(),
    };
    /// Makes a proxy for one kind of destination from a URL.
    type MakeProxy = fn(String) -> reqwest::Result<reqwest::Proxy>;
    let kinds: [([&'static str; 2], MakeProxy); 3] = [
        (["HTTP_PROXY", "http_proxy"], reqwest::Proxy::http),
        (["HTTPS_PROXY", "https_proxy"], reqwest::Proxy::https),
        (["ALL_PROXY", "all_proxy"], reqwest::Proxy::all),
    ];
    let mut out = Vec::new();
    for (names, make) in kinds {
        if let Some((name, url)) = first_var(env, names) {
            // The value may carry credentials: name the variable, never quote it.
            let proxy = make(url)
                .map_err(|e| HttpSetupError::BadProxy(format!("{name}: {}", proxy_error(&e))))?;
            out.push(proxy.no_proxy(reqwest::NoProxy::from_string(&no_proxy)));
        }
    }
    Ok(out)
}

/// Why the HTTP library refused a proxy URL: its error and the causes under it, without the URL it may quote
/// (`… for url (…)`), which may carry credentials.
fn proxy_error(e: &reqwest::Error) -> String {
    let mut parts = Vec::new();
    let mut current: Option<&dyn std::error::Error> = Some(e);
    while let Some(err) = current {
        let text = err.to_string();
        parts.push(text.split(" for url").next().unwrap_or(&text).to_owned());
        current = err.source();
    }
    parts.dedup();
    // "builder error" says nothing the cause under it does not say better.
    if parts.len() > 1 {
        parts.retain(|p| p != "builder error");
    }
    parts.join(": ")
}

fn builder(options: &HttpOptions) -> Result<reqwest::ClientBuilder, HttpSetupError> {
    let mut b = reqwest::Client::builder()
        .user_agent(concat!("keyroll/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(options.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT))
        .timeout(options.request_timeout.unwrap_or(DEFAULT_REQUEST_TIMEOUT))
        .pool_max_idle_per_host(16);
    if let Some(pem) = &options.extra_roots_pem {
        let certs = reqwest::Certificate::from_pem_bundle(pem)
            .map_err(|e| HttpSetupError::BadRoots(e.to_string()))?;
        if certs.is_empty() {
            return Err(HttpSetupError::BadRoots("no certificate found".into()));
        }
        b = b.tls_certs_merge(certs);
    }
    Ok(b)
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
const UNTRUSTED_CERTIFICATE_HINT: &str = "the server's TLS certificate is not trusted: for the emulator trust its CA file (the extra CA certificate setting); behind a TLS-inspecting proxy, its CA";

/// Whether a transport failure is the TLS certificate check: not transient, so not worth retrying.
pub(crate) fn is_certificate_failure(detail: &str) -> bool {
    let d = detail.to_ascii_lowercase();
    d.contains("certificate") || d.contains("unknownissuer")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    const TOKEN: &str = "bearer-secret-3f1c9a";

    /// A listener on 127.0.0.1 that records the head of every request it gets and answers `answer`.
    struct Recorder {
        port: u16,
        seen: Arc<Mutex<Vec<String>>>,
    }

    impl Recorder {
        async fn start(answer: &'static str) -> Recorder {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            let seen = Arc::new(Mutex::new(Vec::new()));
            let log = seen.clone();
            tokio::spawn(async move {
                while let Ok((mut sock, _)) = listener.accept().await {
                    let log = log.clone();
                    tokio::spawn(async move {
                        let mut buf = Vec::new();
                        let mut chunk = [0u8; 4096];
                        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                            match sock.read(&mut chunk).await {
                                Ok(0) | Err(_) => break,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                        }
                        log.lock()
                            .unwrap()
                            .push(String::from_utf8_lossy(&buf).into_owned());
                        let _ = sock.write_all(answer.as_bytes()).await;
                        let _ = sock.shutdown().await;
                    });
                }
            });
            Recorder { port, seen }
        }
        fn seen(&self) -> Vec<String> {
            self.seen.lock().unwrap().clone()
        }
    }

    const OK: &str = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok";
    const BAD_GATEWAY: &str =
        "HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";

    fn env_of(vars: &[(&str, String)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        move |k| map.get(k).cloned()
    }

    /// One way to set a proxy: its name, the options, the environment.
    type Setup = (String, HttpOptions, Vec<(&'static str, String)>);

    /// Every way a proxy is set: each variable alone, and the explicit option.
    fn setups(proxy: &str) -> Vec<Setup> {
        let mut out: Vec<_> = [
            "HTTP_PROXY",
            "http_proxy",
            "HTTPS_PROXY",
            "https_proxy",
            "ALL_PROXY",
            "all_proxy",
        ]
        .into_iter()
        .map(|v| {
            (
                v.to_string(),
                HttpOptions::default(),
                vec![(v, proxy.to_string())],
            )
        })
        .collect();
        out.push((
            "explicit proxy option".into(),
            HttpOptions {
                proxy: Some(proxy.to_string()),
                ..HttpOptions::default()
            },
            Vec::new(),
        ));
        out
    }

    #[tokio::test]
    async fn bearer_token_in_clear_through_a_proxy_to_loopback() {
        let proxy = Recorder::start(BAD_GATEWAY).await;
        let target = Recorder::start(OK).await;
        let proxy_url = format!("http://127.0.0.1:{}", proxy.port);
        let mut sent = 0;
        for (name, options, vars) in setups(&proxy_url) {
            let client = build_client_with_env(&options, &env_of(&vars)).unwrap();
            for host in ["127.0.0.1", "localhost", "127.0.0.2"] {
                let url = format!("http://{host}:{}/v1.0/applications", target.port);
                let r = client.get(&url).bearer_auth(TOKEN).send().await;
                let status = r.map(|r| r.status().as_u16());
                // 127.0.0.2 is loopback too, but not every system routes it; what matters is the proxy.
                if host != "127.0.0.2" {
                    assert_eq!(status.ok(), Some(200), "{name}: {url}");
                    sent += 1;
                }
            }
            assert!(
                proxy.seen().is_empty(),
                "{name}: loopback requests reached the proxy: {:?}",
                proxy.seen()
            );
        }
        assert!(target.seen().len() >= sent);
        assert!(target.seen().iter().all(|r| r.contains(TOKEN)));
    }

    #[tokio::test]
    async fn https_to_a_remote_host_still_goes_through_the_proxy_by_connect() {
        let proxy = Recorder::start(BAD_GATEWAY).await;
        let proxy_url = format!("http://127.0.0.1:{}", proxy.port);
        let cases = setups(&proxy_url)
            .into_iter()
            .filter(|(name, _, _)| !name.eq_ignore_ascii_case("http_proxy"))
            .collect::<Vec<_>>();
        for (name, options, vars) in &cases {
            let before = proxy.seen().len();
            let client = build_client_with_env(options, &env_of(vars)).unwrap();
            // The proxy answers 502 to the CONNECT: the request fails, and nothing was resolved or sent here.
            let r = client
                .get("https://graph.example.invalid/v1.0/applications")
                .bearer_auth(TOKEN)
                .send()
                .await;
            assert!(r.is_err(), "{name}");
            let seen = proxy.seen();
            assert_eq!(seen.len(), before + 1, "{name}: {seen:?}");
            let head = &seen[before];
            assert!(
                head.starts_with("CONNECT graph.example.invalid:443 "),
                "{name}: {head:?}"
            );
            assert!(
                !head.contains(TOKEN),
                "{name}: the token reached the proxy in clear"
            );
        }
    }

    #[test]
    fn proxy_with_a_scheme_that_is_not_http_is_named_not_quoted() {
        for url in [
            "ftp://user:pw-secret@127.0.0.1:3128",
            "socks9://127.0.0.1:1080",
        ] {
            let options = HttpOptions {
                proxy: Some(url.into()),
                ..HttpOptions::default()
            };
            let e = build_client_with_env(&options, &env_of(&[])).unwrap_err();
            let text = e.to_string();
            assert!(matches!(e, HttpSetupError::BadProxy(_)), "{text}");
            assert!(text.contains("is not http or https"), "{text}");
            assert!(!text.contains("pw-secret"), "{text}");
        }
    }

    #[test]
    fn proxy_variables_are_named_not_quoted_and_ignored_under_cgi() {
        let e = build_client_with_env(
            &HttpOptions::default(),
            &env_of(&[("HTTPS_PROXY", "http://user:pw-secret@[::1".into())]),
        )
        .unwrap_err();
        let text = e.to_string();
        assert!(text.contains("HTTPS_PROXY: invalid IPv6 address"), "{text}");
        assert!(!text.contains("pw-secret"), "{text}");
        // A CGI process gets HTTP_PROXY from a request header ("httpoxy"): no variable applies there.
        let vars = [
            ("REQUEST_METHOD", "GET".to_string()),
            ("HTTP_PROXY", "http://127.0.0.1:9".to_string()),
        ];
        assert!(
            proxies(&HttpOptions::default(), &env_of(&vars))
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            proxies(&HttpOptions::default(), &env_of(&vars[1..]))
                .unwrap()
                .len(),
            1
        );
    }

    #[tokio::test]
    async fn a_redirect_to_plain_http_off_loopback_is_refused() {
        let target = Recorder::start(OK).await;
        let to_remote = Recorder::start(
            "HTTP/1.1 307 Temporary Redirect\r\nlocation: http://graph.example.invalid/v1.0/x\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
        )
        .await;
        let client = build_client_with_env(&HttpOptions::default(), &env_of(&[])).unwrap();
        let e = client
            .post(format!("http://127.0.0.1:{}/v1.0/x", to_remote.port))
            .bearer_auth(TOKEN)
            .body("{\"proof\":\"p\"}")
            .send()
            .await
            .unwrap_err();
        let text = format!("{e:?}");
        assert!(
            text.contains("refused a redirect to http://graph.example.invalid"),
            "{text}"
        );
        // To loopback, a redirect is followed.
        let location: &'static str = Box::leak(
            format!(
                "HTTP/1.1 307 Temporary Redirect\r\nlocation: http://127.0.0.1:{}/v1.0/y\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                target.port
            )
            .into_boxed_str(),
        );
        let to_local = Recorder::start(location).await;
        let r = client
            .get(format!("http://127.0.0.1:{}/v1.0/x", to_local.port))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
}
