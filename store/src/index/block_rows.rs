//! Reading format-5 and format-6 blocks ([`block_columns`](super::block_columns)): the entries a reader asks
//! for, not always all of them.
//!
//! A narrow window wants one entry of most blocks it reads. Its numbers lie in every column, and
//! where its texts start depends on the lengths of all the texts before them, so the whole block is
//! still read through; but values of other entries are skipped (a varint is passed over by finding
//! its last byte) rather than decoded into rows. A block's first entry asked for is read alone;
//! when a second one is asked for, every entry is read (a scan reads them all).

use std::ops::Range;

use super::binary::Reader;
use super::block_columns::{ERROR, PROTOCOL, REQUEST, RESPONSE, TEXTS};
use super::stored::{Stored, read_elapsed, skip_elapsed};
use crate::entry::{Message, PacketSpan, Protocol};

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

/// The entries of a block read so far: none, the first one asked for, or all of them.
#[derive(Debug)]
pub(crate) struct Rows {
    /// Entries in the block.
    count: usize,
    /// The position in the block of the first of `rows`.
    first: usize,
    rows: Vec<Row>,
}

impl Rows {
    /// A block's data as [`BlockBuilder::take`](super::block_columns::BlockBuilder::take) wrote
    /// it, none of its entries read yet.
    pub fn new(raw: &[u8]) -> Result<Self, String> {
        Ok(Rows {
            count: entry_count(&mut Reader::new(raw), raw)?,
            first: 0,
            rows: Vec::new(),
        })
    }

    /// Entries in the block.
    pub fn len(&self) -> usize {
        self.count
    }

    /// The entry at `at` in the block, reading it from `raw` (the data this was made from) if it
    /// was not read yet: alone if no entry was, else with every entry of the block.
    pub fn get(&mut self, raw: &[u8], at: usize) -> Result<&Row, String> {
        if at >= self.count {
            return Err("not in its block".into());
        }
        if !(self.first..self.first + self.rows.len()).contains(&at) {
            let wanted = match self.rows.is_empty() {
                true => at..at + 1,
                false => 0..self.count,
            };
            self.rows = parse(raw, wanted.clone())?;
            self.first = wanted.start;
        }
        self.rows
            .get(at - self.first)
            .ok_or_else(|| "not in its block".into())
    }
}

/// Reads the entries `wanted` (positions in the block) of a block's data as
/// [`BlockBuilder::take`](super::block_columns::BlockBuilder::take) wrote it, passing over the
/// others' values; fails (never panics) on damaged data, wherever in the block the damage is.
pub(crate) fn parse(raw: &[u8], wanted: Range<usize>) -> Result<Vec<Row>, String> {
    let mut r = Reader::new(raw);
    let count = entry_count(&mut r, raw)?;
    let wanted = wanted.start.min(count)..wanted.end.clamp(wanted.start.min(count), count);
    // Entries before and after the wanted ones, whose values each column passes over.
    let around = (wanted.start, count - wanted.end);
    let mut rows = vec![Row::default(); wanted.len()];
    let r = &mut r;
    differences(r, around, &mut rows, |row, ts| row.ts = ts as i64)?;
    column(r, around, &mut rows, skip_elapsed, |r, row| {
        read_elapsed(r).map(|v| row.elapsed = v)
    })?;
    varints(r, around, &mut rows, |r, row| r.i64().map(|v| row.node = v))?;
    varints(r, around, &mut rows, |r, row| r.i64().map(|v| row.src = v))?;
    varints(r, around, &mut rows, |r, row| {
        r.small().map(|v| row.src_port = v)
    })?;
    varints(r, around, &mut rows, |r, row| r.i64().map(|v| row.dst = v))?;
    varints(r, around, &mut rows, |r, row| {
        r.small().map(|v| row.dst_port = v)
    })?;
    differences(r, around, &mut rows, |row, stream| row.stream = stream)?;
    differences(r, around, &mut rows, |row, first| row.packets.first = first)?;
    varints(r, around, &mut rows, |r, row| {
        r.u64()
            .map(|span| row.packets.last = row.packets.first.wrapping_add(span))
    })?;
    // Each text column's texts follow those of the columns before it, so every length is read;
    // spans are first taken from the start of their column's texts.
    let mut sizes = [0usize; TEXTS];
    for (column, size) in sizes.iter_mut().enumerate() {
        let mut last = None;
        for at in 0..count {
            let span = match r.u64()?.checked_sub(1) {
                None if column == ERROR => None,
                None => Some(last.clone().ok_or("repeats a value no entry stored")?),
                Some(length) => {
                    let end = usize::try_from(length)
                        .ok()
                        .and_then(|length| size.checked_add(length))
                        .filter(|&end| end <= raw.len())
                        .ok_or("cut short")?;
                    let span = *size..end;
                    *size = end;
                    last = Some(span.clone());
                    Some(span)
                }
            };
            if let Some(row) = at.checked_sub(wanted.start).and_then(|i| rows.get_mut(i)) {
                row.texts[column] = span;
            }
        }
    }
    let mut start = raw.len() - r.remaining();
    for (column, size) in sizes.iter().enumerate() {
        for span in rows.iter_mut().filter_map(|row| row.texts[column].as_mut()) {
            *span = span.start + start..span.end + start;
        }
        start = start.saturating_add(*size);
    }
    match start.cmp(&raw.len()) {
        std::cmp::Ordering::Less => Err("trailing bytes".into()),
        std::cmp::Ordering::Greater => Err("cut short".into()),
        std::cmp::Ordering::Equal => Ok(rows),
    }
}

/// The number of entries `raw` (a block's data, read by `r` from its start) begins with.
fn entry_count(r: &mut Reader<'_>, raw: &[u8]) -> Result<usize, String> {
    let count: usize = r.small()?;
    // Every entry takes at least a byte of each number column.
    if count > raw.len() {
        return Err(format!("{count} entries in {} bytes", raw.len()));
    }
    Ok(count)
}

/// Reads one column: passes over `around.0` values with `skip`, reads one value into each of
/// `rows` with `read`, passes over `around.1`.
fn column<'a>(
    r: &mut Reader<'a>,
    around: (usize, usize),
    rows: &mut [Row],
    skip: impl Fn(&mut Reader<'a>, usize) -> Result<(), String>,
    mut read: impl FnMut(&mut Reader<'a>, &mut Row) -> Result<(), String>,
) -> Result<(), String> {
    skip(r, around.0)?;
    for row in rows {
        read(r, row)?;
    }
    skip(r, around.1)
}

/// Reads a column of one varint per entry.
fn varints<'a>(
    r: &mut Reader<'a>,
    around: (usize, usize),
    rows: &mut [Row],
    read: impl FnMut(&mut Reader<'a>, &mut Row) -> Result<(), String>,
) -> Result<(), String> {
    column(r, around, rows, Reader::skip_varints, read)
}

/// Reads a column of differences from the entry before (the first from zero): those before the
/// wanted entries are added up, not passed over.
fn differences(
    r: &mut Reader<'_>,
    around: (usize, usize),
    rows: &mut [Row],
    mut set: impl FnMut(&mut Row, u64),
) -> Result<(), String> {
    let mut value = 0u64;
    for _ in 0..around.0 {
        value = value.wrapping_add(r.i64()? as u64);
    }
    for row in rows {
        value = value.wrapping_add(r.i64()? as u64);
        set(row, value);
    }
    r.skip_varints(around.1)
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
    use super::super::block_columns::{BLOCK_ENTRIES, BlockBuilder, compress};
    use super::super::stored::PartIds;
    use super::*;
    use crate::entry::Entry;

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

    /// Asserts that `s`, read back as entry `e.id`, is `e`.
    fn same(s: &Stored, e: &Entry) {
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

    #[test]
    fn every_field_of_every_entry_comes_back() {
        let entries: Vec<Entry> = (0..BLOCK_ENTRIES as u64).map(exchange).collect();
        let raw = block_of(entries.iter().cloned());
        let rows = parse(&raw, 0..BLOCK_ENTRIES).unwrap();
        assert_eq!(rows.len(), entries.len());
        for (row, e) in rows.iter().zip(&entries) {
            same(&row.stored(&raw, e.id as i64).unwrap(), e);
        }
    }

    /// A narrow window reads one entry of a block: it must be that entry, whatever its
    /// neighbours repeat of it (texts stored once for a run, an error every 50 entries).
    #[test]
    fn an_entry_read_alone_is_that_entry() {
        let entries: Vec<Entry> = (0..BLOCK_ENTRIES as u64).map(exchange).collect();
        let raw = block_of(entries.iter().cloned());
        for (at, e) in entries.iter().enumerate() {
            let rows = parse(&raw, at..at + 1).unwrap();
            assert_eq!(rows.len(), 1);
            same(&rows[0].stored(&raw, e.id as i64).unwrap(), e);
        }
        let middle = parse(&raw, 40..60).unwrap();
        for (row, e) in middle.iter().zip(&entries[40..60]) {
            same(&row.stored(&raw, e.id as i64).unwrap(), e);
        }
        assert!(
            parse(&raw, BLOCK_ENTRIES..BLOCK_ENTRIES + 1)
                .unwrap()
                .is_empty()
        );
    }

    /// Whatever order a reader asks for entries in, and however much of the block was read
    /// before, it gets the entry it asked for.
    #[test]
    fn rows_give_the_entry_asked_for_in_any_order() {
        let entries: Vec<Entry> = (0..20).map(exchange).collect();
        let raw = block_of(entries.iter().cloned());
        let mut rows = Rows::new(&raw).unwrap();
        assert_eq!(rows.len(), 20);
        for at in [7, 7, 3, 19, 0, 7, 12] {
            let e = &entries[at];
            same(
                &rows
                    .get(&raw, at)
                    .unwrap()
                    .stored(&raw, e.id as i64)
                    .unwrap(),
                e,
            );
        }
        assert!(rows.get(&raw, 20).is_err());
        assert!(Rows::new(&[0xff]).is_err() && Rows::new(&[200, 1]).is_err());
    }

    /// What the format is for: exchanges that repeat their neighbours' texts cost a few bytes
    /// each, compressed: 6.8 here (6.7 deflated), 9.2 deflated with every text stored again.
    #[test]
    fn alike_exchanges_take_a_few_bytes_each() {
        let raw = block_of((0..BLOCK_ENTRIES as u64).map(exchange));
        let per_entry = compress(&raw).unwrap().len() as f64 / BLOCK_ENTRIES as f64;
        assert!(per_entry < 8.0, "{per_entry:.1} bytes per entry");
    }

    #[test]
    fn damaged_blocks_are_errors_not_panics() {
        let raw = block_of((0..5).map(exchange));
        for cut in 0..raw.len() {
            // Read whole or for one entry, a block cut anywhere is refused.
            for wanted in [0..5, 0..1, 2..3, 4..5] {
                assert!(
                    parse(&raw[..cut], wanted.clone()).is_err(),
                    "cut at {cut}, {wanted:?}"
                );
            }
        }
        for at in 0..raw.len() {
            for byte in [0, 1, 2, 0x7f, 0x80, 0xff] {
                let mut bad = raw.clone();
                bad[at] = byte;
                // Either refused whole, or each entry read or refused: never a panic.
                for wanted in [0..5, 3..4] {
                    for row in parse(&bad, wanted).unwrap_or_default() {
                        let _ = row.stored(&bad, 1);
                    }
                }
            }
        }
    }
}
