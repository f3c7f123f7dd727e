//! PostgreSQL frontend/backend protocol 3.0
//! (<https://www.postgresql.org/docs/current/protocol-message-formats.html>).
//!
//! Each request is a cycle that the server ends with ReadyForQuery: the startup message, a simple
//! Query, or an extended-protocol batch (Parse/Bind/Describe/Execute … Sync) whose SQL comes from
//! its Parse or, for a prepared statement parsed earlier, from the statement or portal it names. A
//! batch that binds a named statement also carries the name (`statement`): for a statement prepared
//! before the capture began, the name is all there is to show (tshark shows the same).
//! Cycles are paired with ReadyForQuery in order, so pipelined batches pair correctly.
//!
//! Messages are framed with only a capped prefix of their body kept (DataRow keeps none), the rest
//! skipped by count: a million-row result costs a counter, not memory.
//!
//! Each exchange carries `size` on both sides: the bytes on the wire (type byte, length field and
//! body, as the length field gives them) of the frontend messages of its cycle, and of the backend
//! messages up to and including its ReadyForQuery. Frontend messages outside a cycle (password,
//! COPY data) count toward the cycle they continue: the open one, else the last one sent. A
//! message a capture gap or the end of the flow cuts short counts the bytes that passed.
//!
//! # Files
//! `framing` tells the shared PDU framer how each side frames its messages (typed, untyped, the
//! one-byte answer to SSLRequest) and how much of each to keep; `messages` turns messages into
//! exchange fields; `parser` groups messages into cycles and pairs them with ReadyForQuery.

use super::{Confidence, Direction, Dissector, Parser, ParserSettings};
use framing::{MAX_SQL, be32, plausible_header};
use messages::{CANCEL_REQUEST, GSSENC_REQUEST, PROTOCOL_3, SSL_REQUEST};
use parser::PostgresParser;

mod framing;
mod messages;
mod parser;
#[cfg(test)]
mod tests;

/// PostgreSQL: startup, SSLRequest, simple and extended queries, command tags, errors.
pub struct PostgresDissector;

impl Dissector for PostgresDissector {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn ports(&self) -> &'static [u16] {
        &[5432]
    }

    fn probe(&self, data: &[u8], dir: Direction) -> Confidence {
        if dir == Direction::ToServer
            && let Some(code) = be32(data, 4)
        {
            let len = be32(data, 0).unwrap_or(0);
            let untyped = match code {
                SSL_REQUEST | GSSENC_REQUEST => len == 8,
                CANCEL_REQUEST => len == 16,
                PROTOCOL_3 => (8..=10_000).contains(&len),
                _ => false,
            };
            if untyped {
                return Confidence::Yes;
            }
        }
        let (Some(&kind), Some(len)) = (data.first(), be32(data, 1)) else {
            return Confidence::NeedMore;
        };
        let Ok(len) = usize::try_from(len) else {
            return Confidence::No;
        };
        if !plausible_header(dir, kind, len) {
            return Confidence::No;
        }
        let Some(body) = data.get(5..1 + len) else {
            return if len <= MAX_SQL {
                Confidence::NeedMore
            } else {
                Confidence::Maybe
            };
        };
        let strings = body.iter().filter(|&&b| b == 0).count();
        let ends_with_nul = body.last() == Some(&0);
        let valid = match kind {
            b'Q' | b'C' => ends_with_nul && strings == 1,
            b'P' => strings >= 2,
            b'E' | b'N' if dir == Direction::ToClient => {
                ends_with_nul && body.first() == Some(&b'S')
            }
            b'Z' => matches!(body, [b'I' | b'T' | b'E']),
            b'R' => len >= 8,
            _ => true,
        };
        match (valid, dir, kind) {
            (false, _, _) => Confidence::No,
            (true, Direction::ToServer, b'Q' | b'P') | (true, Direction::ToClient, b'E' | b'Z') => {
                Confidence::Yes
            }
            (true, _, _) => Confidence::Maybe,
        }
    }

    fn parser(&self, _settings: &ParserSettings) -> Box<dyn Parser> {
        Box::new(PostgresParser::default())
    }
}
