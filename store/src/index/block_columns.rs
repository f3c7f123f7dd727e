//! Block formats 5 and 6: a block's entries stored column by column before compression, so each
//! stretch the compressor sees holds one kind of value: every timestamp (as the
//! difference from the entry before), then every elapsed time, every flow id, …, then the
//! protocols, errors, requests and responses. A protocol, request or response the same as the
//! entry before's is stored as a single zero: on real traffic most of them are, and row by row
//! deflate paid for each repeat with a back-reference, between fields that changed.
//!
//! The data: the number of entries, then each of the [`NUMBERS`] columns in order (one varint per
//! entry, the elapsed time tagged as [`put_elapsed`] writes it), then each of the [`TEXTS`]
//! columns, whose lengths are in the number columns: 0 for the same value as the entry before's
//! (for the error: no error), else the length plus one. [`block_rows`](super::block_rows) reads it.

use super::binary;
use super::stored::{PartIds, put_elapsed};
use super::zstd_block;
use crate::entry::Entry;

/// The number columns, in the order a block stores them.
const TS: usize = 0;
const ELAPSED: usize = 1;
const NODE: usize = 2;
const SRC: usize = 3;
const SRC_PORT: usize = 4;
const DST: usize = 5;
const DST_PORT: usize = 6;
const STREAM: usize = 7;
const FIRST_PACKET: usize = 8;
const PACKET_SPAN: usize = 9;
/// The lengths of the text columns, each at its text column's index plus this.
const TEXT_LENGTHS: usize = 10;
const NUMBERS: usize = TEXT_LENGTHS + TEXTS;

/// The text columns, in the order a block stores them.
pub(super) const PROTOCOL: usize = 0;
pub(super) const ERROR: usize = 1;
pub(super) const REQUEST: usize = 2;
pub(super) const RESPONSE: usize = 3;
pub(super) const TEXTS: usize = 4;

/// How a format-6 block's data begins: the columns, compressed with zstd.
pub(crate) const MAGIC: [u8; 4] = *b"SK6\xff";
/// How a format-5 block's data begins: the columns, raw deflate (written by schema version 10).
pub(crate) const DEFLATED_MAGIC: [u8; 4] = *b"SK5\xff";

/// Entries per block: large enough to share repeats, small enough to decode one entry quickly.
pub(crate) const BLOCK_ENTRIES: usize = 128;

/// The values the next entry's timestamp, flow id and first packet are stored as differences from.
#[derive(Debug, Default, Clone, Copy)]
struct Previous {
    ts: i64,
    stream: u64,
    packet: u64,
}

/// A block being filled, entries `first_id`, `first_id + 1`, … each encoded into the columns.
#[derive(Debug, Default)]
pub(crate) struct BlockBuilder {
    /// Id of its first entry.
    pub first_id: i64,
    /// Latest timestamp among its entries.
    pub max_ts: i64,
    /// Entries in it.
    pub len: usize,
    previous: Previous,
    numbers: [Vec<u8>; NUMBERS],
    texts: [Vec<u8>; TEXTS],
    /// The last protocol, request and response stored (indexed like `texts`), to store the next
    /// only when it differs.
    last: [Vec<u8>; TEXTS],
    scratch: Vec<u8>,
}

impl BlockBuilder {
    /// Whether entry `id` can go next (ids in a block are consecutive and it is not full).
    pub fn accepts(&self, id: i64) -> bool {
        self.len == 0 || (self.len < BLOCK_ENTRIES && id == self.first_id + self.len as i64)
    }

    /// Appends `entry` (its id assigned, its identities `parts`).
    pub fn push(&mut self, entry: &Entry, parts: PartIds) {
        if self.len == 0 {
            self.first_id = entry.id as i64;
            self.max_ts = entry.timestamp;
        }
        self.max_ts = self.max_ts.max(entry.timestamp);
        let previous = std::mem::replace(
            &mut self.previous,
            Previous {
                ts: entry.timestamp,
                stream: entry.stream,
                packet: entry.packets.first,
            },
        );
        let n = &mut self.numbers;
        binary::put_i64(&mut n[TS], entry.timestamp.wrapping_sub(previous.ts));
        put_elapsed(&mut n[ELAPSED], entry.elapsed_time);
        binary::put_i64(&mut n[NODE], parts.node);
        binary::put_i64(&mut n[SRC], parts.src);
        binary::put_u64(&mut n[SRC_PORT], entry.src.port.into());
        binary::put_i64(&mut n[DST], parts.dst);
        binary::put_u64(&mut n[DST_PORT], entry.dst.port.into());
        binary::put_i64(
            &mut n[STREAM],
            entry.stream.wrapping_sub(previous.stream) as i64,
        );
        binary::put_i64(
            &mut n[FIRST_PACKET],
            entry.packets.first.wrapping_sub(previous.packet) as i64,
        );
        binary::put_u64(
            &mut n[PACKET_SPAN],
            entry.packets.last.wrapping_sub(entry.packets.first),
        );
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        binary::put_str(&mut scratch, &entry.protocol.name);
        binary::put_str(&mut scratch, &entry.protocol.version);
        self.put_repeatable(PROTOCOL, &scratch);
        match &entry.error {
            Some(error) => {
                binary::put_u64(
                    &mut self.numbers[TEXT_LENGTHS + ERROR],
                    error.len() as u64 + 1,
                );
                self.texts[ERROR].extend_from_slice(error.as_bytes());
            }
            None => self.numbers[TEXT_LENGTHS + ERROR].push(0),
        }
        scratch.clear();
        binary::put_map(&mut scratch, &entry.request);
        self.put_repeatable(REQUEST, &scratch);
        scratch.clear();
        binary::put_map(&mut scratch, &entry.response);
        self.put_repeatable(RESPONSE, &scratch);
        self.scratch = scratch;
        self.len += 1;
    }

    /// Stores `value` in text column `column`, as a zero length when the entry before had the same.
    fn put_repeatable(&mut self, column: usize, value: &[u8]) {
        let lengths = &mut self.numbers[TEXT_LENGTHS + column];
        if self.len > 0 && self.last[column] == value {
            lengths.push(0);
            return;
        }
        binary::put_u64(lengths, value.len() as u64 + 1);
        self.texts[column].extend_from_slice(value);
        self.last[column].clear();
        self.last[column].extend_from_slice(value);
    }

    /// The block's data, not yet compressed; the builder is empty afterwards.
    pub fn take(&mut self) -> Vec<u8> {
        let size = self
            .numbers
            .iter()
            .chain(&self.texts)
            .map(Vec::len)
            .sum::<usize>();
        let mut raw = Vec::with_capacity(size + 10);
        binary::put_u64(&mut raw, self.len as u64);
        for column in self.numbers.iter_mut().chain(&mut self.texts) {
            raw.append(column);
        }
        self.len = 0;
        self.previous = Previous::default();
        raw
    }
}

/// Compresses what [`BlockBuilder::take`] returned, for the `blocks` table: the format-6 magic,
/// then one zstd frame (BENCHMARKS.md, "Index blocks compressed with zstd").
pub(crate) fn compress(raw: &[u8]) -> std::io::Result<Vec<u8>> {
    zstd_block::compress(&MAGIC, raw)
}
