//! How entries are kept in the index: besides the pushdown columns, each entry's JSON goes into a
//! block of consecutive entries compressed together with LZ4, so what repeats between entries
//! (field names, headers) is stored about once per block. Node and endpoints are stored as ids of
//! [`parts`](super::parts), with the ports kept in the entry.

use std::path::Path;

use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use super::parts::Parts;
use crate::entry::{Entry, Message, PacketSpan, Protocol};
use crate::error::StoreError;

/// The node and endpoint identities of an entry, as ids of the `parts` table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PartIds {
    pub node: i64,
    pub src: i64,
    pub dst: i64,
}

/// An entry as a block stores it (written).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StoredRef<'a> {
    id: u64,
    timestamp: i64,
    elapsed_time: f64,
    node: i64,
    src: i64,
    src_port: u16,
    dst: i64,
    dst_port: u16,
    protocol: &'a Protocol,
    request: &'a Message,
    response: &'a Message,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: &'a Option<String>,
    stream: u64,
    packets: PacketSpan,
}

/// An entry as a block stores it (read back).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Stored {
    id: u64,
    timestamp: i64,
    elapsed_time: f64,
    node: i64,
    src: i64,
    src_port: u16,
    dst: i64,
    dst_port: u16,
    protocol: Protocol,
    #[serde(default)]
    request: Message,
    #[serde(default)]
    response: Message,
    #[serde(default)]
    error: Option<String>,
    stream: u64,
    packets: PacketSpan,
}

/// Entries per block: large enough to share repeats, small enough to decode one entry quickly.
pub(crate) const BLOCK_ENTRIES: usize = 64;

/// A block being filled: entries `first_id`, `first_id + 1`, … as length-prefixed JSON.
#[derive(Debug, Default)]
pub(crate) struct BlockBuilder {
    /// Id of its first entry.
    pub first_id: i64,
    /// Latest timestamp among its entries.
    pub max_ts: i64,
    /// Entries in it.
    pub len: usize,
    buf: Vec<u8>,
}

impl BlockBuilder {
    /// Whether entry `id` can go next (ids in a block are consecutive and it is not full).
    pub fn accepts(&self, id: i64) -> bool {
        self.len == 0 || (self.len < BLOCK_ENTRIES && id == self.first_id + self.len as i64)
    }

    /// Appends `entry` (its id assigned, its identities `parts`), serialised straight into the block.
    pub fn push(&mut self, entry: &Entry, parts: PartIds) {
        let id = entry.id as i64;
        if self.len == 0 {
            self.first_id = id;
            self.max_ts = entry.timestamp;
        }
        self.max_ts = self.max_ts.max(entry.timestamp);
        self.len += 1;
        let at = self.buf.len();
        self.buf.extend_from_slice(&[0; 4]);
        // Serialising plain data into a Vec cannot fail: every map key is a string.
        let stored = StoredRef {
            id: entry.id,
            timestamp: entry.timestamp,
            elapsed_time: entry.elapsed_time,
            node: parts.node,
            src: parts.src,
            src_port: entry.src.port,
            dst: parts.dst,
            dst_port: entry.dst.port,
            protocol: &entry.protocol,
            request: &entry.request,
            response: &entry.response,
            error: &entry.error,
            stream: entry.stream,
            packets: entry.packets,
        };
        let _ = serde_json::to_writer(&mut self.buf, &stored);
        let len = (self.buf.len() - at - 4) as u32;
        if let Some(prefix) = self.buf.get_mut(at..at + 4) {
            prefix.copy_from_slice(&len.to_le_bytes());
        }
    }

    /// The block's entries, not yet compressed; the builder is empty afterwards.
    pub fn take(&mut self) -> Vec<u8> {
        self.len = 0;
        std::mem::take(&mut self.buf)
    }
}

/// Compresses what [`BlockBuilder::take`] returned, for the `blocks` table.
pub(crate) fn compress(raw: &[u8]) -> Vec<u8> {
    lz4_flex::compress_prepend_size(raw)
}

/// A decompressed block.
pub(crate) struct Block {
    first_id: i64,
    raw: Vec<u8>,
    /// (start, end) of each entry's JSON in `raw`.
    spans: Vec<(usize, usize)>,
}

impl Block {
    /// Decompresses block `block` (first entry `first_id`) of the index at `path`.
    pub fn decode(path: &Path, block: i64, first_id: i64, data: &[u8]) -> Result<Self, StoreError> {
        let corrupt = |reason: String| StoreError::CorruptEntry {
            path: path.to_path_buf(),
            id: first_id,
            reason,
        };
        let raw = lz4_flex::decompress_size_prepended(data)
            .map_err(|e| corrupt(format!("block {block}: {e}")))?;
        let mut spans = Vec::new();
        let mut at = 0usize;
        while let Some(len) = raw.get(at..at + 4) {
            let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
            let start = at + 4;
            if raw.len() < start + len {
                return Err(corrupt(format!("block {block} is cut short")));
            }
            spans.push((start, start + len));
            at = start + len;
        }
        Ok(Block {
            first_id,
            raw,
            spans,
        })
    }

    /// Entry `id` of this block, its identities read through `parts` from `conn`.
    pub fn entry(
        &self,
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
        let index =
            usize::try_from(id - self.first_id).map_err(|_| corrupt("not in its block".into()))?;
        let &(start, end) = self
            .spans
            .get(index)
            .ok_or_else(|| corrupt("not in its block".into()))?;
        let json = self.raw.get(start..end).unwrap_or_default();
        let s: Stored = serde_json::from_slice(json).map_err(|e| corrupt(e.to_string()))?;
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

/// `request.method` when it is text.
pub(crate) fn method(entry: &Entry) -> Option<&str> {
    entry.request.get("method").and_then(|m| m.as_str())
}

/// `response.status` when it is a whole number (or text that reads as one, as KFL reads it).
pub(crate) fn status(entry: &Entry) -> Option<i64> {
    let status = entry.response.get("status")?;
    status
        .as_i64()
        .or_else(|| status.as_str().and_then(|s| s.trim().parse().ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_survive_a_block() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE parts (id INTEGER PRIMARY KEY, json TEXT NOT NULL)")
            .unwrap();
        let mut interner = super::super::parts::Interner::load(&conn, Path::new("i")).unwrap();
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
        let mut other = entry.clone();
        other.id = 10;
        other.timestamp += 5;
        other.src.port = 40_001;
        let ids = |i: &mut super::super::parts::Interner, e: &Entry| PartIds {
            node: i.id(&e.node),
            src: i.id(&super::super::parts::EndpointKey::from(&e.src)),
            dst: i.id(&super::super::parts::EndpointKey::from(&e.dst)),
        };
        let mut builder = BlockBuilder::default();
        builder.push(&entry, ids(&mut interner, &entry));
        assert!(builder.accepts(10) && !builder.accepts(12));
        builder.push(&other, ids(&mut interner, &other));
        assert_eq!(builder.max_ts, other.timestamp);
        let fresh = interner.take_fresh();
        assert_eq!(fresh.len(), 3, "node, src and dst once each: {fresh:?}");
        for (id, json) in fresh {
            conn.execute(
                "INSERT INTO parts (id, json) VALUES (?1, ?2)",
                rusqlite::params![id, json],
            )
            .unwrap();
        }
        let mut parts = Parts::new(Path::new("i"));
        let block = Block::decode(Path::new("i"), 1, 9, &compress(&builder.take())).unwrap();
        assert_eq!(
            block.entry(Path::new("i"), 10, &conn, &mut parts).ok(),
            Some(other)
        );
        assert_eq!(
            block.entry(Path::new("i"), 9, &conn, &mut parts).ok(),
            Some(entry.clone())
        );
        let missing = block.entry(Path::new("i"), 11, &conn, &mut parts);
        assert!(matches!(
            missing,
            Err(StoreError::CorruptEntry { id: 11, .. })
        ));
        assert_eq!((method(&entry), status(&entry)), (Some("GET"), Some(503)));
        assert!(Block::decode(Path::new("i"), 1, 9, b"junk").is_err());
    }
}
