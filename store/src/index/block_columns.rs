//! Block format 5 (written since schema version 10): a block's entries stored column by column
//! before deflate, so each stretch deflate sees holds one kind of value: every timestamp (as the
//! difference from the entry before), then every elapsed time, every flow id, …, then the
//! protocols, errors, requests and responses. A protocol, request or response the same as the
//! entry before's is stored as a single zero: on real traffic most of them are, and row by row
//! deflate paid for each repeat with a back-reference, between fields that changed.
//!
//! The data: the number of entries, then each of the [`NUMBERS`] columns in order (one varint per
//! entry, the elapsed time tagged as [`put_elapsed`] writes it), then each of the [`TEXTS`]
//! columns, whose lengths are in the number columns: 0 for the same value as the entry before's
//! (for the error: no error), else the length plus one.

use std::io::Write;
use std::ops::Range;

use flate2::Compression;
use flate2::write::DeflateEncoder;

use super::binary::{self, Reader};
use super::stored::{PartIds, Stored, put_elapsed, read_elapsed};
use crate::entry::{Entry, Message, PacketSpan, Protocol};

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
const PROTOCOL: usize = 0;
const ERROR: usize = 1;
const REQUEST: usize = 2;
const RESPONSE: usize = 3;
const TEXTS: usize = 4;

/// How a format-5 block's data begins.
pub(crate) const MAGIC: [u8; 4] = *b"SK5\xff";

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

/// Compresses what [`BlockBuilder::take`] returned, for the `blocks` table: the magic, then raw
/// deflate at the default level (BENCHMARKS.md, "A leaner index"); inflating stays under 1 % of a
/// query's CPU.
pub(crate) fn compress(raw: &[u8]) -> Vec<u8> {
    let mut data = MAGIC.to_vec();
    let mut encoder = DeflateEncoder::new(&mut data, Compression::default());
    // Writing into a `Vec` cannot fail.
    let _ = encoder.write_all(raw);
    let _ = encoder.finish();
    data
}

/// One entry of a decoded block: its numbers, and where its texts lie in the block's data.
#[derive(Debug, Default, Clone)]
pub(crate) struct Row {
    ts: i64,
    elapsed: f64,
    node: i64,
    src: i64,
    src_port: u16,
    dst: i64,
    dst_port: u16,
    stream: u64,
    packets: PacketSpan,
    /// Each text column's bytes in the data (the error's `None` when there is none).
    texts: [Option<Range<usize>>; TEXTS],
}

/// Reads the entries of a block's data as [`BlockBuilder::take`] wrote it, failing (never
/// panicking) on damaged data.
pub(crate) fn parse(raw: &[u8]) -> Result<Vec<Row>, String> {
    let mut r = Reader::new(raw);
    let count: usize = r.small()?;
    // Every entry takes at least a byte of each number column.
    if count > raw.len() {
        return Err(format!("{count} entries in {} bytes", raw.len()));
    }
    let mut rows = Vec::with_capacity(count);
    let mut previous = Previous::default();
    for _ in 0..count {
        previous.ts = previous.ts.wrapping_add(r.i64()?);
        rows.push(Row {
            ts: previous.ts,
            ..Row::default()
        });
    }
    for row in &mut rows {
        row.elapsed = read_elapsed(&mut r)?;
    }
    for row in &mut rows {
        row.node = r.i64()?;
    }
    for row in &mut rows {
        row.src = r.i64()?;
    }
    for row in &mut rows {
        row.src_port = r.small()?;
    }
    for row in &mut rows {
        row.dst = r.i64()?;
    }
    for row in &mut rows {
        row.dst_port = r.small()?;
    }
    for row in &mut rows {
        previous.stream = previous.stream.wrapping_add(r.i64()? as u64);
        row.stream = previous.stream;
    }
    for row in &mut rows {
        previous.packet = previous.packet.wrapping_add(r.i64()? as u64);
        row.packets.first = previous.packet;
    }
    for row in &mut rows {
        row.packets.last = row.packets.first.wrapping_add(r.u64()?);
    }
    let mut lengths = [const { Vec::new() }; TEXTS];
    for column in &mut lengths {
        *column = (0..count).map(|_| r.u64()).collect::<Result<Vec<_>, _>>()?;
    }
    let mut at = raw.len() - r.remaining();
    for (column, lengths) in lengths.iter().enumerate() {
        let mut last = None;
        for (row, &length) in rows.iter_mut().zip(lengths) {
            let span = match length.checked_sub(1) {
                None if column == ERROR => None,
                None => Some(last.clone().ok_or("repeats a value no entry stored")?),
                Some(length) => {
                    let end = usize::try_from(length)
                        .ok()
                        .and_then(|length| at.checked_add(length))
                        .filter(|&end| end <= raw.len())
                        .ok_or("cut short")?;
                    let span = at..end;
                    at = end;
                    last = Some(span.clone());
                    Some(span)
                }
            };
            row.texts[column] = span;
        }
    }
    if at != raw.len() {
        return Err("trailing bytes".into());
    }
    Ok(rows)
}

impl Row {
    /// The stored entry `id`, its texts read from `raw` (the block's data it was parsed from).
    pub(crate) fn stored(&self, raw: &[u8], id: i64) -> Result<Stored, String> {
        let bytes = |column: usize| -> Result<&[u8], String> {
            let span = self.texts[column].clone().ok_or("a text is missing")?;
            raw.get(span)
                .ok_or_else(|| "a text outside its block".into())
        };
        let mut r = Reader::new(bytes(PROTOCOL)?);
        let protocol = Protocol {
            name: r.string()?,
            version: r.string()?,
        };
        if !r.is_empty() {
            return Err("trailing bytes after the protocol".into());
        }
        let error = match self.texts[ERROR] {
            Some(_) => Some(String::from_utf8(bytes(ERROR)?.to_vec()).map_err(|e| e.to_string())?),
            None => None,
        };
        let (request, response) = (whole_map(bytes(REQUEST)?)?, whole_map(bytes(RESPONSE)?)?);
        Ok(Stored {
            id: id as u64,
            timestamp: self.ts,
            elapsed_time: self.elapsed,
            node: self.node,
            src: self.src,
            src_port: self.src_port,
            dst: self.dst,
            dst_port: self.dst_port,
            protocol,
            request,
            response,
            error,
            stream: self.stream,
            packets: self.packets,
        })
    }
}

/// The map `bytes` hold, nothing after it.
fn whole_map(bytes: &[u8]) -> Result<Message, String> {
    let mut r = Reader::new(bytes);
    let map = r.map()?;
    match r.is_empty() {
        true => Ok(map),
        false => Err("trailing bytes after a map".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDS: PartIds = PartIds {
        node: 1,
        src: 2,
        dst: 3,
    };

    /// The `n`-th of a run of keep-alive HTTP exchanges on 8 connections, alike but for their
    /// times, ports, flows and packets, as `ab -k` makes them.
    fn exchange(n: u64) -> Entry {
        let mut e = Entry {
            id: 100 + n,
            timestamp: 1_700_000_000_000_000_000 + n as i64 * 123_457,
            elapsed_time: (200_000 + n * 7_919 % 50_000) as f64 / 1e6,
            stream: 40 + n % 8,
            packets: PacketSpan {
                first: 1_000 + 2 * n,
                last: 1_001 + 2 * n,
            },
            ..Entry::default()
        };
        e.src.port = 40_000 + (n % 8) as u16;
        e.dst.port = 80;
        e.protocol = Protocol {
            name: "http".into(),
            version: "1.1".into(),
        };
        e.request = serde_json::from_value(serde_json::json!({
            "method": "GET", "path": "/api/orders",
            "headers": {"Host": "10.244.0.10", "User-Agent": "ApacheBench/2.3", "Accept": "*/*"},
        }))
        .unwrap();
        e.response = serde_json::from_value(serde_json::json!({
            "status": 200, "headers": {"Server": "nginx", "Content-Type": "application/json",
            "Date": format!("Thu, 03 Dec 2026 07:00:{:02} GMT", n / 50)},
            "bodySize": 64, "body": "{\"orders\":[{\"id\":1,\"total\":12.5},{\"id\":2,\"total\":3}]}",
        }))
        .unwrap();
        if n % 50 == 7 {
            e.error = Some("response cut short".into());
        }
        e
    }

    fn block_of(entries: impl Iterator<Item = Entry>) -> Vec<u8> {
        let mut builder = BlockBuilder::default();
        for e in entries {
            builder.push(&e, IDS);
        }
        builder.take()
    }

    #[test]
    fn every_field_of_every_entry_comes_back() {
        let entries: Vec<Entry> = (0..BLOCK_ENTRIES as u64).map(exchange).collect();
        let raw = block_of(entries.iter().cloned());
        let rows = parse(&raw).unwrap();
        assert_eq!(rows.len(), entries.len());
        for (row, e) in rows.iter().zip(&entries) {
            let s = row.stored(&raw, e.id as i64).unwrap();
            assert_eq!(
                (s.id, s.timestamp, s.elapsed_time, s.src_port, s.dst_port),
                (e.id, e.timestamp, e.elapsed_time, e.src.port, e.dst.port)
            );
            assert_eq!((s.node, s.src, s.dst), (IDS.node, IDS.src, IDS.dst));
            assert_eq!(
                (&s.protocol, &s.request, &s.response),
                (&e.protocol, &e.request, &e.response)
            );
            assert_eq!(
                (&s.error, s.stream, s.packets),
                (&e.error, e.stream, e.packets)
            );
        }
    }

    /// What the format is for: exchanges that repeat their neighbours' texts cost a few bytes
    /// each, compressed: 6.7 here, 9.2 with every text stored again (deflate's back-references).
    #[test]
    fn alike_exchanges_take_a_few_bytes_each() {
        let raw = block_of((0..BLOCK_ENTRIES as u64).map(exchange));
        let per_entry = compress(&raw).len() as f64 / BLOCK_ENTRIES as f64;
        assert!(per_entry < 8.0, "{per_entry:.1} bytes per entry");
    }

    #[test]
    fn damaged_blocks_are_errors_not_panics() {
        let raw = block_of((0..5).map(exchange));
        for cut in 0..raw.len() {
            assert!(parse(&raw[..cut]).is_err(), "cut at {cut}");
        }
        for at in 0..raw.len() {
            for byte in [0, 1, 2, 0x7f, 0x80, 0xff] {
                let mut bad = raw.clone();
                bad[at] = byte;
                // Either refused whole, or each entry read or refused: never a panic.
                for row in parse(&bad).unwrap_or_default() {
                    let _ = row.stored(&bad, 1);
                }
            }
        }
    }
}
