//! `POST /api/map?by=…` (the service map of `map`) and `GET /api/histogram?…&buckets=N`.

use axum::Json;
use axum::extract::{Query as UrlQuery, State};
use serde::Deserialize;
use serde_json::{Value, json};
use shark_store::GroupBy;

use super::{ApiError, Window, blocking, time_json};
use crate::ui::UiState;

/// `?by=pod|workload|service|namespace|node` (default workload).
#[derive(Debug, Default, Deserialize)]
pub struct MapParams {
    #[serde(default)]
    by: Option<String>,
}

/// The map of the window's matching entries, as `map -o json` prints it, with each edge's
/// p50/p95/p99 latency (ms).
pub async fn map(
    State(state): State<UiState>,
    UrlQuery(params): UrlQuery<MapParams>,
    Json(window): Json<Window>,
) -> Result<Json<Value>, ApiError> {
    let by: GroupBy = params
        .by
        .as_deref()
        .unwrap_or("workload")
        .parse()
        .map_err(ApiError::bad)?;
    let query = window.query()?;
    let store = state.source().store()?.clone();
    blocking(move || {
        let map = store.map(&query, by).map_err(ApiError::store)?;
        let mut value = serde_json::to_value(&map).map_err(ApiError::store)?;
        // The latency percentiles of each edge, as the map's table prints them.
        if let Some(edges) = value["edges"].as_array_mut() {
            for (json, edge) in edges.iter_mut().zip(&map.edges) {
                for (name, q) in [("p50", 0.5), ("p95", 0.95), ("p99", 0.99)] {
                    json[name] = json!(edge.latency.quantile(q));
                }
            }
        }
        value["failures"] = json!([]);
        Ok(Json(value))
    })
    .await
}

/// `?kfl=…&from=…&to=…&buckets=N`.
#[derive(Debug, Deserialize)]
pub struct HistogramParams {
    #[serde(flatten)]
    window: Window,
    #[serde(default)]
    buckets: Option<usize>,
}

/// Entries and failures per slice of the window: `{from, to, widthMs, entries: [..], errors: [..]}`
/// (`null` slices when the window is open and nothing is stored).
pub async fn histogram(
    State(state): State<UiState>,
    UrlQuery(params): UrlQuery<HistogramParams>,
) -> Result<Json<Value>, ApiError> {
    let query = params.window.query()?;
    let buckets = params.buckets.unwrap_or(120);
    let store = state.source().store()?.clone();
    blocking(move || {
        let Some(h) = store.histogram(&query, buckets).map_err(ApiError::store)? else {
            return Ok(Json(
                json!({"from": null, "to": null, "widthMs": null, "entries": [], "errors": []}),
            ));
        };
        Ok(Json(
            json!({"from": time_json(Some(h.from)), "to": time_json(Some(h.to)),
                       "widthMs": h.width as f64 / 1e6, "entries": h.entries, "errors": h.errors}),
        ))
    })
    .await
}
