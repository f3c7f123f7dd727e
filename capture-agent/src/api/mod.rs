//! The agent's HTTP API (port 8898): status, query, export, map, follow and metrics, behind a bearer token.
//!
//! Every request must carry `Authorization: Bearer <token>`; without it the answer is 401 and no
//! data. Query and export read the store on blocking threads and stream their answers (NDJSON in
//! time order; a PCAP), so a large window never sits in memory and capture goes on meanwhile.
//! A stream that fails midway ends with a last NDJSON line `{"streamError": "…"}`, so a client can tell
//! a cut answer from a complete one.

mod auth;
mod export;
mod follow;
mod map;
mod metrics;
mod page;
mod query;
mod request;
mod status;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::{get, post};

use crate::live::CaptureCounters;
use shark_pipeline::PipelineStats;

/// What the handlers share: where the store is, and the capture's live counters.
#[derive(Clone)]
pub struct ApiState {
    inner: Arc<StateInner>,
}

struct StateInner {
    store_root: PathBuf,
    node: String,
    token: String,
    /// Set when the agent is stopping: open streams (follow) end so the server can close.
    stop: Arc<AtomicBool>,
    capture: Mutex<Option<Arc<CaptureCounters>>>,
    pipeline: Mutex<PipelineStats>,
}

impl ApiState {
    /// State for the agent of `node`, serving the store at `store_root`, accepting `token`;
    /// streams that would go on forever (follow) end once `stop` is set.
    pub fn new(store_root: PathBuf, node: String, token: String, stop: Arc<AtomicBool>) -> Self {
        ApiState {
            inner: Arc::new(StateInner {
                store_root,
                node,
                token,
                stop,
                capture: Mutex::new(None),
                pipeline: Mutex::new(PipelineStats::default()),
            }),
        }
    }

    /// Capture has started: report its counters from now on.
    pub fn set_capture(&self, counters: Arc<CaptureCounters>) {
        *lock(&self.inner.capture) = Some(counters);
    }

    /// Whether the agent is stopping.
    fn stopping(&self) -> bool {
        self.inner.stop.load(Ordering::Relaxed)
    }

    /// The pipeline's latest counters.
    pub fn set_pipeline(&self, stats: &PipelineStats) {
        *lock(&self.inner.pipeline) = *stats;
    }
}

/// Locks a mutex whose holder may have panicked; the counters it guards are still meaningful.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The API's routes, all behind the bearer token.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/v1/status", get(status::status))
        .route("/v1/query", post(query::query))
        .route("/v1/export", post(export::export))
        .route("/v1/map", post(map::map))
        .route("/v1/follow", get(follow::follow))
        .route("/metrics", get(metrics::metrics))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ))
        .with_state(state)
}
