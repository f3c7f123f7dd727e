//! `POST /v1/map?by=workload`: the service map of a window on this node, as JSON.
//!
//! The body is the query's (`{"kfl", "from", "to"}`); the answer is a `ServiceMap` with its latency
//! sketches, so the plugin can merge every node's map exactly. It holds the window's
//! [`MAP_EDGES`] busiest edges, the rest summed in `other`.

use axum::body::Bytes;
use axum::extract::{Query as UrlQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use shark_store::GroupBy;
pub use shark_store::MAP_EDGES;

use super::request::answer_window;
use super::state::ApiState;

/// The URL's `?by=` (default: workload).
#[derive(Debug, Default, Deserialize)]
pub struct MapParams {
    /// pod, workload, service, namespace or node.
    #[serde(default)]
    by: Option<String>,
}

/// Builds the window's map and answers it as one JSON object.
pub async fn map(
    State(state): State<ApiState>,
    UrlQuery(params): UrlQuery<MapParams>,
    body: Bytes,
) -> Response {
    let by = match params.by.as_deref().map(str::parse::<GroupBy>).transpose() {
        Ok(by) => by.unwrap_or_default(),
        Err(e) => return (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response(),
    };
    answer_window(&state, body, "map", move |store, query| {
        store.map(query, by)
    })
    .await
}
