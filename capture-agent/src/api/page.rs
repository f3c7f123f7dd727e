//! One page of `POST /v1/query`: with `order` or `after`, up to `limit` entries (default 200, at
//! most 1001) newest or oldest first, past the cursor `after`, as NDJSON without reading cut
//! bodies back. A client merging several agents asks each for one more than it shows, and resumes
//! every agent from the same cursor: the order is by (timestamp, node, id) everywhere.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use shark_store::{Order, PageKey, Query, Store};

use super::request::WindowRequest;

/// Entries one page holds at most.
const MAX_PAGE: usize = 1001;

/// The page as NDJSON, or 400 for a bad order or cursor.
pub async fn page(request: &WindowRequest, query: Query, store: Store) -> Response {
    let order = match request.order.as_deref() {
        None | Some("oldest") => Order::OldestFirst,
        Some("newest") => Order::NewestFirst,
        Some(other) => {
            return (
                StatusCode::BAD_REQUEST,
                format!("order `{other}`: use newest or oldest\n"),
            )
                .into_response();
        }
    };
    let after: Option<PageKey> = match request.after.as_deref().map(str::parse).transpose() {
        Ok(after) => after,
        Err(e) => return (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response(),
    };
    let size = request.limit.unwrap_or(200).clamp(1, MAX_PAGE);
    let read = tokio::task::spawn_blocking(move || {
        let page = store
            .page(&query, order, after.as_ref(), size)
            .map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        for entry in &page.entries {
            serde_json::to_writer(&mut out, entry).map_err(|e| e.to_string())?;
            out.push(b'\n');
        }
        Ok::<_, String>(out)
    })
    .await;
    match read {
        Ok(Ok(body)) => ([(header::CONTENT_TYPE, "application/x-ndjson")], body).into_response(),
        Ok(Err(e)) => (StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")).into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("page task failed: {e}\n"),
        )
            .into_response(),
    }
}
