//! `POST /v1/query`: the matching entries of a window, as NDJSON in time order (or one page of
//! them, newest or oldest first: see [`super::page`]).

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::request::open_window;
use super::state::ApiState;

/// Lines buffered between the store reader and the connection.
const QUEUE_LINES: usize = 256;

/// Streams the entries as NDJSON (`Entry` as stored: timestamps in ns), with whole bodies.
pub async fn query(State(state): State<ApiState>, body: Bytes) -> Response {
    let super::request::Opened {
        request,
        query,
        store,
        permit,
    } = match open_window(&state, body).await {
        Ok(opened) => opened,
        Err(response) => return *response,
    };
    if request.order.is_some() || request.after.is_some() {
        let page = super::page::page(&request, query, store).await;
        drop(permit);
        return page;
    }
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(QUEUE_LINES);
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        // The answer shows bodies: those the index cut are read back from the packets.
        let entries = match store.query_with_bodies(&query) {
            Ok(entries) => entries,
            Err(e) => return send_error(&tx, &e.to_string()),
        };
        for entry in entries {
            let line = entry
                .map_err(|e| e.to_string())
                .and_then(|e| serde_json::to_vec(&e).map_err(|e| e.to_string()));
            match line {
                Ok(mut line) => {
                    line.push(b'\n');
                    if tx.blocking_send(Ok(Bytes::from(line))).is_err() {
                        return; // the client went away
                    }
                }
                Err(e) => return send_error(&tx, &e),
            }
        }
    });
    (
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(ReceiverStream::new(rx)),
    )
        .into_response()
}

/// Ends the stream with a last line saying why it is cut short.
fn send_error(tx: &mpsc::Sender<Result<Bytes, std::io::Error>>, message: &str) {
    let line = format!("{}\n", serde_json::json!({ "streamError": message }));
    let _ = tx.blocking_send(Ok(Bytes::from(line)));
}
