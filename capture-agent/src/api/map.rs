//! `POST /v1/map?by=workload`: the service map of a window on this node, as JSON.
//!
//! The body is the query's (`{"kfl", "from", "to"}`); the answer is a `ServiceMap` with its latency
//! sketches, so the plugin can merge every node's map exactly.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query as UrlQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use shark_store::GroupBy;

use shark_pipeline::open_store;

use super::request::parse;
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
    let query = match parse(&body).and_then(|r| r.to_query()) {
        Ok(q) => q,
        Err(e) => return e.into_response(),
    };
    let root = state.inner.store_root.clone();
    let built = tokio::task::spawn_blocking(move || open_store(&root)?.map(&query, by)).await;
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
