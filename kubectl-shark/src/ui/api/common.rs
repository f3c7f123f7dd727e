//! What every `/api` handler shares: the error answer, times as the API writes them, and running
//! store work on a blocking thread.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::timefmt::format_rfc3339;

/// An error answer: a status and a JSON body `{"error": "…", …}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    /// The JSON answer; a handler may add to it (a filter's diagnostics).
    pub(super) body: Value,
}

impl ApiError {
    /// `status` with `message` as its `error`.
    pub fn new(status: StatusCode, message: impl std::fmt::Display) -> Self {
        ApiError {
            status,
            body: json!({ "error": message.to_string() }),
        }
    }

    /// A request the user can fix (400).
    pub fn bad(message: impl std::fmt::Display) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// A failure reading the store (500).
    pub fn store(message: impl std::fmt::Display) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

/// An optional timestamp as the API writes times.
pub fn time_json(ns: Option<i64>) -> Value {
    ns.map_or(Value::Null, |ns| Value::String(format_rfc3339(ns)))
}

/// Runs store work on a blocking thread; a task that panicked is a 500.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::store(format!("the request's task failed: {e}")))?
}
