//! `POST /v1/histogram?buckets=N`: the matching entries and errors per slice of a window, as
//! `{"from", "to", "width"}` (ns) and `{"entries", "errors"}` (counts), or `null` when the window
//! is open and nothing is stored. The plugin closes the window before asking every agent, so the
//! slices line up and it adds them.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query as UrlQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::request::{Opened, open_window};
use super::state::ApiState;

/// `?buckets=N` (default 120).
#[derive(Debug, Default, Deserialize)]
pub struct HistogramParams {
    #[serde(default)]
    buckets: Option<usize>,
}

/// Counts on a blocking thread (it reads the whole window's index rows).
pub async fn histogram(
    State(state): State<ApiState>,
    UrlQuery(params): UrlQuery<HistogramParams>,
    body: Bytes,
) -> Response {
    let Opened {
        query,
        store,
        permit,
        ..
    } = match open_window(&state, body).await {
        Ok(opened) => opened,
        Err(response) => return *response,
    };
    let buckets = params.buckets.unwrap_or(120);
    let counted = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        store.histogram(&query, buckets)
    })
    .await;
    match counted {
        Ok(Ok(Some(h))) => Json(json!({"from": h.from, "to": h.to, "width": h.width,
                                       "entries": h.entries, "errors": h.errors}))
        .into_response(),
        Ok(Ok(None)) => Json(serde_json::Value::Null).into_response(),
        Ok(Err(e)) => (StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    }
}
