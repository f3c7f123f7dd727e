//! HTTP/2 (RFC 9113) and, on the same streams, gRPC.
//!
//! The parser reads frames in both directions (prior knowledge, after an `h2c` upgrade, or from a
//! connection joined mid-way), decodes header blocks with one HPACK decoder per direction, and turns
//! every stream into one [`Exchange`](super::Exchange): request headers and body, response headers,
//! body and trailers. A stream whose content type is `application/grpc*` is labelled `grpc` (see
//! `grpc`); RST_STREAM, GOAWAY, lost bytes and missing compression state mark the
//! stream's `error` rather than stopping the connection.

mod connection;
mod frame;
mod headers;
mod reader;
mod stream;

use shark_store::Message;

use super::{ChunkMeta, Confidence, Direction, Dissector, Parser, ParserSettings};
use connection::Http2Parser;
use frame::{PREFACE, plausible_chain, plausible_prefix};

/// HTTP/2 over cleartext TCP (prior knowledge or joined mid-way), including gRPC.
#[derive(Debug, Clone, Copy, Default)]
pub struct Http2Dissector;

impl Dissector for Http2Dissector {
    fn name(&self) -> &'static str {
        "http2"
    }

    /// No port is HTTP/2's own; 50051 is gRPC's conventional one.
    fn ports(&self) -> &'static [u16] {
        &[50051]
    }

    /// `Yes` for the client preface or a chain of well-formed frames (a connection joined mid-way);
    /// `NeedMore` for a preface prefix or a single frame that has not fully arrived.
    fn probe(&self, data: &[u8], _dir: Direction) -> Confidence {
        let n = data.len().min(PREFACE.len());
        if n > 0 && data.get(..n) == PREFACE.get(..n) {
            return if n == PREFACE.len() {
                Confidence::Yes
            } else {
                Confidence::NeedMore
            };
        }
        match plausible_chain(data) {
            Some(complete) if complete > 0 => Confidence::Yes,
            Some(_) => Confidence::NeedMore,
            None if data.len() < frame::HEADER_LEN && plausible_prefix(data) => {
                Confidence::NeedMore
            }
            None => Confidence::No,
        }
    }

    fn parser(&self, settings: &ParserSettings) -> Box<dyn Parser> {
        Box::new(Http2Parser::new(settings))
    }
}

/// The parser for a connection that switched from HTTP/1.1 after `101 Switching Protocols` with
/// `Upgrade: h2c`: stream 1 is the upgraded request, whose response arrives as HTTP/2 stream 1.
/// Stream 1's exchange takes `request` (the HTTP/1.1 request's fields, first sent at `start`) as
/// its request. Bodies are kept as `settings` say, like any HTTP/2 connection's.
pub fn parser_after_upgrade(
    request: Message,
    start: Option<ChunkMeta>,
    settings: &ParserSettings,
) -> Box<dyn Parser> {
    Box::new(Http2Parser::after_upgrade(request, start, settings))
}
