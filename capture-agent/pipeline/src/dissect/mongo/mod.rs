//! MongoDB wire protocol (<https://www.mongodb.com/docs/manual/reference/mongodb-wire-protocol/>):
//! `OP_MSG` (a body document and document sequences, with or without a checksum), the legacy
//! `OP_QUERY` / `OP_REPLY` that drivers still open a connection with (`isMaster`/`hello` on
//! `admin.$cmd`), the other legacy opcodes by name, and `OP_COMPRESSED` (snappy, zlib and zstd
//! undone within the body cap: zlib and zstd as far as it, a snappy block only whole; another
//! compressor, or a message too damaged or too large to undo, is named and its content not read).
//!
//! Every request is an exchange with the reply whose `responseTo` is its `requestID`, whatever
//! the order; a request sent with `moreToCome` (an unacknowledged write) is an exchange without a
//! response, and a reply with `moreToCome` (an exhaust cursor) is followed by more replies, each
//! an exchange of its own. Fields (KFL names):
//! - request: `opcode` (`OP_MSG`, `OP_QUERY`, …), `command` (the command document's first key:
//!   `find`, `insert`, `hello`; a legacy query on a collection is `find`), `database` (`$db`, or
//!   the namespace's), `collection` (the command's value when it is a string, `getMore`'s
//!   `collection`, or the namespace's), `requestId`, `compressor` (of an `OP_COMPRESSED`),
//!   `body` (the command as relaxed Extended JSON, document sequences folded in as the server
//!   reads them), `size` (message bytes);
//! - response: `opcode`, `ok` (1 or 0), `errmsg`, `code` (as text, as every protocol's is),
//!   `codeName` (the reply's, else its first write error's or its write concern error's), `status`
//!   (0, else the error code as a number, 1 without one), `documents` (a cursor's `firstBatch`/`nextBatch` length, else `n`, else an `OP_REPLY`'s
//!   count), `body`, `size`.
//!
//! A message keeps at most `--max-body` bytes (16 KiB at least, so the command is always read)
//! for its documents, decoded as far as they came; the rest is counted, not held, so
//! `documents` counts only the documents of that prefix.
//!
//! # Files
//! `bson` reads documents into JSON; `wire` reads headers and message bodies; `parser` frames
//! messages and pairs replies with requests.

use super::{Confidence, Direction, Dissector, Parser, ParserSettings};
use parser::MongoParser;
use wire::{HEADER, OP_COMPRESSED, OP_MSG, OP_QUERY, OP_REPLY, header};

mod bson;
mod parser;
#[cfg(test)]
mod test_bson;
#[cfg(test)]
mod tests;
mod wire;

/// MongoDB: commands, databases, collections, documents, `ok` and error codes.
pub struct MongoDissector;

impl Dissector for MongoDissector {
    fn name(&self) -> &'static str {
        "mongo"
    }

    fn ports(&self) -> &'static [u16] {
        &[27017]
    }

    fn probe(&self, data: &[u8], dir: Direction) -> Confidence {
        if data.len() < HEADER + 1 {
            return Confidence::NeedMore;
        }
        let Some(head) = header(data) else {
            return Confidence::No;
        };
        let request = head.response_to == 0;
        let fits = match (dir, head.opcode) {
            (Direction::ToServer, OP_REPLY) => false,
            (Direction::ToServer, _) => request,
            (Direction::ToClient, OP_MSG | OP_REPLY | OP_COMPRESSED) => !request,
            (Direction::ToClient, _) => false,
        };
        // What follows the header: an OP_MSG's flags and first section kind, an OP_QUERY's
        // namespace.
        let body = data.get(HEADER..).unwrap_or_default();
        let shaped = match head.opcode {
            OP_MSG => match (bson::int32(body, 0), body.get(4)) {
                (Some(flags), Some(&kind)) => flags as u32 & !0x0001_0003 == 0 && kind <= 1,
                _ => true,
            },
            OP_QUERY => {
                let namespace = body.get(4..).unwrap_or_default();
                namespace
                    .iter()
                    .position(|&b| b == 0)
                    .is_none_or(|end| namespace.get(..end).is_some_and(|ns| ns.contains(&b'.')))
            }
            _ => true,
        };
        if fits && shaped {
            Confidence::Yes
        } else {
            Confidence::No
        }
    }

    fn parser(&self, settings: &ParserSettings) -> Box<dyn Parser> {
        Box::new(MongoParser::new(settings.max_body))
    }
}
