//! Request bodies read whole within a deadline, so a client trickling a body cannot hold a
//! request (and its connection's slot) open.

use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// How long a client may take to send a request body.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest request body (a query: a filter of at most 64 KiB and a few numbers).
const MAX_BODY: usize = 1 << 20;

/// Reads the body within [`BODY_TIMEOUT`] (408 otherwise; 413 past [`MAX_BODY`]) and hands the
/// request on with it.
pub async fn read_within_timeout(request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let read = tokio::time::timeout(BODY_TIMEOUT, axum::body::to_bytes(body, MAX_BODY)).await;
    let bytes = match read {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(_)) => {
            return (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("request body over {MAX_BODY} bytes, or cut short\n"),
            )
                .into_response();
        }
        Err(_) => {
            return (
                StatusCode::REQUEST_TIMEOUT,
                format!("request body not sent within {}s\n", BODY_TIMEOUT.as_secs()),
            )
                .into_response();
        }
    };
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}
