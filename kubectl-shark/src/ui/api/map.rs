//! `POST /api/map?by=…` (the service map of `map`) and `GET /api/histogram?…&buckets=N`.

use axum::Json;
use axum::extract::{Query as UrlQuery, State};
use serde::Deserialize;
use serde_json::{Value, json};
use shark_store::{GroupBy, Histogram, ServiceMap};

use super::{ApiError, Window, blocking, time_json};
use crate::cluster::failures::Failures;
use crate::cluster::maps::map_all;
use crate::ui::{Source, UiState, cluster, cluster_reads};

/// `?by=pod|workload|service|namespace|node|cluster` (default workload).
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
    if let Source::Cluster(clusters) = state.source() {
        let fleet = &*clusters.fleet();
        let asked = cluster::asked(fleet, query.filter.as_ref());
        let (map, failed) = map_all(&asked, &window.kfl, &query, by).await;
        let failures = asked.failures(failed);
        if let Some(error) = cluster::none_answered(&failures) {
            return Err(error);
        }
        return map_json(&map, &failures).map(Json);
    }
    let store = state.source().store()?.clone();
    blocking(move || {
        let map = store.map(&query, by).map_err(ApiError::store)?;
        map_json(&map, &Failures::default()).map(Json)
    })
    .await
}

/// The map as `map -o json` prints it, with each edge's latency percentiles (ms) as the map's
/// table prints them, and the nodes that failed.
fn map_json(map: &ServiceMap, failures: &Failures) -> Result<Value, ApiError> {
    let mut value = serde_json::to_value(map).map_err(ApiError::store)?;
    if let Some(edges) = value["edges"].as_array_mut() {
        for (json, edge) in edges.iter_mut().zip(&map.edges) {
            for (name, q) in [("p50", 0.5), ("p95", 0.95), ("p99", 0.99)] {
                json[name] = json!(edge.latency.quantile(q));
            }
        }
    }
    value["failures"] = cluster::failures_json(failures);
    Ok(value)
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
    if let Source::Cluster(clusters) = state.source() {
        let fleet = &*clusters.fleet();
        let asked = cluster::asked(fleet, query.filter.as_ref());
        let (histogram, failures) =
            cluster_reads::histogram(&asked, &query, &params.window.kfl, buckets).await;
        if let Some(error) = cluster::none_answered(&failures) {
            return Err(error);
        }
        return Ok(Json(histogram_json(histogram.as_ref(), &failures)));
    }
    let store = state.source().store()?.clone();
    blocking(move || {
        let histogram = store.histogram(&query, buckets).map_err(ApiError::store)?;
        Ok(Json(histogram_json(
            histogram.as_ref(),
            &Failures::default(),
        )))
    })
    .await
}

/// A histogram as the page reads it (`null` slices when nothing is stored), and the nodes that
/// failed.
fn histogram_json(histogram: Option<&Histogram>, failures: &Failures) -> Value {
    let failures = cluster::failures_json(failures);
    match histogram {
        None => json!({"from": null, "to": null, "widthMs": null, "entries": [], "errors": [],
                       "failures": failures}),
        Some(h) => json!({"from": time_json(Some(h.from)), "to": time_json(Some(h.to)),
                          "widthMs": h.width as f64 / 1e6, "entries": h.entries, "errors": h.errors,
                          "failures": failures}),
    }
}
