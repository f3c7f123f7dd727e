//! `GET /api/follow?kfl=…&from=…&after=NODE:ID,…`: rows as NDJSON as the store indexes them (as
//! `query --follow` prints them), until the page goes away or the server stops. With `from`, the
//! stored ones since then come first; `after` resumes each named node past the last id shown. In
//! a cluster every agent is followed, a node whose connection broke is followed again once it
//! answers, and a `{"notice": "…"}` line says so each time.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Query as UrlQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use shark_store::Tail;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::{ApiError, Window, blocking};
use crate::cluster::directory::Directory;
use crate::cluster::follow::{Followed, follow_all};
use crate::ui::rows::{Origin, row};
use crate::ui::{Source, UiState, cluster};

/// How often the store is looked at for new entries.
const POLL: Duration = Duration::from_millis(500);
/// Lines buffered between the tail and the connection.
const QUEUE_LINES: usize = 256;

/// `?kfl=…&from=…&after=…`.
#[derive(Debug, Deserialize)]
pub struct FollowParams {
    #[serde(flatten)]
    window: Window,
    /// `NODE:ID,…`.
    #[serde(default)]
    after: String,
}

/// Streams new matching rows; a failure ends the stream with `{"streamError": "…"}`.
pub async fn follow(
    State(state): State<UiState>,
    UrlQuery(params): UrlQuery<FollowParams>,
) -> Result<Response, ApiError> {
    let query = params.window.query()?;
    let resume = resume_points(&params.after)?;
    if let Source::Cluster(clusters) = state.source() {
        let fleet = &*clusters.fleet();
        let asked = cluster::asked(fleet, query.filter.as_ref());
        let followed = follow_all(&asked, &params.window.kfl, query.from, &resume);
        let directory = state.directory(fleet).await;
        let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(QUEUE_LINES);
        tokio::spawn(forward(followed, directory, tx, state.clone()));
        return Ok(ndjson(rx));
    }
    let store = state.source().store()?.clone();
    let tail = blocking(move || {
        let mut tail = store
            .tail(query.filter, query.from)
            .map_err(ApiError::store)?;
        tail.resume_after(&resume);
        Ok(tail)
    })
    .await?;
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(QUEUE_LINES);
    tokio::task::spawn_blocking(move || stream(tail, &tx, &state));
    Ok(ndjson(rx))
}

/// The lines `rx` gives, as an NDJSON answer.
fn ndjson(rx: mpsc::Receiver<Result<Bytes, std::io::Error>>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(ReceiverStream::new(rx)),
    )
        .into_response()
}

/// Sends every agent's followed entries as rows, and a `{"notice": "…"}` line when a node's
/// connection broke or came back, until the page goes away, the server stops or no node is left
/// (then a last `streamError` line).
async fn forward(
    mut followed: mpsc::Receiver<Followed>,
    directory: std::sync::Arc<Directory>,
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
    state: UiState,
) {
    let mut stop = tokio::time::interval(POLL);
    loop {
        let line = tokio::select! {
            next = followed.recv() => match next {
                Some(Followed::Entry(cluster, mut entry)) => {
                    let named = directory.name_entry(&cluster, &mut entry);
                    match row(&entry, Origin::Cluster(&cluster, &named)) {
                        Ok(row) => row,
                        Err(e) => serde_json::json!({ "streamError": e.to_string() }),
                    }
                }
                Some(Followed::Note(note)) => serde_json::json!({ "notice": note }),
                None => serde_json::json!({ "streamError": "no node is left to follow" }),
            },
            _ = stop.tick() => {
                if state.stopping() || tx.is_closed() {
                    return;
                }
                continue;
            }
        };
        let last = line.get("streamError").is_some();
        if tx.send(Ok(Bytes::from(format!("{line}\n")))).await.is_err() || last {
            return;
        }
    }
}

/// `NODE:ID,…` as a map.
fn resume_points(after: &str) -> Result<BTreeMap<String, i64>, ApiError> {
    after
        .split(',')
        .filter(|part| !part.is_empty())
        .map(|part| {
            part.rsplit_once(':')
                .and_then(|(node, id)| Some((node.to_string(), id.parse().ok()?)))
                .ok_or_else(|| ApiError::bad(format!("after: `{part}` is not NODE:ID")))
        })
        .collect()
}

/// Sends the tail's rows until the page goes away, the server stops or the store fails.
fn stream(mut tail: Tail, tx: &mpsc::Sender<Result<Bytes, std::io::Error>>, state: &UiState) {
    while !tx.is_closed() && !state.stopping() {
        loop {
            let line = match tail.next_entry() {
                Ok(None) => break,
                Ok(Some(entry)) => row(&entry, Origin::Store).map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            let (line, last) = match line {
                Ok(line) => (line, false),
                Err(e) => (serde_json::json!({ "streamError": e }), true),
            };
            if tx
                .blocking_send(Ok(Bytes::from(format!("{line}\n"))))
                .is_err()
                || last
            {
                return;
            }
        }
        std::thread::sleep(POLL);
    }
}
