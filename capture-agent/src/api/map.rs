//! `POST /v1/map?by=workload`: the service map of a window on this node, as JSON.
//!
//! The body is the query's (`{"kfl", "from", "to"}`); the answer is a `ServiceMap` with its latency
//! sketches, so the plugin can merge every node's map exactly. It holds the window's
//! [`MAP_EDGES`] busiest edges, the rest summed in `other`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query as UrlQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use shark_store::GroupBy;
pub use shark_store::MAP_EDGES;

use super::request::{Opened, open_window};
use super::state::ApiState;

/// The URL's `?by=` (default: workload).
#[derive(Debug, Default, Deserialize)]
pub struct MapParams {
    /// pod, workload, service, namespace or node.
    #[serde(default)]
    by: Option<String>,
}

/// Builds the map on a blocking thread (it reads the whole window) and answers it as one JSON object.
pub async fn map(
    State(state): State<ApiState>,
    UrlQuery(params): UrlQuery<MapParams>,
    body: Bytes,
) -> Response {
    let by = match params.by.as_deref().map(str::parse::<GroupBy>).transpose() {
        Ok(by) => by.unwrap_or_default(),
        Err(e) => return (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response(),
    };
    let Opened {
        query,
        store,
        permit,
        ..
    } = match open_window(&state, body).await {
        Ok(opened) => opened,
        Err(response) => return *response,
    };
    let built = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        store.map(&query, by)
    })
    .await;
    match built {
        Ok(Ok(map)) => Json(map).into_response(),
        Ok(Err(e)) => (StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")).into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("map task failed: {e}\n"),
        )
            .into_response(),
    }
}
