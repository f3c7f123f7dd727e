//! `POST /v1/export`: the packets of the matching entries as one PCAP stream.

use std::io::Write;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::request::open_window;
use super::state::ApiState;

/// Bytes per chunk sent to the connection.
const CHUNK: usize = 64 << 10;

/// Streams a classic PCAP (`application/vnd.tcpdump.pcap`).
pub async fn export(State(state): State<ApiState>, body: Bytes) -> Response {
    let super::request::Opened {
        request,
        query,
        store,
        permit,
    } = match open_window(&state, body).await {
        Ok(opened) => opened,
        Err(response) => return *response,
    };
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(8);
    let whole_flows = request.whole_flows;
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let mut out = ChannelWriter {
            tx: tx.clone(),
            buf: Vec::with_capacity(CHUNK),
        };
        let result = store
            .export(&query, whole_flows, &mut out)
            .map(|summary| {
                if summary.entries_without_packets > 0 {
                    tracing::warn!(
                        "export: {} of the {} matching entries have no packets left",
                        summary.entries_without_packets,
                        summary.entries
                    );
                }
            })
            .map_err(std::io::Error::other);
        let result = result.and_then(|()| out.flush());
        if let Err(e) = result {
            // A PCAP has no room for an error message: end the body with an error, which the client sees.
            let _ = tx.blocking_send(Err(e));
        }
    });
    (
        [(header::CONTENT_TYPE, "application/vnd.tcpdump.pcap")],
        Body::from_stream(ReceiverStream::new(rx)),
    )
        .into_response()
}

/// A `Write` that hands full chunks to the response stream.
struct ChannelWriter {
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
    buf: Vec<u8>,
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client went away"))
    }
}
