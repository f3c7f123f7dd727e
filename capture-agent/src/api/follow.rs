//! `GET /v1/follow?kfl=…&from=NS`: matching entries as NDJSON as they are stored, until the client
//! goes away (with `from`, the stored ones since then first); and [`Tail`], the store tailer it
//! (and the plugin's local `query --follow`) runs.
//!
//! The index orders entries by request start, but writes an exchange only once it completes, so a
//! new row can carry an earlier timestamp than rows already read. [`Tail`] therefore re-reads a
//! trailing window of [`FOLLOW_LAG`] each poll and skips the (node, id) pairs it has already handed
//! out: nothing is repeated, and nothing is missed unless it reaches the index more than
//! `FOLLOW_LAG` after it started (an exchange left unanswered until the flow times out).

use std::collections::HashMap;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Query as UrlQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use shark_store::{Entry, Query, Store, StoreError};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::ApiState;
use super::request::WindowRequest;

/// How far back each poll looks for entries that completed late (see the module doc).
pub const FOLLOW_LAG: Duration = Duration::from_secs(60);
/// How often the store is polled for new entries.
pub const FOLLOW_POLL: Duration = Duration::from_millis(500);
/// Lines buffered between the tailer and the connection.
const QUEUE_LINES: usize = 256;

/// Hands out each matching entry of a store once, in time order within a poll: first those stored
/// since the start, then each new one as it is stored.
pub struct Tail {
    store: Store,
    filter: Option<kfl::Filter>,
    since: i64,
    first: bool,
    seen: HashMap<(String, u64), i64>,
}

impl Tail {
    /// Follows `store` for entries that start at or after `since_ns` and match `filter`.
    pub fn new(store: Store, filter: Option<kfl::Filter>, since_ns: i64) -> Self {
        Tail {
            store,
            filter,
            since: since_ns,
            first: true,
            seen: HashMap::new(),
        }
    }

    /// The matching entries stored since the last poll (the first poll: all since the start), by
    /// timestamp. `now_ns` is the wall clock.
    pub fn poll(&mut self, now_ns: i64) -> Result<Vec<Entry>, StoreError> {
        let lag = i64::try_from(FOLLOW_LAG.as_nanos()).unwrap_or(i64::MAX);
        let trailing = self.since.max(now_ns.saturating_sub(lag));
        let from = if std::mem::take(&mut self.first) { self.since } else { trailing };
        // Nodes appear when their agent first writes: reopen to see them.
        self.store = Store::open(self.store.root())?;
        let query = Query {
            from: Some(from),
            to: None,
            filter: self.filter.clone(),
            limit: None,
        };
        let mut fresh = Vec::new();
        for entry in self.store.query(&query)? {
            let entry = entry?;
            let key = (entry.node.name.clone(), entry.id);
            if self.seen.insert(key, entry.timestamp).is_none() {
                fresh.push(entry);
            }
        }
        // Later polls never look before `trailing`, so older keys cannot come back.
        self.seen.retain(|_, ts| *ts >= trailing);
        Ok(fresh)
    }
}

/// `?kfl=…&from=…` (both optional).
#[derive(Debug, Default, Deserialize)]
pub struct FollowParams {
    /// KFL filter; absent or empty: everything.
    #[serde(default)]
    kfl: String,
    /// Start with the entries stored since this time (ns since the epoch); absent: from now.
    from: Option<i64>,
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
    let since = params.from;
    let store = match Store::open(&state.inner.store_root) {
        Ok(s) => s,
        Err(e) => return (StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")).into_response(),
    };
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(QUEUE_LINES);
    tokio::task::spawn_blocking(move || {
        let mut tail = Tail::new(store, filter, since.unwrap_or_else(now_ns));
        while !tx.is_closed() {
            let fresh = match tail.poll(now_ns()) {
                Ok(fresh) => fresh,
                Err(e) => {
                    send_line(&tx, &serde_json::json!({ "streamError": e.to_string() }));
                    return;
                }
            };
            for entry in fresh {
                match serde_json::to_value(&entry) {
                    Ok(line) => {
                        if !send_line(&tx, &line) {
                            return;
                        }
                    }
                    Err(e) => {
                        send_line(&tx, &serde_json::json!({ "streamError": e.to_string() }));
                        return;
                    }
                }
            }
            std::thread::sleep(FOLLOW_POLL);
        }
    });
    (
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(ReceiverStream::new(rx)),
    )
        .into_response()
}

/// Sends one NDJSON line; false when the client went away.
fn send_line(tx: &mpsc::Sender<Result<Bytes, std::io::Error>>, value: &serde_json::Value) -> bool {
    tx.blocking_send(Ok(Bytes::from(format!("{value}\n"))))
        .is_ok()
}

/// The wall clock in ns since the epoch.
pub fn now_ns() -> i64 {
    chrono::Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX)
}
