//! One HTTP/1 message as the parser builds it (fields, body bytes kept, where it starts and ends),
//! and the [`Exchange`] a request and its response make.

use serde_json::Value;
use shark_store::{BODY_TRUNCATED, Message};

use super::super::body::write_body;
use super::super::{ChunkMeta, Exchange, ParserSettings};

/// A message being read or waiting to be paired.
#[derive(Debug, Clone, Default)]
pub(super) struct Msg {
    /// Fields already known (method, path, headers, status, …).
    pub fields: Message,
    /// `1.0` or `1.1`.
    pub version: &'static str,
    /// The request method; empty for a response.
    pub method: String,
    /// The response status; 0 for a request.
    pub status: u16,
    /// Body bytes kept (at most `--max-body`).
    pub body: Vec<u8>,
    /// Body bytes on the wire, kept or not (`bodySize`).
    pub size: u64,
    /// Chunked framing on the wire: chunk-size lines, the line ends after chunks, trailers.
    pub framing_bytes: u64,
    /// Body bytes were dropped to keep the connection within its byte budget: no more are kept,
    /// and the message is marked `bodyTruncated` (the packets still hold the body).
    pub body_dropped: bool,
    /// Length of the header block on the wire, what the parsed headers stand for in memory.
    pub header_bytes: usize,
    /// `Content-Encoding`, if any.
    pub encoding: Option<String>,
    /// Packet of the first byte.
    pub start: Option<ChunkMeta>,
    /// Packet of the last byte so far.
    pub end: Option<ChunkMeta>,
    /// Why the message is incomplete or wrong, if it is.
    pub error: Option<String>,
    /// The `Upgrade` header, if any.
    pub upgrade: Option<String>,
}

impl Msg {
    /// Counts `bytes` into the body's size, keeping them up to `max_body` bytes in all (none
    /// once the body was dropped).
    pub fn take_body(&mut self, bytes: &[u8], meta: ChunkMeta, max_body: usize) {
        self.size += bytes.len() as u64;
        if !self.body_dropped {
            let room = max_body.saturating_sub(self.body.len());
            self.body
                .extend_from_slice(bytes.get(..room.min(bytes.len())).unwrap_or_default());
        }
        self.end = Some(meta);
    }

    /// Makes room at once for the body bytes still to be kept when `remaining` more are coming
    /// (a Content-Length body), so the body is allocated once and holds no spare capacity.
    pub fn expect_body(&mut self, remaining: u64, max_body: usize) {
        if self.body_dropped {
            return;
        }
        let room = max_body.saturating_sub(self.body.len());
        let coming = usize::try_from(remaining).unwrap_or(usize::MAX).min(room);
        self.body.reserve_exact(coming);
    }

    /// Bytes this message holds in memory: its header block and the allocation of its body.
    pub fn held_bytes(&self) -> usize {
        self.header_bytes.saturating_add(self.body.capacity())
    }

    /// Releases the body bytes kept so far and keeps no more; the size still counts them all.
    pub fn drop_body(&mut self) {
        self.body = Vec::new();
        self.body_dropped = true;
    }

    /// The message's fields, with its body decoded for display (at most `max_body` bytes), or
    /// marked `bodyTruncated` when its bytes were dropped.
    pub fn into_fields(mut self, max_body: usize) -> Message {
        if self.body_dropped {
            if self.size > 0 {
                self.fields.insert(BODY_TRUNCATED.into(), Value::Bool(true));
            }
        } else if self.size > 0 || !self.body.is_empty() {
            let complete = self.body.len() as u64 == self.size;
            // The body becomes the text without a copy; a chunked one grew by doubling, and an
            // entry waiting to be written should hold no more than its bytes.
            self.body.shrink_to_fit();
            write_body(
                &mut self.fields,
                std::mem::take(&mut self.body),
                complete,
                self.encoding.as_deref(),
                max_body,
            );
        }
        // The whole message on the wire, as every protocol counts `size`; the body alone apart.
        let head = u64::try_from(self.header_bytes).unwrap_or(u64::MAX);
        let whole = head
            .saturating_add(self.framing_bytes)
            .saturating_add(self.size);
        self.fields.insert("size".into(), whole.into());
        self.fields.insert("bodySize".into(), self.size.into());
        self.fields
    }
}

/// The exchange for a request and/or response.
pub(super) fn exchange(
    request: Option<Msg>,
    response: Option<Msg>,
    error: Option<String>,
    settings: &ParserSettings,
) -> Exchange {
    let version = request
        .as_ref()
        .or(response.as_ref())
        .map(|m| m.version)
        .unwrap_or("1.1")
        .to_string();
    let start = request
        .as_ref()
        .and_then(|r| r.start)
        .or_else(|| response.as_ref().and_then(|r| r.start));
    let end = response
        .as_ref()
        .and_then(|r| r.end)
        .or_else(|| request.as_ref().and_then(|r| r.end));
    Exchange {
        protocol: "http",
        version,
        request: request
            .map(|r| r.into_fields(settings.max_body))
            .unwrap_or_default(),
        response: response
            .map(|r| r.into_fields(settings.max_body))
            .unwrap_or_default(),
        error,
        start,
        end,
    }
}
