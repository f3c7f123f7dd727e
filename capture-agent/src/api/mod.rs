//! The agent's HTTP API (port 8898): status, query, export, map, follow and metrics, behind a bearer token.
//!
//! Every request must carry `Authorization: Bearer <token>`; without it the answer is 401 and no
//! data. Query and export read the store on blocking threads and stream their answers (NDJSON in
//! time order; a PCAP), so a large window never sits in memory and capture goes on meanwhile.
//! A stream that fails midway ends with a last NDJSON line `{"streamError": "…"}`, so a client can tell
//! a cut answer from a complete one.
//!
//! No request can starve the others: a request body must arrive within [`BODY_TIMEOUT`]; filters
//! are compiled on blocking threads (never on the async workers that answer status and probes),
//! and KFL refuses one with too many regexes before compiling any; at most [`MAX_HEAVY_REQUESTS`]
//! queries, exports and maps run at once (more get 503 at once); follows are async streams that
//! touch the store only when it changed, at most `max_followers` of them; and a map answers its
//! [`MAP_EDGES`] busiest edges, the rest summed.

mod auth;
mod body;
mod changes;
mod export;
mod follow;
mod map;
mod metrics;
mod query;
mod request;
mod status;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use axum::Router;
use axum::routing::{get, post};
use tokio::sync::Semaphore;

pub use body::BODY_TIMEOUT;
pub use follow::DEFAULT_MAX_FOLLOWERS;
pub use map::MAP_EDGES;

/// Queries, exports and maps running at once; more are refused with 503 until one ends.
pub const MAX_HEAVY_REQUESTS: usize = 16;

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
    /// Permits for queries, exports and maps.
    heavy: Arc<Semaphore>,
    /// Follows open now, and the most allowed.
    followers: AtomicUsize,
    max_followers: usize,
    /// Tells follows the store changed (started with the first follow).
    changes: OnceLock<tokio::sync::watch::Receiver<u64>>,
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
                heavy: Arc::new(Semaphore::new(MAX_HEAVY_REQUESTS)),
                followers: AtomicUsize::new(0),
                max_followers: DEFAULT_MAX_FOLLOWERS,
                changes: OnceLock::new(),
            }),
        }
    }

    /// Allows at most `max` follows at once (default [`DEFAULT_MAX_FOLLOWERS`]); call before
    /// serving.
    pub fn with_max_followers(mut self, max: usize) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.max_followers = max;
        }
        self
    }

    /// Tells follows when the store changed (the watcher starts with the first follow).
    fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner
            .changes
            .get_or_init(|| {
                changes::watch_store(self.inner.store_root.clone(), Arc::clone(&self.inner.stop))
            })
            .clone()
    }

    /// The bearer token the API demands (capture keeps it out of the index).
    pub fn token(&self) -> &str {
        &self.inner.token
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
        // Runs after the token check (the last layer added runs first): no stranger's body is read.
        .layer(axum::middleware::from_fn(body::read_within_timeout))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ))
        .with_state(state)
}
