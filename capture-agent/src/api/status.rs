//! `GET /v1/status`: the node's coverage window, store sizes, capture counters and drops.

use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};
use shark_store::{NodeStatus, Store};

use super::state::{ApiState, lock};

/// The status document.
pub async fn status(State(state): State<ApiState>) -> Result<Json<Value>, (StatusCode, String)> {
    let root = state.inner.store_root.clone();
    let nodes = tokio::task::spawn_blocking(move || Store::open(&root).and_then(|s| s.status()))
        .await
        .map_err(|e| {
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("status task failed: {e}\n"),
            )
        })?
        .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")))?;
    let store: Vec<Value> = nodes.iter().map(NodeStatus::json).collect();
    let capture = lock(&state.inner.capture).as_ref().map(|c| {
        json!({"received": c.received.load(Ordering::Relaxed), "dropped": c.total_dropped(),
               "queueDropped": c.queue_dropped.load(Ordering::Relaxed),
               "kernelDropped": c.kernel_dropped.load(Ordering::Relaxed),
               "interfaceDropped": c.interface_dropped.load(Ordering::Relaxed)})
    });
    let p = *lock(&state.inner.pipeline);
    Ok(Json(json!({
        "node": state.inner.node,
        "store": store,
        "capture": capture,
        "pipeline": {"packets": p.packets, "bytes": p.bytes, "entries": p.entries,
                     "decodeErrors": p.decode_errors, "gaps": p.gaps, "flows": p.flows,
                     "flowsEvicted": p.flows_evicted},
    })))
}
