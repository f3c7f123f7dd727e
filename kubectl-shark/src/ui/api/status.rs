//! `GET /api/status`: `status` per node, from the store or from every agent.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::{ApiError, blocking, time_json};
use crate::ui::{Source, UiState, cluster};

/// Per node (with its cluster when named): the window kept, segments, entries, bytes, packets
/// captured and drops; per named cluster its nodes and entries or why it could not be reached;
/// and where the dashboard reads from.
pub async fn status(State(state): State<UiState>) -> Result<Json<Value>, ApiError> {
    let (store, dir) = match state.source() {
        Source::Local { store, dir } => (store.clone(), dir.display().to_string()),
        Source::Cluster(clusters) => {
            let fleet = &*clusters.fleet();
            let (nodes, clusters, failures) = cluster::status(fleet).await;
            let agents: usize = fleet.members.iter().map(|m| m.agents.list.len()).sum();
            let source = match clusters.len() {
                0 | 1 => format!("{agents} agents"),
                n => format!("{agents} agents in {n} clusters"),
            };
            let failures = cluster::failures_json(&failures);
            return Ok(Json(
                json!({"mode": "cluster", "source": source, "nodes": nodes,
                "clusters": clusters, "failures": failures}),
            ));
        }
    };
    blocking(move || {
        let nodes = store.status().map_err(ApiError::store)?;
        let nodes: Vec<Value> = nodes
            .iter()
            .map(|n| {
                json!({"node": n.node, "oldest": time_json(n.oldest_ns), "newest": time_json(n.newest_ns),
                       "segments": n.segments, "pcapBytes": n.pcap_bytes, "entries": n.entries,
                       "indexBytes": n.index_bytes, "captured": n.capture.received,
                       "dropped": n.capture.dropped(), "lastError": null})
            })
            .collect();
        Ok(Json(
            json!({"mode": "local", "source": dir, "nodes": nodes, "clusters": [], "failures": []}),
        ))
    })
    .await
}
