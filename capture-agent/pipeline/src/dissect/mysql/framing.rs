//! MySQL's framing for the shared PDU framer: every packet has a 3-byte little-endian payload
//! length and a 1-byte sequence number; a payload of 0xFFFFFF bytes continues in the next packet.
//! Only a capped prefix of each payload is kept (SQL-bearing commands more); after lost framing,
//! reading resumes where a small packet with a plausible first byte starts.

use crate::dissect::Direction;
use crate::dissect::pdu::{PduFormat, PduHeader};

/// A packet header: payload length (3 bytes) and sequence number.
pub(super) const HEADER: usize = 4;
/// The payload length that says the payload continues in the next packet.
const CONTINUED: usize = 0xFF_FFFF;
/// Payload bytes kept of client packets (the SQL of COM_QUERY and COM_STMT_PREPARE).
pub(super) const MAX_SQL: usize = 64 * 1024;
/// Payload bytes kept of server packets (OK, ERR, column definitions; of a row, its first bytes).
const MAX_SERVER: usize = 1024;
/// Longest packet read again after framing was lost.
const MAX_RESUME: usize = 1 << 16;

/// What a packet header says besides the length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Head {
    /// The sequence number: 0 starts a command; the server's replies count on from it.
    pub seq: u8,
    /// The packet continues the payload of the one before (that one had 0xFFFFFF bytes).
    pub continuation: bool,
}

/// The payload length in a packet header.
pub(super) fn payload_len(header: &[u8]) -> Option<usize> {
    match header {
        [a, b, c, ..] => Some(usize::from(*a) | usize::from(*b) << 8 | usize::from(*c) << 16),
        _ => None,
    }
}

/// One side of a MySQL connection.
#[derive(Debug)]
pub(super) struct Side {
    dir: Direction,
    /// The last packet's payload was 0xFFFFFF bytes: the next one continues it.
    continued: bool,
}

impl Side {
    /// The side sending the bytes going `dir`.
    pub(super) fn new(dir: Direction) -> Self {
        Side {
            dir,
            continued: false,
        }
    }
}

impl PduFormat for Side {
    type Head = Head;

    fn header_len(&self) -> usize {
        HEADER
    }

    fn read_header(&mut self, header: &[u8]) -> Option<PduHeader<Head>> {
        let len = payload_len(header)?;
        let seq = *header.get(3)?;
        let continuation = std::mem::replace(&mut self.continued, len == CONTINUED);
        let cap = match self.dir {
            Direction::ToServer => MAX_SQL,
            Direction::ToClient => MAX_SERVER,
        };
        Some(PduHeader {
            head: Head { seq, continuation },
            body_len: len,
            // A continuation carries no header of its own to read.
            keep: if continuation { 0 } else { len.min(cap) },
        })
    }

    fn plausible_start(&self, bytes: &[u8]) -> bool {
        let (Some(len), Some(&seq), Some(&first)) =
            (payload_len(bytes), bytes.get(3), bytes.get(HEADER))
        else {
            return false;
        };
        if len == 0 || len > MAX_RESUME {
            return false;
        }
        match self.dir {
            // A command: sequence 0 and a command byte (COM_SLEEP to COM_RESET_CONNECTION, or
            // MariaDB's COM_STMT_BULK_EXECUTE).
            Direction::ToServer => seq == 0 && (first <= 0x1F || first == 0xFA),
            // A reply's first packet: OK, ERR or EOF.
            Direction::ToClient => seq == 1 && matches!(first, 0x00 | 0xFE | 0xFF),
        }
    }
}

/// A length-encoded integer at the start of `data`, and the bytes it took; `None` for NULL (0xFB),
/// 0xFF or too few bytes.
pub(super) fn lenenc(data: &[u8]) -> Option<(u64, usize)> {
    let (&first, rest) = data.split_first()?;
    let fixed = |n: usize| -> Option<(u64, usize)> {
        let bytes = rest.get(..n)?;
        let value = bytes
            .iter()
            .rev()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        Some((value, n + 1))
    };
    match first {
        0..=0xFA => Some((u64::from(first), 1)),
        0xFC => fixed(2),
        0xFD => fixed(3),
        0xFE => fixed(8),
        _ => None,
    }
}

/// A length-encoded string at the start of `data`, and the bytes it took.
pub(super) fn lenenc_str(data: &[u8]) -> Option<(&[u8], usize)> {
    let (len, used) = lenenc(data)?;
    let len = usize::try_from(len).ok()?;
    let text = data.get(used..used.checked_add(len)?)?;
    Some((text, used + len))
}

/// The NUL-terminated string at the start of `data` (all of it when no NUL ends it), and the bytes
/// it took with its NUL.
pub(super) fn nul_str(data: &[u8]) -> (&[u8], usize) {
    match data.iter().position(|&b| b == 0) {
        Some(end) => (&data[..end], end + 1),
        None => (data, data.len()),
    }
}

/// The little-endian u16 at `at`.
pub(super) fn le16(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(data.get(at..at + 2)?.try_into().ok()?))
}

/// The little-endian u32 at `at`.
pub(super) fn le32(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(data.get(at..at + 4)?.try_into().ok()?))
}
