//! A RESP value as the Redis dissector keeps it: the top-level type, its first leaves as capped
//! text, and where and how large it was on the wire.

use crate::dissect::ChunkMeta;

/// One leaf of a value, as text (capped).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Leaf {
    /// RESP type byte that introduced it.
    pub(super) kind: u8,
    /// Its text, capped.
    pub(super) text: String,
}

/// A complete top-level value, reduced to what the exchange needs.
#[derive(Debug)]
pub(super) struct RespValue {
    /// Type byte of the top-level value.
    pub(super) kind: u8,
    /// Whether the top-level value is a null (`$-1`, `*-1`, `_`).
    pub(super) null: bool,
    /// First leaves, in order (a request's arguments up to the reader's cap).
    pub(super) leaves: Vec<Leaf>,
    /// Leaves seen in total.
    pub(super) leaf_count: usize,
    /// Set when the value could not be read (protocol error, oversized line).
    pub(super) error: Option<String>,
    /// A request the server drops without answering.
    pub(super) no_reply: bool,
    /// Bytes of the value on the wire.
    pub(super) size: u64,
    /// The chunk that carried its first byte.
    pub(super) start: ChunkMeta,
    /// The chunk that carried its last line.
    pub(super) end: ChunkMeta,
}

impl RespValue {
    /// A value of type `kind` whose first line came in `start`, read up to `end`.
    pub(super) fn new(kind: u8, start: ChunkMeta, end: ChunkMeta) -> Self {
        RespValue {
            kind,
            null: false,
            leaves: Vec::new(),
            leaf_count: 0,
            error: None,
            no_reply: false,
            size: 0,
            start,
            end,
        }
    }

    /// Whether the server sent this on its own (RESP3 push, RESP2 pub/sub message), not as a reply.
    pub(super) fn is_push(&self) -> bool {
        self.kind == b'>'
            || (self.kind == b'*'
                && self.leaves.first().is_some_and(|l| {
                    matches!(l.text.as_str(), "message" | "pmessage" | "smessage")
                }))
    }
}
