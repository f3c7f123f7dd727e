//! The agent's HTTP API (port 8898): status, query, export, map, histogram, one entry, follow and
//! metrics, behind a bearer token.
//!
//! Every request must carry `Authorization: Bearer <token>`; without it the answer is 401 and no
//! data. Query and export read the store on blocking threads and stream their answers (NDJSON in
//! time order; a PCAP), so a large window never sits in memory and capture goes on meanwhile.
//! A stream that fails midway ends with a last NDJSON line `{"streamError": "…"}`, so a client can tell
//! a cut answer from a complete one.
//!
//! No request can starve the others: a request body must arrive within [`BODY_TIMEOUT`]; filters
//! are compiled on blocking threads (never on the async workers that answer status and probes),
//! and KFL refuses one with too many regexes before compiling any; at most [`MAX_HEAVY_REQUESTS`]
//! queries, exports and maps run at once (more get 503 at once); follows are async streams that
//! touch the store only when it changed, at most `max_followers` of them, shared fairly between
//! client addresses; and a map answers its
//! [`MAP_EDGES`] busiest edges, the rest summed.

mod auth;
mod body;
mod changes;
mod entry;
mod export;
mod follow;
mod followers;
mod histogram;
mod map;
mod metrics;
mod page;
mod query;
mod request;
mod state;
mod status;

use axum::Router;
use axum::routing::{get, post};

pub use body::BODY_TIMEOUT;
pub use map::MAP_EDGES;
pub use state::{ApiState, DEFAULT_MAX_FOLLOWERS, MAX_HEAVY_REQUESTS};

/// The API's routes, all behind the bearer token.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/v1/status", get(status::status))
        .route("/v1/query", post(query::query))
        .route("/v1/export", post(export::export))
        .route("/v1/map", post(map::map))
        .route("/v1/histogram", post(histogram::histogram))
        .route("/v1/entry/{node}/{id}", get(entry::entry))
        .route("/v1/follow", get(follow::follow))
        .route("/metrics", get(metrics::metrics))
        // Runs after the token check (the last layer added runs first): no stranger's body is read.
        .layer(axum::middleware::from_fn(body::read_within_timeout))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ))
        .with_state(state)
}
