//! `GET /v1/entry/NODE/ID`: one entry, bodies whole (read back from the packets where the index
//! cut them, the token kept out): what a dashboard's entry detail shows. 404 when this agent's
//! store has no such entry (another node's, or retention removed it).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::request::open_window;
use super::state::ApiState;

/// Reads the entry on a blocking thread, among the heavy requests (a body read back re-dissects).
pub async fn entry(
    State(state): State<ApiState>,
    Path((node, id)): Path<(String, u64)>,
) -> Response {
    let opened = match open_window(&state, axum::body::Bytes::new()).await {
        Ok(opened) => opened,
        Err(response) => return *response,
    };
    let found = tokio::task::spawn_blocking(move || {
        let _permit = opened.permit;
        opened.store.entry(&node, id, true)
    })
    .await;
    match found {
        Ok(Ok(Some(entry))) => Json(entry).into_response(),
        Ok(Ok(None)) => (StatusCode::NOT_FOUND, "no such entry here\n").into_response(),
        Ok(Err(e)) => (StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    }
}
