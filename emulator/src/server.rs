//! Serving: a loopback listener, optional TLS, HTTP/1.1, and a per-connection handle that lets a handler
//! drop its own connection without answering (the drop-after-commit fault).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tower::ServiceExt;

/// Lets a handler close the connection its request came on, mid-request.
#[derive(Debug, Clone)]
pub struct ConnectionControl(Arc<Notify>);

impl ConnectionControl {
    /// Closes the connection at once: the client sees it end with no response.
    pub fn drop_connection(&self) {
        self.0.notify_one();
    }
}

/// Accepts connections until `shutdown` turns true, serving each with `router`.
pub async fn serve(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    router: Router,
    mut shutdown: watch::Receiver<bool>,
) {
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
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let tls = tls.clone();
        connections.spawn(async move {
            match tls {
                Some(acceptor) => {
                    if let Ok(s) = acceptor.accept(stream).await {
                        serve_connection(TokioIo::new(s), router).await;
                    }
                }
                None => serve_connection(TokioIo::new(stream), router).await,
            }
        });
    }
    connections.abort_all();
}

async fn serve_connection<I>(io: I, router: Router)
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
