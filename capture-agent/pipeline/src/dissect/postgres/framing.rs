//! PostgreSQL's framing for the shared PDU framer: a type byte and a 4-byte length (counting
//! itself) before each message; the startup family (StartupMessage, SSLRequest, GSSENCRequest,
//! CancelRequest) has the length alone, and the server answers SSLRequest and GSSENCRequest with
//! one bare byte. Only a capped prefix of each body is kept (SQL-bearing messages more, row data
//! none); after lost framing, reading resumes at a plausible typed header of a small message.

use crate::dissect::Direction;
use crate::dissect::pdu::{PduFormat, PduHeader};

/// Longest message accepted as framing (the server's own limit for most messages is 1 GiB).
const MAX_MESSAGE: usize = 1 << 30;
/// Body bytes kept of messages whose SQL we show.
pub(super) const MAX_SQL: usize = 64 * 1024;
/// Body bytes kept of other messages that are read (errors, tags, startup parameters, names).
const MAX_SMALL: usize = 8 * 1024;
/// A typed header: the type byte and the length.
const TYPED_HEADER: usize = 5;
/// An untyped header: the length alone.
const UNTYPED_HEADER: usize = 4;

/// The big-endian u32 at `at`, if `data` holds one there.
pub(super) fn be32(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(data.get(at..at + 4)?.try_into().ok()?))
}

/// Whether a typed message header could start a message in direction `dir`.
pub(super) fn plausible_header(dir: Direction, kind: u8, len: usize) -> bool {
    let fixed = |n: usize| len == n;
    match dir {
        Direction::ToServer => match kind {
            b'S' | b'H' | b'X' | b'c' => fixed(4),
            b'Q' | b'P' | b'B' | b'E' | b'D' | b'C' | b'F' | b'p' | b'd' | b'f' => {
                (5..=MAX_MESSAGE).contains(&len)
            }
            _ => false,
        },
        Direction::ToClient => match kind {
            b'1' | b'2' | b'3' | b'n' | b's' | b'I' | b'c' => fixed(4),
            b'Z' => fixed(5),
            b'K' => len >= 12,
            b'R' | b'S' | b'T' | b'D' | b'C' | b'E' | b'N' | b'A' | b't' | b'G' | b'H' | b'W'
            | b'd' | b'V' | b'v' => (5..=MAX_MESSAGE).contains(&len),
            _ => false,
        },
    }
}

/// How much of a message body is kept: SQL-bearing messages get more, row data nothing.
fn body_cap(dir: Direction, kind: u8) -> usize {
    match (dir, kind) {
        (Direction::ToServer, b'Q' | b'P') => MAX_SQL,
        (Direction::ToServer, 0 | b'B' | b'E') => MAX_SMALL,
        (Direction::ToClient, 0 | b'C' | b'E') => MAX_SMALL,
        _ => 0,
    }
}

/// The message a typed header (type byte, length) announces in direction `dir`.
fn typed(dir: Direction, header: &[u8]) -> Option<PduHeader<u8>> {
    let kind = *header.first()?;
    let len = usize::try_from(be32(header, 1)?).ok()?;
    if !plausible_header(dir, kind, len) {
        return None;
    }
    let body_len = len - 4;
    Some(PduHeader {
        head: kind,
        body_len,
        keep: body_len.min(body_cap(dir, kind)),
    })
}

/// Whether `bytes` start with the typed header of a small message that could come in `dir`.
fn resumes_at(dir: Direction, bytes: &[u8]) -> bool {
    let Some(header) = bytes.get(..TYPED_HEADER) else {
        return false;
    };
    let len = be32(header, 1)
        .and_then(|l| usize::try_from(l).ok())
        .unwrap_or(0);
    header
        .first()
        .is_some_and(|&kind| plausible_header(dir, kind, len) && len < MAX_SMALL)
}

/// The client's side; a message's head is its type byte, 0 for the startup family.
#[derive(Debug, Default)]
pub(super) struct Frontend {
    /// The next message has no type byte (StartupMessage, SSLRequest, …).
    pub(super) untyped_next: bool,
}

impl PduFormat for Frontend {
    type Head = u8;

    fn header_len(&self) -> usize {
        if self.untyped_next {
            UNTYPED_HEADER
        } else {
            TYPED_HEADER
        }
    }

    fn read_header(&mut self, header: &[u8]) -> Option<PduHeader<u8>> {
        if !std::mem::take(&mut self.untyped_next) {
            return typed(Direction::ToServer, header);
        }
        let len = usize::try_from(be32(header, 0)?).ok()?;
        if !(8..=10_000).contains(&len) {
            return None;
        }
        let body_len = len - 4;
        Some(PduHeader {
            head: 0,
            body_len,
            keep: body_len.min(body_cap(Direction::ToServer, 0)),
        })
    }

    fn plausible_start(&self, bytes: &[u8]) -> bool {
        resumes_at(Direction::ToServer, bytes)
    }
}

/// The server's side; a message's head is its type byte, 0 for the one-byte answer.
#[derive(Debug, Default)]
pub(super) struct Backend {
    /// The next byte is the bare answer to SSLRequest or GSSENCRequest.
    pub(super) answer_byte_next: bool,
}

impl PduFormat for Backend {
    type Head = u8;

    fn header_len(&self) -> usize {
        if self.answer_byte_next {
            0
        } else {
            TYPED_HEADER
        }
    }

    fn read_header(&mut self, header: &[u8]) -> Option<PduHeader<u8>> {
        if std::mem::take(&mut self.answer_byte_next) {
            return Some(PduHeader {
                head: 0,
                body_len: 1,
                keep: 1,
            });
        }
        typed(Direction::ToClient, header)
    }

    fn plausible_start(&self, bytes: &[u8]) -> bool {
        resumes_at(Direction::ToClient, bytes)
    }
}
