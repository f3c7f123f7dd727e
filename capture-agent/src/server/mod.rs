//! The API's HTTP server: HTTP/1.1 over hyper with the limits that keep it answering under a
//! flood, where `axum::serve` has none.
//!
//! - A connection must send a whole request head within [`HEADER_TIMEOUT`] of connecting, or of
//!   its previous answer (hyper's header-read timer runs whenever a connection waits for a head):
//!   idle and slowloris connections are closed.
//! - At most `max_connections` are open at once ([`Slots`]): past that, a newcomer displaces the
//!   oldest idle connection of the address holding the most, so a flood from one address cannot
//!   lock anyone else out, and connections serving a request are never displaced.
//! - With a certificate ([`tls`]), every connection is TLS: its handshake must end within
//!   [`HEADER_TIMEOUT`] too, and a client speaking plain HTTP is closed.
//! - On stop, every connection finishes its request in flight and closes.

mod slots;
pub mod tls;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use futures::StreamExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

pub use slots::Slots;

/// How long a connection may take to send a request head, counted from when it connected or its
/// previous answer ended.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections at most, when neither the flag nor the descriptor limit says less.
pub const DEFAULT_MAX_CONNECTIONS: usize = 2048;

/// Descriptors kept for everything else (store files, the capture, the Kubernetes watch).
const RESERVED_FDS: u64 = 256;

/// How long to wait after `accept` fails (e.g. out of descriptors) before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// The connection cap for `wanted` given this process's descriptor limit (raised to its hard
/// limit first): never so many that accepting one more leaves the store without a descriptor.
pub fn connection_cap(wanted: usize) -> usize {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum {
        limit.current = limit.maximum;
        // Raising the soft limit to the hard one needs no privilege; if refused the old one stands.
        let _ = setrlimit(Resource::Nofile, limit);
        limit = getrlimit(Resource::Nofile);
    }
    let available = limit
        .current
        .map_or(u64::MAX, |fds| fds.saturating_sub(RESERVED_FDS).max(1));
    wanted.min(usize::try_from(available).unwrap_or(usize::MAX))
}

/// Serves `app` on `listener` (over TLS with `tls`) with at most `max_connections` open, until
/// `stop` resolves; then lets requests in flight finish for up to `grace`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    max_connections: usize,
    stop: impl Future<Output = ()>,
    grace: Duration,
) {
    let tls = tls.map(TlsAcceptor::from);
    let slots = Slots::new(max_connections);
    let (stopping, stop_seen) = watch::channel(false);
    let mut stop = std::pin::pin!(stop);
    loop {
        let accepted = tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!("API: cannot accept a connection: {e}");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        // Refused (every connection busy): dropping the stream closes it.
        if let Some(slot) = slots.admit(peer.ip()) {
            let (app, stop_seen) = (app.clone(), stop_seen.clone());
            match &tls {
                Some(tls) => {
                    tokio::spawn(handshake(tls.clone(), stream, peer, slot, app, stop_seen));
                }
                None => {
                    tokio::spawn(connection(stream, peer, slot, app, stop_seen));
                }
            }
        }
    }
    let _ = stopping.send(true);
    drop((listener, stop_seen));
    let deadline = tokio::time::Instant::now() + grace;
    while stopping.receiver_count() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if stopping.receiver_count() > 0 {
        eprintln!(
            "stopping with API requests still open after {}s",
            grace.as_secs()
        );
    }
}

/// Completes the TLS handshake within [`HEADER_TIMEOUT`] (closing the connection if it fails,
/// stalls or the connection is displaced meanwhile), then serves the connection.
async fn handshake(
    tls: TlsAcceptor,
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    slot: slots::Slot,
    app: Router,
    stop_seen: watch::Receiver<bool>,
) {
    let accepted = tokio::select! {
        accepted = tokio::time::timeout(HEADER_TIMEOUT, tls.accept(stream)) => accepted,
        () = slot.evicted() => return,
    };
    match accepted {
        Ok(Ok(stream)) => connection(stream, peer, slot, app, stop_seen).await,
        Ok(Err(e)) => tracing::debug!("API connection from {peer}: TLS handshake failed: {e}"),
        Err(_) => tracing::debug!("API connection from {peer}: no TLS handshake in time"),
    }
}

/// Serves one connection until it closes, is displaced, or the server stops (then after the
/// request in flight).
async fn connection(
    stream: impl AsyncRead + AsyncWrite + Unpin + Send + 'static,
    peer: SocketAddr,
    slot: slots::Slot,
    app: Router,
    mut stop_seen: watch::Receiver<bool>,
) {
    let slot = Arc::new(slot);
    let request_slot = Arc::clone(&slot);
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let busy = request_slot.busy();
        let app = app.clone();
        async move {
            let mut request = request.map(Body::new);
            // Handlers that share by client address (follows) find it here.
            request
                .extensions_mut()
                .insert(axum::extract::ConnectInfo(peer));
            let response = app
                .oneshot(request)
                .await
                .unwrap_or_else(|never: Infallible| match never {});
            // The connection is busy until the whole answer is sent (a follow: until it ends).
            Ok::<_, Infallible>(response.map(|body| {
                Body::from_stream(body.into_data_stream().map(move |chunk| {
                    let _ = &busy;
                    chunk
                }))
            }))
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT);
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    let mut conn = std::pin::pin!(conn);
    let stopping = async {
        while !*stop_seen.borrow() {
            if stop_seen.changed().await.is_err() {
                return;
            }
        }
    };
    let finished = tokio::select! {
        finished = conn.as_mut() => Some(finished),
        () = slot.evicted() => return,
        () = stopping => None,
    };
    let finished = match finished {
        Some(finished) => finished,
        None => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = finished {
        tracing::debug!("API connection from {peer}: {e}");
    }
}
