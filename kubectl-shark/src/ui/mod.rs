//! The dashboard (`kubectl shark ui`): a small web server that serves the page built in `ui/`
//! (embedded in the binary) and a JSON API over the same code as `query`, `map`, `export`,
//! `follow` and `status`.
//!
//! It listens on 127.0.0.1 unless told otherwise and prints `dashboard: http://HOST:PORT/?token=T`
//! with a token made for this run. Opening that URL trades the token for an HttpOnly,
//! SameSite=Strict cookie; every `/api` call without it is refused (401), and a request whose
//! `Host` is a name other than `localhost` is refused too (403), so a web page elsewhere cannot
//! reach the API through DNS rebinding.

mod api;
mod assets;
mod cluster;
mod cluster_reads;
mod clusters;
mod cursor;
mod directories;
mod guard;
mod rows;
mod source;
mod state;

use std::io::Write;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};
use axum::Router;

pub use clusters::Clusters;
pub use source::Source;
pub use state::UiState;
use state::{Inner, host_port};

/// Where to listen, and whether to open a browser there.
pub struct Listen {
    /// Address to bind.
    pub address: IpAddr,
    /// Port to bind; 0 picks a free one.
    pub port: u16,
    /// Start the user's browser on the dashboard.
    pub open: bool,
}

/// Serves the dashboard on `listen` until Ctrl-C or SIGTERM.
pub fn serve(runtime: &tokio::runtime::Runtime, source: Source, listen: &Listen) -> Result<()> {
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind((listen.address, listen.port))
            .await
            .with_context(|| format!("cannot listen on {}:{}", listen.address, listen.port))?;
        let bound = listener
            .local_addr()
            .context("cannot read the address listened on")?;
        let token = new_token()?;
        let url = format!("http://{}/?token={token}", host_port(bound));
        let state = UiState {
            inner: Arc::new(Inner {
                source,
                directories: directories::Directories::default(),
                token,
                bound,
                stop: AtomicBool::new(false),
            }),
        };
        {
            let mut out = std::io::stdout().lock();
            writeln!(out, "dashboard: {url}")?;
            out.flush()?;
        }
        if listen.open {
            open_browser(&url);
        }
        let looker = state.clone();
        tokio::spawn(async move {
            if let Source::Cluster(clusters) = looker.source() {
                clusters.keep_looking().await;
            }
        });
        let stopper = state.clone();
        axum::serve(listener, router(state))
            .with_graceful_shutdown(async move {
                stop_signal().await;
                stopper.inner.stop.store(true, Ordering::Relaxed);
            })
            .await
            .context("the dashboard's server failed")
    })
}

/// The page, its assets and the API, all behind the guard.
fn router(state: UiState) -> Router {
    Router::new()
        .nest("/api", api::router())
        .fallback(assets::serve)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::guard,
        ))
        .with_state(state)
}

/// 128 random bits as hex.
fn new_token() -> Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| anyhow::anyhow!("no randomness for the dashboard's token: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Starts the user's browser on `url` if there is one; never fails the command.
fn open_browser(url: &str) {
    let started = std::process::Command::new("xdg-open")
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    if started.is_err() {
        eprintln!("no browser to open (xdg-open is missing): open the URL above yourself");
    }
}

/// Resolves on Ctrl-C or SIGTERM.
async fn stop_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = ctrl_c.await;
        }
    }
}
