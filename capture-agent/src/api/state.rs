//! What the API's handlers share: where the store is, the token, the capture's live counters, and
//! the limits that keep one kind of request from starving the others.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use tokio::sync::Semaphore;

use super::followers::Followers;
use crate::live::CaptureCounters;
use shark_pipeline::PipelineStats;

/// Queries, exports and maps running at once; more are refused with 503 until one ends.
pub const MAX_HEAVY_REQUESTS: usize = 16;

/// Follows allowed at once unless the agent says otherwise.
pub const DEFAULT_MAX_FOLLOWERS: usize = 1024;

/// What the handlers share: where the store is, and the capture's live counters.
#[derive(Clone)]
pub struct ApiState {
    pub(super) inner: Arc<StateInner>,
}

/// The shared state itself.
pub(super) struct StateInner {
    pub(super) store_root: PathBuf,
    pub(super) node: String,
    pub(super) token: String,
    /// Set when the agent is stopping: open streams (follow) end so the server can close.
    pub(super) stop: Arc<AtomicBool>,
    pub(super) capture: Mutex<Option<Arc<CaptureCounters>>>,
    pub(super) pipeline: Mutex<PipelineStats>,
    /// Permits for queries, exports and maps.
    pub(super) heavy: Arc<Semaphore>,
    /// Places for follows, shared fairly between client addresses.
    pub(super) followers: Arc<Followers>,
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
                followers: Followers::new(DEFAULT_MAX_FOLLOWERS),
                changes: OnceLock::new(),
            }),
        }
    }

    /// Allows at most `max` follows at once (default [`DEFAULT_MAX_FOLLOWERS`]); call before
    /// serving.
    pub fn with_max_followers(mut self, max: usize) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.followers = Followers::new(max);
        }
        self
    }

    /// Tells follows when the store changed (the watcher starts with the first follow).
    pub(super) fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner
            .changes
            .get_or_init(|| {
                super::changes::watch_store(
                    self.inner.store_root.clone(),
                    Arc::clone(&self.inner.stop),
                )
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
    pub(super) fn stopping(&self) -> bool {
        self.inner.stop.load(Ordering::Relaxed)
    }

    /// The pipeline's latest counters.
    pub fn set_pipeline(&self, stats: &PipelineStats) {
        *lock(&self.inner.pipeline) = *stats;
    }
}

/// Locks a mutex whose holder may have panicked; the counters it guards are still meaningful.
pub(super) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
