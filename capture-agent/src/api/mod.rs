//! The agent's HTTP API (port 8898): status, query, export, map, follow and metrics, behind a bearer token.
//!
//! Every request must carry `Authorization: Bearer <token>`; without it the answer is 401 and no
//! data. Query and export read the store on blocking threads and stream their answers (NDJSON in
//! time order; a PCAP), so a large window never sits in memory and capture goes on meanwhile.
//! A stream that fails midway ends with a last NDJSON line `{"streamError": "…"}`, so a client can tell
//! a cut answer from a complete one.

mod auth;
mod export;
mod follow;
mod map;
mod metrics;
mod page;
mod query;
mod request;
mod state;
mod status;

use axum::Router;
use axum::routing::{get, post};

pub use state::ApiState;

/// The API's routes, all behind the bearer token.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/v1/status", get(status::status))
        .route("/v1/query", post(query::query))
        .route("/v1/export", post(export::export))
        .route("/v1/map", post(map::map))
        .route("/v1/follow", get(follow::follow))
        .route("/metrics", get(metrics::metrics))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ))
        .with_state(state)
}
