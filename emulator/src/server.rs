//! Serving: a loopback listener, optional TLS, HTTP/1.1, and a per-connection handle that lets a handler
//! drop its own connection without answering (the drop-after-commit fault).
//!
//! Every connection is bounded, so that no client — slow, idle or hostile — can hold the emulator's file
//! descriptors or memory for ever (see [`ConnectionLimits`]):
//!
//! * at most `max_connections` are served at once; beyond that the accept loop *holds*: it stops calling
//!   `accept` until a connection ends, and new clients wait in the kernel's listen backlog. Holding rather
//!   than accepting-and-closing keeps the emulator below its file-descriptor limit (a backlogged connection
//!   costs the process no descriptor), and a client that waits is served as soon as a slot frees, which every
//!   slot does within the timeouts below — where a reset would look to a retrying client like a network fault;
//! * the TLS handshake must finish within `tls_handshake_timeout`;
//! * a request head must arrive within `header_read_timeout` of the connection opening or of the previous
//!   response — this is also the keep-alive idle timeout (hyper starts the timer when it starts waiting for
//!   the next head);
//! * a request body must arrive within `body_read_timeout` (see `app::bounded_body`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore, watch};
use tokio::task::JoinSet;
use tower::ServiceExt;

/// Bounds on every connection the emulator serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Connections served at once; more wait in the listen backlog until one ends.
    pub max_connections: usize,
    /// Time allowed for a complete request head, counted from the connection's start or the previous
    /// response: the idle timeout of a kept-alive connection.
    pub header_read_timeout: Duration,
    /// Time allowed for a whole request body once its head arrived.
    pub body_read_timeout: Duration,
    /// Time allowed for the TLS handshake.
    pub tls_handshake_timeout: Duration,
}

/// Descriptors kept free for the state store, the listener and the runtime when the connection cap is
/// derived from the process's file-descriptor limit.
const RESERVED_FDS: usize = 64;
/// The cap when the descriptor limit allows more: far beyond what a test or a bulk roll opens.
const DEFAULT_MAX_CONNECTIONS: usize = 1024;

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_connections: default_max_connections(),
            header_read_timeout: Duration::from_secs(20),
            body_read_timeout: Duration::from_secs(30),
            tls_handshake_timeout: Duration::from_secs(10),
        }
    }
}

/// The soft limit on open files of this process, from `/proc/self/limits` (Linux); `None` elsewhere.
fn open_files_limit() -> Option<usize> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// [`DEFAULT_MAX_CONNECTIONS`], lowered so that the cap stays [`RESERVED_FDS`] below the descriptor limit:
/// at the limit `accept` fails and the emulator could no longer answer anyone.
pub fn default_max_connections() -> usize {
    match open_files_limit() {
        Some(n) => n
            .saturating_sub(RESERVED_FDS)
            .clamp(16, DEFAULT_MAX_CONNECTIONS),
        None => DEFAULT_MAX_CONNECTIONS,
    }
}

/// Lets a handler close the connection its request came on, mid-request.
#[derive(Debug, Clone)]
pub struct ConnectionControl(Arc<Notify>);

impl ConnectionControl {
    /// Closes the connection at once: the client sees it end with no response.
    pub fn drop_connection(&self) {
        self.0.notify_one();
    }
}

/// Accepts connections until `shutdown` turns true, serving each with `router` within `limits`.
pub async fn serve(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    router: Router,
    limits: ConnectionLimits,
    mut shutdown: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut connections = JoinSet::new();
    loop {
        // Hold at the cap: no accept until a connection ends (see the module's documentation).
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = shutdown.changed() => break,
        };
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => break,
        };
        // Reap finished connection tasks so the set does not grow without bound.
        while connections.try_join_next().is_some() {}
        let Ok((stream, _peer)) = accepted else {
            // Out of file descriptors or similar: back off briefly instead of spinning.
            drop(permit);
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let tls = tls.clone();
        connections.spawn(async move {
            let _permit = permit;
            match tls {
                Some(acceptor) => {
                    let handshake =
                        tokio::time::timeout(limits.tls_handshake_timeout, acceptor.accept(stream));
                    if let Ok(Ok(s)) = handshake.await {
                        serve_connection(TokioIo::new(s), router, limits).await;
                    }
                }
                None => serve_connection(TokioIo::new(stream), router, limits).await,
            }
        });
    }
    connections.abort_all();
}

async fn serve_connection<I>(io: I, router: Router, limits: ConnectionLimits)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let kill = Arc::new(Notify::new());
    let control = ConnectionControl(kill.clone());
    let service =
        hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(control.clone());
            router.clone().oneshot(req.map(axum::body::Body::new))
        });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true)
        .serve_connection(io, service);
    tokio::select! {
        _ = conn => {}
        _ = kill.notified() => {}
    }
}

/// Binds a loopback address.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, crate::EmulatorError> {
    if !addr.ip().is_loopback() {
        return Err(crate::EmulatorError::NotLoopback { addr });
    }
    TcpListener::bind(addr)
        .await
        .map_err(|source| crate::EmulatorError::Bind { addr, source })
}
