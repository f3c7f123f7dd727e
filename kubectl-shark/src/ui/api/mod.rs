//! The dashboard's JSON API. Times go out as RFC3339 strings with nanoseconds (a nanosecond
//! integer loses precision in JavaScript) and come in as the CLI writes them (`-15m`, `14:02`,
//! RFC3339, `@UNIX`, `now`). Store work runs on blocking threads.

mod common;
mod entries;
mod filter;
mod follow;
mod map;
mod status;
mod window;

use axum::Router;
use axum::routing::{get, post};

pub use common::{ApiError, blocking, time_json};
pub use window::Window;

use super::state::UiState;

/// The `/api` routes.
pub fn router() -> Router<UiState> {
    Router::new()
        .route("/status", get(status::status))
        .route("/fields", get(filter::fields))
        .route("/check", post(filter::check))
        .route("/entries", post(entries::entries))
        .route("/entry/{a}/{b}", get(entries::entry))
        .route("/entry/{a}/{b}/pcap", get(entries::entry_pcap))
        .route("/entry/{a}/{b}/{c}", get(entries::entry_in))
        .route("/entry/{a}/{b}/{c}/pcap", get(entries::entry_pcap_in))
        .route("/export", post(entries::export))
        .route("/map", post(map::map))
        .route("/histogram", get(map::histogram))
        .route("/follow", get(follow::follow))
}
