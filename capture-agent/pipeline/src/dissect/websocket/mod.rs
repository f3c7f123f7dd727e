//! WebSocket (RFC 6455) after an HTTP/1.1 `Upgrade: websocket` (the handshake itself stays an
//! HTTP entry): every message is an entry of its own — a text or binary message with its frames
//! joined, and each close (with its code and reason), ping and pong, even one sent between the
//! fragments of a message. A client's message fills `request`, a server's `response`.
//!
//! Payloads are unmasked, and compressed messages (permessage-deflate, RFC 7692, when the
//! handshake's response agreed it) inflated, keeping at most `--max-body` bytes of each (the
//! rest is still inflated to keep the window right, up to a bound). Frames stream through: a
//! connection holds a frame header, one data message's kept body and one control frame's per
//! direction, and the decompressor's window.
//!
//! Each message carries `size`, its frames on the wire (headers included), and `bodySize`, their
//! payload as sent (compressed, if it was). A gap ends the direction's dissection: WebSocket
//! frames carry nothing to find the next one by.
//!
//! # Files
//! `frame` reads frame headers and unmasks; `inflate` undoes permessage-deflate; `parser` joins
//! frames into messages.

use super::{Parser, ParserSettings};
use parser::WebSocketParser;

mod frame;
mod inflate;
mod parser;
#[cfg(test)]
mod tests;

/// The parser that takes a connection over after its `101 Switching Protocols` to WebSocket;
/// `extensions` is the response's `Sec-WebSocket-Extensions` header, if any.
pub(super) fn parser_after_upgrade(
    extensions: Option<&str>,
    settings: &ParserSettings,
) -> Box<dyn Parser> {
    let deflate = extensions.is_some_and(|value| {
        value.split(',').any(|ext| {
            ext.split(';')
                .next()
                .is_some_and(|name| name.trim().eq_ignore_ascii_case("permessage-deflate"))
        })
    });
    Box::new(WebSocketParser::new(settings.max_body, deflate))
}
