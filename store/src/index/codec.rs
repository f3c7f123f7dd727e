//! How entries are kept in the index: besides the pushdown columns, each entry goes into a block of
//! consecutive entries compressed together, so what repeats between entries (header names,
//! protocol names) is stored about once per block. Node and endpoints are stored as ids of
//! [`parts`](super::parts), with the ports kept in the entry. Entries are encoded in the compact
//! [`binary`] form; blocks of JSON entries (format 1) and of format 2 written by older builds are
//! still read. Format 3 (written since schema version 7) stores what format 2 kept as hard to
//! compress (the elapsed time as a float, packet numbers and flow ids in full) as small varints.
//! Formats 1–3 are compressed with LZ4; format 4 (written since schema version 9) is format 3's
//! encoding compressed with deflate, which finds more of the repeats. Format 5 (written by
//! schema version 10) stores the entries column by column before deflate ([`block_columns`]),
//! and [`block_rows`](super::block_rows) reads only the entries asked for. Format 6 (written since
//! schema version 11) is format 5's columns compressed with zstd
//! ([`zstd_block`](super::zstd_block)), which compresses and decompresses faster.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension};

use super::binary;
use super::block_columns;
use super::block_rows::Rows;
use super::deflate::inflate;
use super::parts::Parts;
use super::stored::{Stored, read_elapsed};
use super::zstd_block;
use crate::entry::{Entry, PacketSpan, Protocol};
use crate::error::{SqlContext, StoreError};

/// How a format-2 block's data begins. A format-1 block begins with its uncompressed size as four
/// little-endian bytes, whose last byte is 0xFF only past 4 GB, far beyond any block.
const BINARY_MAGIC: [u8; 4] = *b"SKB\xff";
/// How a format-3 block's data begins.
const COMPACT_MAGIC: [u8; 4] = *b"SK3\xff";
/// How a format-4 block's data begins.
const DEFLATE_MAGIC: [u8; 4] = *b"SK4\xff";

/// The first entry's timestamp, packet number and flow id: format 3 stores each entry's as the
/// difference from these.
#[derive(Debug, Default, Clone, Copy)]
struct Base {
    ts: i64,
    packet: u64,
    stream: u64,
}

/// How a block's data is laid out once decompressed.
#[derive(PartialEq)]
enum Layout {
    /// Format 1.
    Json,
    /// Format 2.
    Binary,
    /// Formats 3 and 4.
    Compact,
    /// Formats 5 and 6.
    Columns,
}

/// The entries of a block's `data` as its builder left them, and how they are laid out.
fn decompress(data: &[u8]) -> Result<(Vec<u8>, Layout), String> {
    let (magic, rest) = data
        .split_at_checked(BINARY_MAGIC.len())
        .unwrap_or((&[], data));
    if magic == block_columns::MAGIC {
        return Ok((zstd_block::decompress(rest)?, Layout::Columns));
    }
    let inflated = match magic {
        m if m == DEFLATE_MAGIC => Some(Layout::Compact),
        m if m == block_columns::DEFLATED_MAGIC => Some(Layout::Columns),
        _ => None,
    };
    if let Some(layout) = inflated {
        return Ok((inflate(rest)?, layout));
    }
    let (layout, compressed) = match magic {
        m if m == BINARY_MAGIC => (Layout::Binary, rest),
        m if m == COMPACT_MAGIC => (Layout::Compact, rest),
        _ => (Layout::Json, data),
    };
    let raw = lz4_flex::decompress_size_prepended(compressed).map_err(|e| e.to_string())?;
    Ok((raw, layout))
}

/// How a block's entries are encoded.
enum Format {
    /// Format 1: JSON text each.
    Json,
    /// Format 2: [`binary`], timestamps after the first as differences from it.
    Binary { first_ts: i64 },
    /// Formats 3 and 4: as format 2, and more of each entry as differences from the first's.
    Compact(Base),
    /// Formats 5 and 6: the entries read so far.
    Columns(Rows),
}

/// A decompressed block.
pub(crate) struct Block {
    first_id: i64,
    format: Format,
    raw: Vec<u8>,
    /// (start, end) of each entry's encoding in `raw` (formats 1–4).
    spans: Vec<(usize, usize)>,
}

impl Block {
    /// Whether entry `id` is in this block.
    pub fn holds(&self, id: i64) -> bool {
        let len = match &self.format {
            Format::Columns(rows) => rows.len(),
            _ => self.spans.len(),
        };
        id.checked_sub(self.first_id)
            .and_then(|at| usize::try_from(at).ok())
            .is_some_and(|at| at < len)
    }

    /// The block of the index at `path` (open as `conn`) that holds entry `id`, decompressed; `None`
    /// when none does (retention removed it, or the id was never written). Ids in a block are
    /// consecutive, so it is the one with the greatest first id up to `id`, if it reaches `id`.
    pub fn holding(conn: &Connection, path: &Path, id: i64) -> Result<Option<Self>, StoreError> {
        let row: Option<(i64, Vec<u8>)> = conn
            .prepare_cached(
                "SELECT first_id, data FROM blocks WHERE first_id <= ?1 ORDER BY first_id DESC LIMIT 1",
            )
            .at(path)?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
            .at(path)?;
        let Some((first_id, data)) = row else {
            return Ok(None);
        };
        let block = Block::decode(path, first_id, &data)?;
        Ok(block.holds(id).then_some(block))
    }

    /// Decompresses the block whose first entry is `first_id`, of the index at `path`.
    pub fn decode(path: &Path, first_id: i64, data: &[u8]) -> Result<Self, StoreError> {
        let corrupt = |reason: String| StoreError::CorruptEntry {
            path: path.to_path_buf(),
            id: first_id,
            reason: format!("its block: {reason}"),
        };
        let (raw, layout) = decompress(data).map_err(corrupt)?;
        if layout == Layout::Columns {
            let rows = Rows::new(&raw).map_err(corrupt)?;
            return Ok(Block {
                first_id,
                format: Format::Columns(rows),
                raw,
                spans: Vec::new(),
            });
        }
        let mut header = binary::Reader::new(&raw);
        let mut read_header = || -> Result<Format, String> {
            Ok(match layout {
                Layout::Compact => Format::Compact(Base {
                    ts: header.i64()?,
                    packet: header.u64()?,
                    stream: header.u64()?,
                }),
                Layout::Binary => Format::Binary {
                    first_ts: header.i64()?,
                },
                Layout::Json | Layout::Columns => Format::Json,
            })
        };
        let format = read_header().map_err(corrupt)?;
        let mut at = raw.len() - header.remaining();
        let mut spans = Vec::new();
        while let Some(len) = raw.get(at..at + 4) {
            let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
            let start = at + 4;
            if raw.len() < start + len {
                return Err(corrupt("cut short".into()));
            }
            spans.push((start, start + len));
            at = start + len;
        }
        Ok(Block {
            first_id,
            format,
            raw,
            spans,
        })
    }

    /// Entry `id` of this block, its identities read through `parts` from `conn`.
    pub fn entry(
        &mut self,
        path: &Path,
        id: i64,
        conn: &Connection,
        parts: &mut Parts,
    ) -> Result<Entry, StoreError> {
        let corrupt = |reason: String| StoreError::CorruptEntry {
            path: path.to_path_buf(),
            id,
            reason,
        };
        let index = id
            .checked_sub(self.first_id)
            .and_then(|at| usize::try_from(at).ok())
            .ok_or_else(|| corrupt("not in its block".into()))?;
        let s = match &mut self.format {
            Format::Columns(rows) => rows
                .get(&self.raw, index)
                .and_then(|row| row.stored(&self.raw, id))
                .map_err(corrupt)?,
            format => {
                let &(start, end) = self
                    .spans
                    .get(index)
                    .ok_or_else(|| corrupt("not in its block".into()))?;
                let bytes = self.raw.get(start..end).unwrap_or_default();
                match *format {
                    Format::Binary { first_ts } => {
                        read_binary(bytes, id, first_ts, None).map_err(corrupt)?
                    }
                    Format::Compact(base) => {
                        read_binary(bytes, id, base.ts, Some(base)).map_err(corrupt)?
                    }
                    Format::Json | Format::Columns(_) => {
                        serde_json::from_slice(bytes).map_err(|e| corrupt(e.to_string()))?
                    }
                }
            }
        };
        Ok(Entry {
            id: s.id,
            timestamp: s.timestamp,
            elapsed_time: s.elapsed_time,
            node: parts.node(conn, s.node)?,
            src: parts.endpoint(conn, s.src, s.src_port)?,
            dst: parts.endpoint(conn, s.dst, s.dst_port)?,
            protocol: s.protocol,
            request: s.request,
            response: s.response,
            error: s.error,
            stream: s.stream,
            packets: s.packets,
        })
    }
}

/// Reads entry `id` of a block starting at `first_ts`: as formats 3 and 4 wrote it when `compact`
/// gives the block's [`Base`], else as format 2 did.
fn read_binary(
    bytes: &[u8],
    id: i64,
    first_ts: i64,
    compact: Option<Base>,
) -> Result<Stored, String> {
    let mut r = binary::Reader::new(bytes);
    let timestamp = first_ts.wrapping_add(r.i64()?);
    let elapsed_time = match compact {
        Some(_) => read_elapsed(&mut r)?,
        None => r.f64()?,
    };
    let node = r.i64()?;
    let src = r.i64()?;
    let src_port = r.small()?;
    let dst = r.i64()?;
    let dst_port = r.small()?;
    let protocol = Protocol {
        name: r.string()?,
        version: r.string()?,
    };
    let request = r.map()?;
    let response = r.map()?;
    let error = match r.small::<u8>()? {
        0 => None,
        1 => Some(r.string()?),
        other => return Err(format!("error flag {other}")),
    };
    let (stream, first) = match compact {
        Some(base) => (
            base.stream.wrapping_add(r.i64()? as u64),
            base.packet.wrapping_add(r.i64()? as u64),
        ),
        None => (r.u64()?, r.u64()?),
    };
    let last = first.wrapping_add(r.u64()?);
    if !r.is_empty() {
        return Err("trailing bytes".into());
    }
    Ok(Stored {
        id: id as u64,
        timestamp,
        elapsed_time,
        node,
        src,
        src_port,
        dst,
        dst_port,
        protocol,
        request,
        response,
        error,
        stream,
        packets: PacketSpan { first, last },
    })
}

#[cfg(test)]
mod tests {
    use super::super::stored::{PartIds, put_elapsed};
    use super::block_columns::{BlockBuilder, compress};
    use super::*;
    use flate2::Compression;
    use flate2::write::DeflateEncoder;
    use std::io::Write;

    #[test]
    fn entries_survive_a_block() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE parts (id INTEGER PRIMARY KEY, json TEXT NOT NULL)")
            .unwrap();
        let mut interner = super::super::parts::Interner::new(&conn, Path::new("i")).unwrap();
        let mut entry = Entry {
            id: 9,
            timestamp: 1_700_000_000_000_000_001,
            ..Entry::default()
        };
        entry.node.name = "worker-1".into();
        entry.src.ip = "10.0.0.1".into();
        entry.src.port = 40_000;
        entry.dst.name = "payments".into();
        entry.dst.labels.insert("app".into(), "payments".into());
        entry.dst.port = 8080;
        entry.request.insert("method".into(), "GET".into());
        entry.response.insert("status".into(), "503".into());
        // Not a whole number of nanoseconds: kept as a float.
        entry.elapsed_time = 1.0 / 3.0;
        let mut other = entry.clone();
        other.id = 10;
        other.timestamp += 5;
        other.src.port = 40_001;
        other.elapsed_time = 0.3;
        other.protocol = Protocol {
            name: "http".into(),
            version: "1.1".into(),
        };
        other.request.insert(
            "headers".into(),
            serde_json::json!({"Accept": ["a", "b"], "X-Retry": -2, "Ratio": 0.5, "None": null}),
        );
        other.error = Some("connection reset".into());
        other.stream = u64::MAX;
        other.packets = PacketSpan { first: 7, last: 9 };
        let ids = |i: &mut super::super::parts::Interner, e: &Entry| PartIds {
            node: i.node(&e.node),
            src: i.endpoint(&e.src),
            dst: i.endpoint(&e.dst),
        };
        let mut builder = BlockBuilder::default();
        builder.push(&entry, ids(&mut interner, &entry));
        assert!(builder.accepts(10) && !builder.accepts(12));
        builder.push(&other, ids(&mut interner, &other));
        // The same request and protocol as the entry before: stored as a repeat.
        let mut repeat = other.clone();
        repeat.id = 11;
        repeat.timestamp -= 3;
        repeat.error = None;
        repeat.response.clear();
        builder.push(&repeat, ids(&mut interner, &repeat));
        assert_eq!(builder.max_ts, other.timestamp);
        let fresh = interner.take_used();
        assert_eq!(fresh.len(), 3, "node, src and dst once each: {fresh:?}");
        for (id, json) in fresh {
            conn.execute(
                "INSERT INTO parts (id, json) VALUES (?1, ?2)",
                rusqlite::params![id, json],
            )
            .unwrap();
        }
        let mut parts = Parts::new(Path::new("i"));
        let data = compress(&builder.take()).unwrap();
        assert_eq!(data.get(..4), Some(&block_columns::MAGIC[..]), "format 6");
        let mut block = Block::decode(Path::new("i"), 9, &data).unwrap();
        assert_eq!(
            block.entry(Path::new("i"), 10, &conn, &mut parts).ok(),
            Some(other)
        );
        assert_eq!(
            block.entry(Path::new("i"), 11, &conn, &mut parts).ok(),
            Some(repeat)
        );
        assert_eq!(
            block.entry(Path::new("i"), 9, &conn, &mut parts).ok(),
            Some(entry.clone())
        );
        let missing = block.entry(Path::new("i"), 12, &conn, &mut parts);
        assert!(matches!(
            missing,
            Err(StoreError::CorruptEntry { id: 12, .. })
        ));
        assert!(Block::decode(Path::new("i"), 9, b"junk").is_err());
    }

    /// Entry `e` as formats 3 and 4 encode it in a block whose first entry is `base`, after its
    /// length.
    fn format_3_entry(out: &mut Vec<u8>, e: &Entry, base: &Entry, ids: PartIds) {
        let mut bytes = Vec::new();
        binary::put_i64(&mut bytes, e.timestamp - base.timestamp);
        put_elapsed(&mut bytes, e.elapsed_time);
        binary::put_i64(&mut bytes, ids.node);
        binary::put_i64(&mut bytes, ids.src);
        binary::put_u64(&mut bytes, e.src.port.into());
        binary::put_i64(&mut bytes, ids.dst);
        binary::put_u64(&mut bytes, e.dst.port.into());
        binary::put_str(&mut bytes, &e.protocol.name);
        binary::put_str(&mut bytes, &e.protocol.version);
        binary::put_map(&mut bytes, &e.request);
        binary::put_map(&mut bytes, &e.response);
        bytes.push(0);
        binary::put_i64(&mut bytes, (e.stream - base.stream) as i64);
        binary::put_i64(&mut bytes, (e.packets.first - base.packets.first) as i64);
        binary::put_u64(&mut bytes, e.packets.last - e.packets.first);
        out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        out.extend_from_slice(&bytes);
    }

    #[test]
    fn blocks_of_formats_3_and_4_still_read() {
        let mut entry = Entry {
            id: 3,
            timestamp: 1_700_000_000_000_000_000,
            elapsed_time: 2.5,
            stream: 11,
            packets: PacketSpan {
                first: 20,
                last: 24,
            },
            ..Entry::default()
        };
        entry.request.insert("command".into(), "GET".into());
        let mut second = entry.clone();
        second.id = 4;
        second.timestamp += 1_000;
        second.stream = 12;
        second.packets = PacketSpan {
            first: 25,
            last: 26,
        };
        let ids = PartIds {
            node: 1,
            src: 2,
            dst: 3,
        };
        let mut raw = Vec::new();
        binary::put_i64(&mut raw, entry.timestamp);
        binary::put_u64(&mut raw, entry.packets.first);
        binary::put_u64(&mut raw, entry.stream);
        format_3_entry(&mut raw, &entry, &entry, ids);
        format_3_entry(&mut raw, &second, &entry, ids);
        // Format 3: the magic, then the entries LZ4-compressed after their size; format 4: the
        // same entries deflated.
        let mut lz4 = COMPACT_MAGIC.to_vec();
        lz4.extend_from_slice(&lz4_flex::compress_prepend_size(&raw));
        let mut deflated = DEFLATE_MAGIC.to_vec();
        let mut encoder = DeflateEncoder::new(&mut deflated, Compression::default());
        encoder.write_all(&raw).unwrap();
        encoder.finish().unwrap();
        let conn = parts_db();
        for data in [lz4, deflated] {
            let mut block = Block::decode(Path::new("i"), 3, &data).unwrap();
            assert!(block.holds(4) && !block.holds(5));
            let mut parts = Parts::new(Path::new("i"));
            let got = block.entry(Path::new("i"), 4, &conn, &mut parts).unwrap();
            assert_eq!(got, second);
        }
    }

    /// A database with the parts ids 1–3 that [`http_block`]'s entries name.
    fn parts_db() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            r#"CREATE TABLE parts (id INTEGER PRIMARY KEY, json TEXT NOT NULL);
               INSERT INTO parts VALUES (1, '{"name":"","ip":""}'),
               (2, '{"ip":"","name":"","namespace":"","kind":"","pod":"","service":"","workload":""}'),
               (3, '{"ip":"","name":"","namespace":"","kind":"","pod":"","service":"","workload":""}');"#,
        )
        .unwrap();
        conn
    }

    /// `count` HTTP exchanges from id `first`, and their block's data before compression.
    fn http_block(first: u64, count: u64) -> (Vec<Entry>, Vec<u8>) {
        let ids = PartIds {
            node: 1,
            src: 2,
            dst: 3,
        };
        let mut builder = BlockBuilder::default();
        let entries: Vec<Entry> = (first..first + count)
            .map(|id| {
                let mut e = Entry {
                    id,
                    timestamp: 1_700_000_000_000_000_000 + id as i64 * 1_000,
                    elapsed_time: 0.25,
                    stream: id % 3,
                    packets: PacketSpan {
                        first: id * 4,
                        last: id * 4 + 3,
                    },
                    protocol: Protocol {
                        name: "http".into(),
                        version: "1.1".into(),
                    },
                    ..Entry::default()
                };
                e.request
                    .insert("path".into(), format!("/orders/{id}").into());
                e.response.insert("status".into(), (200 + id % 2).into());
                builder.push(&e, ids);
                e
            })
            .collect();
        (entries, builder.take())
    }

    /// Format 5: the same columns as format 6, raw deflate behind their own magic.
    fn format_5(raw: &[u8]) -> Vec<u8> {
        let mut data = block_columns::DEFLATED_MAGIC.to_vec();
        let mut encoder = DeflateEncoder::new(&mut data, Compression::default());
        encoder.write_all(raw).unwrap();
        encoder.finish().unwrap();
        data
    }

    #[test]
    fn blocks_of_formats_5_and_6_read_side_by_side() {
        let conn = parts_db();
        let mut parts = Parts::new(Path::new("i"));
        // Blocks of very different sizes, alternating formats, so each codec's per-thread state is
        // reused between blocks of the other.
        for (first, count, format) in [(0, 128, 5), (128, 1, 6), (129, 128, 6), (257, 3, 5)] {
            let (entries, raw) = http_block(first, count);
            let data = match format {
                5 => format_5(&raw),
                _ => compress(&raw).unwrap(),
            };
            let mut block = Block::decode(Path::new("i"), first as i64, &data).unwrap();
            assert!(
                block.holds((first + count - 1) as i64) && !block.holds((first + count) as i64)
            );
            for e in entries {
                let got = block.entry(Path::new("i"), e.id as i64, &conn, &mut parts);
                assert_eq!(got.unwrap(), e, "format {format}");
            }
        }
    }

    #[test]
    fn a_damaged_format_6_block_is_an_error_naming_it_and_the_next_still_reads() {
        let (entries, raw) = http_block(40, 20);
        let good = compress(&raw).unwrap();
        let mut claims_too_much = block_columns::MAGIC.to_vec();
        // A frame header stating 2^40 bytes (8-byte content size, single segment), nothing after.
        claims_too_much.extend_from_slice(&[0x28, 0xb5, 0x2f, 0xfd, 0xe0]);
        claims_too_much.extend_from_slice(&(1u64 << 40).to_le_bytes());
        let mut flipped = good.clone();
        let middle = flipped.len() / 2;
        flipped[middle] ^= 0xff;
        let mut damaged = vec![
            claims_too_much,
            good[..good.len() - 1].to_vec(),
            good[..5].to_vec(),
        ];
        damaged.push(block_columns::MAGIC.to_vec());
        for data in damaged.iter().chain([&flipped]) {
            match Block::decode(Path::new("i"), 40, data) {
                Err(StoreError::CorruptEntry { id: 40, reason, .. }) => {
                    assert!(reason.starts_with("its block: "), "{reason}")
                }
                Err(other) => panic!("{other}"),
                // Damage zstd cannot see (it keeps no checksum) reads as some block, or fails
                // entry by entry: never a panic.
                Ok(mut block) => {
                    let conn = parts_db();
                    for e in &entries {
                        let _ = block.entry(
                            Path::new("i"),
                            e.id as i64,
                            &conn,
                            &mut Parts::new(Path::new("i")),
                        );
                    }
                }
            }
            let mut block = Block::decode(Path::new("i"), 40, &good).unwrap();
            let got = block.entry(
                Path::new("i"),
                59,
                &parts_db(),
                &mut Parts::new(Path::new("i")),
            );
            assert_eq!(got.unwrap(), entries[19]);
        }
        let error = Block::decode(Path::new("i"), 40, &damaged[0])
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("claims 1099511627776 bytes"), "{error}");
    }

    #[test]
    fn json_blocks_from_older_builds_still_read() {
        // A block as format 1 wrote it: each entry's JSON after its length, compressed as is.
        let json = br#"{"id":5,"timestamp":1700000000000000000,"elapsedTime":1.5,"node":1,"src":2,"srcPort":40000,"dst":3,"dstPort":53,"protocol":{"name":"dns","version":""},"request":{"questions":[{"name":"a.b","type":"A"}]},"response":{"rcode":0},"error":"timeout","stream":4,"packets":{"first":10,"last":11}}"#;
        let mut raw = (json.len() as u32).to_le_bytes().to_vec();
        raw.extend_from_slice(json);
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            r#"CREATE TABLE parts (id INTEGER PRIMARY KEY, json TEXT NOT NULL);
               INSERT INTO parts VALUES (1, '{"name":"worker-1","ip":""}'),
               (2, '{"ip":"10.0.0.1","name":"","namespace":"","kind":"","pod":"","service":"","workload":""}'),
               (3, '{"ip":"10.0.0.2","name":"dns","namespace":"","kind":"","pod":"","service":"","workload":""}');"#,
        )
        .unwrap();
        let mut block =
            Block::decode(Path::new("i"), 5, &lz4_flex::compress_prepend_size(&raw)).unwrap();
        let entry = block
            .entry(Path::new("i"), 5, &conn, &mut Parts::new(Path::new("i")))
            .unwrap();
        let expected: Entry = serde_json::from_value(serde_json::json!({
            "id": 5, "timestamp": 1_700_000_000_000_000_000_i64, "elapsedTime": 1.5,
            "node": {"name": "worker-1"}, "src": {"ip": "10.0.0.1", "port": 40000},
            "dst": {"ip": "10.0.0.2", "port": 53, "name": "dns"},
            "protocol": {"name": "dns", "version": ""},
            "request": {"questions": [{"name": "a.b", "type": "A"}]}, "response": {"rcode": 0},
            "error": "timeout", "stream": 4, "packets": {"first": 10, "last": 11},
        }))
        .unwrap();
        assert_eq!(entry, expected);
    }
}
