//! `GET /v1/follow?kfl=…&from=NS`: matching entries as NDJSON as the store indexes them, until the
//! client goes away or the agent stops (with `from`, the stored ones since then first).
//! `&after=NODE:ID,…` resumes a follow that lost its connection: each named node from just after
//! the last entry the client showed (entry ids are per node and survive restarts).
//!
//! [`shark_store::Tail`] does the following: each matching entry comes once, however long after it
//! started it was indexed (an exchange unanswered until the flow timed out included). The tail
//! starts before the answer does, so whatever is indexed once the client has the response headers
//! is in the stream.
//!
//! A follow is an async task, not a thread: it reads its tail on a blocking thread only when the
//! store changed ([`super::changes`]), a page at a time and at most [`CONCURRENT_READS`] follows
//! at once, and waits in between holding nothing but its cursor. At most `max_followers` follow at
//! once, shared fairly between client addresses ([`super::followers`]): past that a follow from a
//! lighter address ends the heaviest one's oldest, else gets 503.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use axum::Extension;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Query as UrlQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use shark_store::Tail;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;

use super::followers::Follower;
use super::request::WindowRequest;
use super::state::ApiState;
use shark_pipeline::open_store_redacting;

/// Lines buffered between a follow's task and its connection.
const QUEUE_LINES: usize = 8;

/// Entries read per turn on a blocking thread.
const PAGE_LINES: usize = 64;

/// Follows reading the store at once.
const CONCURRENT_READS: usize = 4;

/// Shared by every follow: how many read at once.
static READS: Semaphore = Semaphore::const_new(CONCURRENT_READS);

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

/// Streams new matching entries from now on, as the store indexes them.
pub async fn follow(
    State(state): State<ApiState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    UrlQuery(params): UrlQuery<FollowParams>,
) -> Response {
    let ip = peer.map_or(
        IpAddr::from([0, 0, 0, 0]),
        |Extension(ConnectInfo(peer))| peer.ip(),
    );
    let Some(follower) = state.inner.followers.join(ip) else {
        let max = state.inner.followers.max();
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "this agent already serves {max} follows, its most, and yours hold their share; try again later\n"
            ),
        )
            .into_response();
    };
    let resume = match resume_points(&params.after) {
        Ok(resume) => resume,
        Err(e) => return (StatusCode::BAD_REQUEST, e).into_response(),
    };
    let root = state.inner.store_root.clone();
    let token = state.inner.token.clone();
    let from = params.from;
    let request = WindowRequest {
        kfl: params.kfl,
        ..WindowRequest::default()
    };
    // Compiling the filter (its regexes) and opening the tail are blocking work.
    let started = tokio::task::spawn_blocking(move || {
        let filter = request
            .to_query()
            .map_err(|e| Box::new(e.into_response()))?
            .filter;
        // Bodies read back from the packets keep the token out, as the index does.
        let store = open_store_redacting(&root, Some(&token)).map_err(unavailable)?;
        // The answer shows bodies: those the index cut are read back from the packets.
        let mut tail = store.tail_with_bodies(filter, from).map_err(unavailable)?;
        tail.resume_after(&resume);
        Ok::<_, Box<Response>>(tail)
    })
    .await;
    let tail = match started {
        Ok(Ok(tail)) => tail,
        Ok(Err(response)) => return *response,
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    };
    let changes = state.changes();
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(QUEUE_LINES);
    tokio::spawn(stream_tail(tail, tx, changes, follower, state));
    (
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(ReceiverStream::new(rx)),
    )
        .into_response()
}

fn unavailable(e: shark_store::StoreError) -> Box<Response> {
    Box::new((StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")).into_response())
}

/// What one turn read: NDJSON lines, and whether the tail caught up or failed.
struct Page {
    lines: Vec<Bytes>,
    caught_up: bool,
    failed: bool,
}

/// Sends `tail`'s entries as NDJSON lines until the client goes away, the agent stops (the stream
/// ends cleanly, so the client sees the end of the answer) or the store fails (then a last
/// `streamError` line). Reads only when the store changed.
async fn stream_tail(
    mut tail: Tail,
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
    mut changes: watch::Receiver<u64>,
    follower: Follower,
    state: ApiState,
) {
    loop {
        if state.stopping() {
            return;
        }
        changes.mark_unchanged();
        let Ok(_permit) = READS.acquire().await else {
            return;
        };
        let Ok((returned, page)) = tokio::task::spawn_blocking(move || {
            let page = read_page(&mut tail);
            (tail, page)
        })
        .await
        else {
            return;
        };
        drop(_permit);
        tail = returned;
        for line in page.lines {
            tokio::select! {
                sent = tx.send(Ok(line)) => if sent.is_err() { return }, // the client went away
                () = follower.displaced() => return,
            }
        }
        if page.failed {
            return;
        }
        if page.caught_up {
            tokio::select! {
                changed = changes.changed() => if changed.is_err() { return },
                () = tx.closed() => return,
                () = follower.displaced() => return,
            }
        }
    }
}

/// Up to [`PAGE_LINES`] entries of `tail` as NDJSON lines.
fn read_page(tail: &mut Tail) -> Page {
    let mut page = Page {
        lines: Vec::new(),
        caught_up: false,
        failed: false,
    };
    while page.lines.len() < PAGE_LINES {
        let line = match tail.next_entry() {
            Ok(None) => {
                page.caught_up = true;
                break;
            }
            Ok(Some(entry)) => serde_json::to_value(&entry).map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match line {
            Ok(line) => page.lines.push(Bytes::from(format!("{line}\n"))),
            Err(e) => {
                let last = serde_json::json!({ "streamError": e });
                page.lines.push(Bytes::from(format!("{last}\n")));
                page.failed = true;
                break;
            }
        }
    }
    page
}
