//! The JSON body of query and export requests, and turning it into a store query.

use std::sync::Arc;

use axum::http::StatusCode;
use serde::Deserialize;
use shark_store::Query;

/// `{"kfl": "…", "from": ns, "to": ns, "limit": n, "wholeFlows": bool, "order": "newest",
/// "after": "TS.ID.NODE"}`; every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WindowRequest {
    /// KFL filter; empty or absent: everything.
    #[serde(default)]
    pub kfl: String,
    /// Window start, ns since the epoch, inclusive.
    pub from: Option<i64>,
    /// Window end, ns since the epoch, exclusive.
    pub to: Option<i64>,
    /// Most entries.
    pub limit: Option<usize>,
    /// Export only: whole flows of the matching entries.
    #[serde(default)]
    pub whole_flows: bool,
    /// Query only: one page in this order (`newest` or `oldest`), of `limit` entries (default
    /// 200, at most 1001), without reading cut bodies back: what a dashboard lists.
    #[serde(default)]
    pub order: Option<String>,
    /// Query only: the page starts past this cursor (`TS.ID.NODE`, as the store's page keys
    /// print), in `order`.
    #[serde(default)]
    pub after: Option<String>,
}

/// Parses the body; a malformed one is a 400 with the reason.
pub fn parse(body: &[u8]) -> Result<WindowRequest, (StatusCode, String)> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(WindowRequest::default());
    }
    serde_json::from_slice(body).map_err(|e| {
        (
            StatusCode::BAD_REQUEST,
            format!("malformed request body: {e}\n"),
        )
    })
}

impl WindowRequest {
    /// The store query; a filter that does not compile is a 400 with its diagnostic.
    pub fn to_query(&self) -> Result<Query, (StatusCode, String)> {
        let filter = if self.kfl.trim().is_empty() {
            None
        } else {
            let compiled = kfl::compile(&self.kfl, &shark_store::entry_schema())
                .map_err(|diag| (StatusCode::BAD_REQUEST, format!("{diag}\n")))?;
            Some(compiled)
        };
        if let (Some(from), Some(to)) = (self.from, self.to)
            && from >= to
        {
            return Err((
                StatusCode::BAD_REQUEST,
                "`from` must be earlier than `to`\n".into(),
            ));
        }
        Ok(Query {
            from: self.from,
            to: self.to,
            filter,
            limit: self.limit,
        })
    }
}

/// What query, export and map start from: a permit among the [`super::state::MAX_HEAVY_REQUESTS`]
/// (503 at once when none is free), then, on a blocking thread (compiling a filter's regexes is
/// CPU work the async workers must not do), the parsed request, its store query and the store
/// opened for reading; or the error response to send (400 for the request, 503 for the store).
/// The permit is held until the answer is made.
pub async fn open_window(
    state: &super::state::ApiState,
    body: axum::body::Bytes,
) -> Result<Opened, Box<axum::response::Response>> {
    use axum::response::IntoResponse;
    let permit = Arc::clone(&state.inner.heavy)
        .try_acquire_owned()
        .map_err(|_| {
            Box::new(
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!(
                        "this agent is already answering {} queries, exports and maps; try again shortly\n",
                        super::state::MAX_HEAVY_REQUESTS
                    ),
                )
                    .into_response(),
            )
        })?;
    let root = state.inner.store_root.clone();
    let token = state.inner.token.clone();
    let opened = tokio::task::spawn_blocking(move || {
        let request = parse(&body).map_err(|e| Box::new(e.into_response()))?;
        let query = request
            .to_query()
            .map_err(|e| Box::new(e.into_response()))?;
        // Bodies read back from the packets keep the token out, as the index does.
        let store = shark_pipeline::open_store_redacting(&root, Some(&token)).map_err(|e| {
            Box::new((StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")).into_response())
        })?;
        Ok(Opened {
            request,
            query,
            store,
            permit,
        })
    })
    .await;
    opened.unwrap_or_else(|e| {
        Err(Box::new(
            (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
        ))
    })
}

/// A request ready to run: see [`open_window`].
pub struct Opened {
    /// The parsed body.
    pub request: WindowRequest,
    /// Its store query.
    pub query: Query,
    /// The store, open for reading.
    pub store: shark_store::Store,
    /// Its place among the heavy requests: hold it until the answer is made.
    pub permit: tokio::sync::OwnedSemaphorePermit,
}

/// Answers a whole-window computation (a map, a histogram) as JSON: opens the window as
/// [`open_window`] does, runs `work` on a blocking thread (it reads the whole window) while the
/// permit is held, and maps a store error to 503; `what` names the work in a failed task's 500.
pub async fn answer_window<T, F>(
    state: &super::state::ApiState,
    body: axum::body::Bytes,
    what: &'static str,
    work: F,
) -> axum::response::Response
where
    T: serde::Serialize + Send + 'static,
    F: FnOnce(&shark_store::Store, &Query) -> Result<T, shark_store::StoreError> + Send + 'static,
{
    use axum::response::IntoResponse;
    let Opened {
        query,
        store,
        permit,
        ..
    } = match open_window(state, body).await {
        Ok(opened) => opened,
        Err(response) => return *response,
    };
    let done = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        work(&store, &query)
    })
    .await;
    match done {
        Ok(Ok(answer)) => axum::Json(answer).into_response(),
        Ok(Err(e)) => (StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")).into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("{what} task failed: {e}\n"),
        )
            .into_response(),
    }
}
