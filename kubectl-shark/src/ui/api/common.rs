//! What every `/api` handler shares: the error answer, the window a request asks for, times as
//! the API writes them, and running store work on a blocking thread.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use shark_pipeline::spec::parse_time;
use shark_store::Query;

use crate::timefmt::format_rfc3339;

/// An error answer: a status and a JSON body `{"error": "…", …}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: Value,
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

/// The filter and window most calls take; every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Window {
    /// KFL filter; empty: everything.
    #[serde(default)]
    pub kfl: String,
    /// Start, inclusive, in the CLI's time syntax; absent or empty: the oldest entry kept.
    #[serde(default)]
    pub from: Option<String>,
    /// End, exclusive, in the same syntax; absent or empty: now (and whatever comes later).
    #[serde(default)]
    pub to: Option<String>,
}

impl Window {
    /// The store query: times resolved now, the filter compiled (a bad one answers its diagnostics).
    pub fn query(&self) -> Result<Query, ApiError> {
        let now = chrono::Utc::now();
        let time = |name: &str, text: &Option<String>| {
            text.as_deref()
                .filter(|t| !t.trim().is_empty())
                .map(|t| parse_time(t, now).map_err(|e| ApiError::bad(format!("{name}: {e}"))))
                .transpose()
        };
        let (from, to) = (time("from", &self.from)?, time("to", &self.to)?);
        if let (Some(f), Some(t)) = (from, to)
            && f >= t
        {
            return Err(ApiError::bad("`from` must be earlier than `to`"));
        }
        let filter = if self.kfl.trim().is_empty() {
            None
        } else {
            Some(
                kfl::compile(&self.kfl, &shark_store::entry_schema())
                    .map_err(|d| filter::refused(&self.kfl, &d))?,
            )
        };
        Ok(Query {
            from,
            to,
            filter,
            limit: None,
        })
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
