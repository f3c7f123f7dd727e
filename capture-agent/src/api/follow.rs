//! `GET /v1/follow?kfl=…&from=NS`: matching entries as NDJSON as the store indexes them, until the
//! client goes away or the agent stops (with `from`, the stored ones since then first).
//! `&after=NODE:ID,…` resumes a follow that lost its connection: each named node from just after
//! the last entry the client showed (entry ids are per node and survive restarts).
//!
//! [`shark_store::Tail`] does the following: each matching entry comes once, however long after it
//! started it was indexed (an exchange unanswered until the flow timed out included). The tail
//! starts before the answer does, so whatever is indexed once the client has the response headers
//! is in the stream.

use std::collections::BTreeMap;

use axum::body::{Body, Bytes};
use axum::extract::{Query as UrlQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use shark_store::Tail;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::request::WindowRequest;
use super::state::ApiState;
use shark_pipeline::open_store;
use shark_store::FOLLOW_POLL;

/// Lines buffered between the tailer and the connection.
const QUEUE_LINES: usize = 256;

/// `?kfl=…&from=…` (both optional).
#[derive(Debug, Default, Deserialize)]
pub struct FollowParams {
    /// KFL filter; absent or empty: everything.
    #[serde(default)]
    kfl: String,
    /// Start with the entries stored since this time (ns since the epoch); absent: from now.
    from: Option<i64>,
    /// `NODE:ID,…`: resume each named node after entry `ID`.
    #[serde(default)]
    after: String,
}

/// `NODE:ID,…` as a map, or the part that is not.
fn resume_points(after: &str) -> Result<BTreeMap<String, i64>, String> {
    after
        .split(',')
        .filter(|part| !part.is_empty())
        .map(|part| {
            part.rsplit_once(':')
                .and_then(|(node, id)| Some((node.to_string(), id.parse().ok()?)))
                .ok_or_else(|| format!("after: `{part}` is not NODE:ID\n"))
        })
        .collect()
}

/// Streams new matching entries from now on, polling the store every [`FOLLOW_POLL`].
pub async fn follow(
    State(state): State<ApiState>,
    UrlQuery(params): UrlQuery<FollowParams>,
) -> Response {
    let request = WindowRequest {
        kfl: params.kfl,
        ..WindowRequest::default()
    };
    let filter = match request.to_query() {
        Ok(q) => q.filter,
        Err(e) => return e.into_response(),
    };
    let resume = match resume_points(&params.after) {
        Ok(resume) => resume,
        Err(e) => return (StatusCode::BAD_REQUEST, e).into_response(),
    };
    let root = state.inner.store_root.clone();
    let from = params.from;
    // The answer shows bodies: those the index cut are read back from the packets.
    let started = tokio::task::spawn_blocking(move || {
        let mut tail = open_store(&root)?.tail_with_bodies(filter, from)?;
        tail.resume_after(&resume);
        Ok::<_, shark_store::StoreError>(tail)
    })
    .await;
    let tail = match started {
        Ok(Ok(tail)) => tail,
        Ok(Err(e)) => return (StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")).into_response(),
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    };
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(QUEUE_LINES);
    tokio::task::spawn_blocking(move || stream_tail(tail, &tx, &state));
    (
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(ReceiverStream::new(rx)),
    )
        .into_response()
}

/// Sends `tail`'s entries as NDJSON lines until the client goes away, the agent stops (the stream
/// ends cleanly, so the client sees the end of the answer) or the store fails (then a last
/// `streamError` line).
fn stream_tail(mut tail: Tail, tx: &mpsc::Sender<Result<Bytes, std::io::Error>>, state: &ApiState) {
    while !tx.is_closed() && !state.stopping() {
        loop {
            let line = match tail.next_entry() {
                Ok(None) => break,
                Ok(Some(entry)) => serde_json::to_value(&entry).map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            match line {
                Ok(line) => {
                    if !send_line(tx, &line) {
                        return;
                    }
                }
                Err(e) => {
                    send_line(tx, &serde_json::json!({ "streamError": e }));
                    return;
                }
            }
        }
        std::thread::sleep(FOLLOW_POLL);
    }
}

/// Sends one NDJSON line; false when the client went away.
fn send_line(tx: &mpsc::Sender<Result<Bytes, std::io::Error>>, value: &serde_json::Value) -> bool {
    tx.blocking_send(Ok(Bytes::from(format!("{value}\n"))))
        .is_ok()
}
