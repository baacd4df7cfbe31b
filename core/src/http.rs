//! The HTTP transport settings: extra trusted roots, proxy, timeouts. Building the client is explicit so that
//! nothing in core opens a connection the caller did not configure.

use std::time::Duration;

/// How to reach the service.
#[derive(Clone, Default)]
pub struct HttpOptions {
    /// PEM text of extra root certificates to trust (e.g. the emulator's CA). The system roots stay trusted.
    pub extra_roots_pem: Option<Vec<u8>>,
    /// An explicit proxy URL. Without it, the standard `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY` variables
    /// apply. (Passed explicitly by hosts such as .NET, whose environment changes never reach this library.)
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
    /// The proxy URL is invalid.
    #[error("the proxy URL is invalid ({0}); use http://host:port")]
    BadProxy(String),
    /// The TLS stack refused the configuration.
    #[error("cannot set up HTTPS ({0})")]
    Tls(String),
}

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

/// Builds the HTTP client. HTTPS certificates are always verified.
pub fn build_client(options: &HttpOptions) -> Result<reqwest::Client, HttpSetupError> {
    builder(options)?
        .build()
        .map_err(|e| HttpSetupError::Tls(e.to_string()))
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
    if let Some(p) = &options.proxy {
        let proxy = reqwest::Proxy::all(p).map_err(|e| HttpSetupError::BadProxy(e.to_string()))?;
        b = b.proxy(proxy);
    }
    Ok(b)
}
