//! `POST /v1/histogram?buckets=N`: the matching entries and errors per slice of a window, as
//! `{"from", "to", "width"}` (ns) and `{"entries", "errors"}` (counts), or `null` when the window
//! is open and nothing is stored. The plugin closes the window before asking every agent, so the
//! slices line up and it adds them.

use axum::body::Bytes;
use axum::extract::{Query as UrlQuery, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::request::answer_window;
use super::state::ApiState;

/// `?buckets=N` (default 120).
#[derive(Debug, Default, Deserialize)]
pub struct HistogramParams {
    #[serde(default)]
    buckets: Option<usize>,
}

/// Counts the window's entries and errors per bucket.
pub async fn histogram(
    State(state): State<ApiState>,
    UrlQuery(params): UrlQuery<HistogramParams>,
    body: Bytes,
) -> Response {
    let buckets = params.buckets.unwrap_or(120);
    answer_window(&state, body, "histogram", move |store, query| {
        let counted = store.histogram(query, buckets)?;
        Ok(counted.map(|h| {
            json!({"from": h.from, "to": h.to, "width": h.width,
                   "entries": h.entries, "errors": h.errors})
        }))
    })
    .await
}
