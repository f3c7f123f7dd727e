//! What the API's handlers share: where the store is, the token, and the capture's live counters.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::live::CaptureCounters;
use shark_pipeline::PipelineStats;

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
