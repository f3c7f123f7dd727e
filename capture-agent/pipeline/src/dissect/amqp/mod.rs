//! AMQP 0-9-1 (<https://www.rabbitmq.com/resources/specs/amqp0-9-1.pdf>, with RabbitMQ's
//! extensions): connection and channel methods, declarations, `basic.publish` / `deliver` /
//! `get` / `ack` / `nack` with their messages, and errors closing a channel or the connection.
//!
//! Every method is an entry. A synchronous method (`queue.declare`, `basic.get`,
//! `connection.open`, …) waits for its reply on its channel, whichever side sent it (the server
//! opens with `connection.start`), and the two make one exchange; a method sent with `no-wait`
//! and the asynchronous ones (`basic.publish`, `deliver`, `ack`, `nack`, `reject`, `return`) are
//! entries of their own. A method with content (publish, deliver, return, get-ok) takes in its
//! content header (properties) and body frames, which may interleave with other channels'
//! frames; the body is kept up to `--max-body`. A `channel.close` or `connection.close` answers
//! the methods the other side was waiting on with its reply code (`response.status`) and text,
//! then waits for its own `close-ok`.
//!
//! Each request and response carries `size`: the bytes of its frames on the wire (method,
//! content header and body frames, each with its 7-byte header and frame-end octet); the
//! protocol header and heartbeats belong to no entry.
//!
//! # Files
//! `framing` tells the shared PDU framer how frames are cut; `codec` reads AMQP's types and
//! field tables; `methods` holds the method table and reads arguments and properties; `parser`
//! pairs replies and assembles messages.

use super::{Confidence, Direction, Dissector, Parser, ParserSettings};
use framing::{FRAME_END, FRAME_HEADER, METHOD, frame_head};
use parser::AmqpParser;

mod codec;
mod framing;
mod methods;
mod parser;
#[cfg(test)]
mod tests;

/// AMQP 0-9-1: methods, exchanges, routing keys, queues, message properties and bodies, reply codes.
pub struct AmqpDissector;

impl Dissector for AmqpDissector {
    fn name(&self) -> &'static str {
        "amqp"
    }

    fn ports(&self) -> &'static [u16] {
        &[5672]
    }

    fn probe(&self, data: &[u8], _dir: Direction) -> Confidence {
        const HEADER: &[u8] = b"AMQP\x00\x00\x09\x01";
        let shown = data.len().min(HEADER.len());
        if data.first() == Some(&b'A') {
            return if data.get(..shown) != HEADER.get(..shown) {
                Confidence::No
            } else if shown < HEADER.len() {
                Confidence::NeedMore
            } else {
                Confidence::Yes
            };
        }
        // Mid-connection: a method frame of a known method, ended by the frame-end octet.
        if data.len() < FRAME_HEADER + 4 {
            return Confidence::NeedMore;
        }
        let Some(head) = frame_head(data).filter(|h| h.kind == METHOD && h.len >= 4) else {
            return Confidence::No;
        };
        let word = |at: usize| {
            data.get(at..at + 2)
                .map(|b| u16::from_be_bytes([b[0], b[1]]))
        };
        let known = matches!((word(7), word(9)), (Some(class), Some(id)) if methods::lookup(class, id).is_some());
        match data.get(FRAME_HEADER + head.len) {
            _ if !known => Confidence::No,
            Some(&FRAME_END) => Confidence::Yes,
            Some(_) => Confidence::No,
            None if head.len <= 4096 => Confidence::NeedMore,
            None => Confidence::Maybe,
        }
    }

    fn parser(&self, settings: &ParserSettings) -> Box<dyn Parser> {
        Box::new(AmqpParser::new(settings.max_body))
    }
}
