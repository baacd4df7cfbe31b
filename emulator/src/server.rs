//! Serving: a loopback listener, optional TLS, HTTP/1.1, and a per-connection handle that lets a handler
//! drop its own connection without answering (the drop-after-commit fault).
//!
//! Every connection is bounded, so that no client — slow, idle or hostile — can hold the emulator's file
//! descriptors or memory for ever (see [`ConnectionLimits`]):
//!
//! * at most `max_connections` are served at once. A connection arriving at the cap takes the place of the
//!   connection idle the longest (in its TLS handshake, or waiting for or reading a request head: it has no
//!   request being handled), which is closed. When every connection is busy with a request, the new one is
//!   *held*: no other is accepted until one ends, and later clients wait in the kernel's listen backlog.
//!   Closing an idle connection costs its client nothing it asked for (a kept-alive client reconnects), while
//!   refusing the newcomer would stop the emulator answering anyone as soon as idle or slow clients fill it;
//!   holding rather than refusing keeps busy clients' requests whole and the process below its
//!   file-descriptor limit (one descriptor beyond the cap at most; backlogged connections cost none), and a
//!   held client is served as soon as a request ends, which every request does within the timeouts below;
//! * the TLS handshake must finish within `tls_handshake_timeout`;
//! * a request head must arrive within `header_read_timeout` of the connection opening or of the previous
//!   response — this is also the keep-alive idle timeout (hyper starts the timer when it starts waiting for
//!   the next head);
//! * a request body must arrive within `body_read_timeout` (see `app::bounded_body`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
pub struct ConnectionControl(Arc<Connection>);

impl ConnectionControl {
    /// Closes the connection at once: the client sees it end with no response.
    pub fn drop_connection(&self) {
        self.0.kill.notify_one();
    }
}

/// What the accept loop knows of one connection: whether it is idle (in its TLS handshake, or waiting for
/// or reading a request head) and since when, and how to close it.
#[derive(Debug)]
struct Connection {
    /// The registry's epoch, which `idle_since_ms` counts from.
    epoch: Instant,
    /// Milliseconds since `epoch` at which the connection became idle; [`BUSY`] while a request is being
    /// handled.
    idle_since_ms: AtomicU64,
    kill: Notify,
}

const BUSY: u64 = u64::MAX;

fn millis_since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_millis()).unwrap_or(BUSY - 1)
}

impl Connection {
    fn busy(&self) {
        self.idle_since_ms.store(BUSY, Ordering::Relaxed);
    }

    fn idle(&self) {
        self.idle_since_ms
            .store(millis_since(self.epoch), Ordering::Relaxed);
    }
}

/// The connections being served, so that at the cap the longest-idle one can make room for a new one.
#[derive(Debug)]
struct Registry {
    epoch: Instant,
    next_id: AtomicU64,
    conns: Mutex<HashMap<u64, Arc<Connection>>>,
}

impl Registry {
    fn enter(self: &Arc<Self>) -> (Arc<Connection>, Leave) {
        let conn = Arc::new(Connection {
            epoch: self.epoch,
            idle_since_ms: AtomicU64::new(millis_since(self.epoch)),
            kill: Notify::new(),
        });
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut m) = self.conns.lock() {
            m.insert(id, conn.clone());
        }
        (
            conn,
            Leave {
                registry: self.clone(),
                id,
            },
        )
    }

    /// Closes the connection idle the longest; `false` when every connection is busy with a request.
    fn evict_longest_idle(&self) -> bool {
        let Ok(m) = self.conns.lock() else {
            return false;
        };
        // Ties (the same millisecond) go to the connection accepted first.
        let oldest = m
            .iter()
            .map(|(id, c)| (c.idle_since_ms.load(Ordering::Relaxed), *id, c))
            .filter(|(since, _, _)| *since != BUSY)
            .min_by_key(|(since, id, _)| (*since, *id));
        match oldest {
            Some((_, _, c)) => {
                // Marked busy so that it is not chosen twice while it closes.
                c.busy();
                c.kill.notify_one();
                true
            }
            None => false,
        }
    }
}

/// Removes a connection from the registry when its task ends, however it ends.
struct Leave {
    registry: Arc<Registry>,
    id: u64,
}

impl Drop for Leave {
    fn drop(&mut self) {
        if let Ok(mut m) = self.registry.conns.lock() {
            m.remove(&self.id);
        }
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
    let registry = Arc::new(Registry {
        epoch: Instant::now(),
        next_id: AtomicU64::new(0),
        conns: Mutex::new(HashMap::new()),
    });
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => break,
        };
        // Reap finished connection tasks so the set does not grow without bound.
        while connections.try_join_next().is_some() {}
        let Ok((stream, _peer)) = accepted else {
            // Out of file descriptors or similar: back off briefly instead of spinning.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        // At the cap: make room by closing the longest-idle connection; when all are busy with requests,
        // hold this one (and accept no other) until one ends.
        let permit = match slots.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                registry.evict_longest_idle();
                tokio::select! {
                    p = slots.clone().acquire_owned() => match p {
                        Ok(p) => p,
                        Err(_) => break,
                    },
                    _ = shutdown.changed() => break,
                }
            }
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let tls = tls.clone();
        let (conn, leave) = registry.enter();
        connections.spawn(async move {
            let _permit = permit;
            let _leave = leave;
            let work = async {
                match tls {
                    Some(acceptor) => {
                        let handshake = tokio::time::timeout(
                            limits.tls_handshake_timeout,
                            acceptor.accept(stream),
                        );
                        if let Ok(Ok(s)) = handshake.await {
                            serve_connection(TokioIo::new(s), router, limits, conn.clone()).await;
                        }
                    }
                    None => {
                        serve_connection(TokioIo::new(stream), router, limits, conn.clone()).await
                    }
                }
            };
            tokio::select! {
                _ = work => {}
                _ = conn.kill.notified() => {}
            }
        });
    }
    connections.abort_all();
}

async fn serve_connection<I>(io: I, router: Router, limits: ConnectionLimits, conn: Arc<Connection>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let control = ConnectionControl(conn);
    let service =
        hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
            let c = control.0.clone();
            c.busy();
            req.extensions_mut().insert(control.clone());
            let response = router.clone().oneshot(req.map(axum::body::Body::new));
            async move {
                let r = response.await;
                // Idle again once answered: the next head is awaited.
                c.idle();
                r
            }
        });
    let _ = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true)
        .serve_connection(io, service)
        .await;
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
