//! Entries on their way to the index, prepared on the writer's thread: each entry's column values
//! (texts in one buffer) and its JSON appended to a block. The index thread compresses the block
//! and runs the SQL, so the work splits about evenly between the two threads.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::codec::{self, BLOCK_ENTRIES, BlockBuilder, PartIds};
use super::parts::Interner;
use crate::entry::Entry;

/// Longest an entry waits in a partly filled block before it is handed over anyway.
const BLOCK_AGE: Duration = Duration::from_millis(500);

/// Texts of a row, in column order: node, src ip/name/namespace/pod/service, dst ip/name/
/// namespace/pod/service, protocol name and version, then the method when there is one.
const TEXTS: usize = 14;

/// The values of one `entries` row.
pub(crate) struct EntryRow {
    pub ts: i64,
    pub id: i64,
    pub src_port: u16,
    pub dst_port: u16,
    pub status: Option<i64>,
    pub block: i64,
    texts: String,
    ends: [usize; TEXTS],
    has_method: bool,
}

impl EntryRow {
    fn new(e: &Entry, block: i64) -> Self {
        let method = codec::method(e);
        let parts = [
            e.node.name.as_str(),
            &e.src.ip,
            &e.src.name,
            &e.src.namespace,
            &e.src.pod,
            &e.src.service,
            &e.dst.ip,
            &e.dst.name,
            &e.dst.namespace,
            &e.dst.pod,
            &e.dst.service,
            &e.protocol.name,
            &e.protocol.version,
            method.unwrap_or(""),
        ];
        let mut texts = String::with_capacity(parts.iter().map(|p| p.len()).sum());
        let mut ends = [0; TEXTS];
        for (end, part) in ends.iter_mut().zip(parts) {
            texts.push_str(part);
            *end = texts.len();
        }
        EntryRow {
            ts: e.timestamp,
            id: e.id as i64,
            src_port: e.src.port,
            dst_port: e.dst.port,
            status: codec::status(e),
            block,
            texts,
            ends,
            has_method: method.is_some(),
        }
    }

    /// Text column `i` (0 = node … 12 = protocol version).
    pub fn text(&self, i: usize) -> &str {
        let start = i
            .checked_sub(1)
            .and_then(|p| self.ends.get(p))
            .copied()
            .unwrap_or(0);
        let end = self.ends.get(i).copied().unwrap_or(start);
        self.texts.get(start..end).unwrap_or_default()
    }

    /// `request.method`, if the entry has one.
    pub fn method(&self) -> Option<&str> {
        self.has_method.then(|| self.text(TEXTS - 1))
    }
}

/// A compressed block and the rows of its entries.
pub(crate) struct EntryBatch {
    pub rows: Vec<EntryRow>,
    pub block_id: i64,
    pub first_id: i64,
    pub max_ts: i64,
    /// The block's entries, uncompressed.
    pub raw: Vec<u8>,
    /// The identities its entries use: (id, JSON).
    pub parts: Vec<(i64, Arc<str>)>,
}

/// Collects entries into blocks.
pub(crate) struct Batcher {
    rows: Vec<EntryRow>,
    block: BlockBuilder,
    block_id: i64,
    started: Instant,
    parts: Interner,
}

impl Batcher {
    /// A batcher whose first block gets id `block_id`.
    pub fn new(block_id: i64, parts: Interner) -> Self {
        Batcher {
            rows: Vec::with_capacity(BLOCK_ENTRIES),
            block: BlockBuilder::default(),
            block_id,
            started: Instant::now(),
            parts,
        }
    }

    /// Adds `entry` (its id assigned); returns a batch when its block is complete or old.
    pub fn push(&mut self, entry: &Entry) -> Option<EntryBatch> {
        let id = entry.id as i64;
        let mut done = None;
        if !self.block.accepts(id) {
            done = self.take();
        }
        if self.rows.is_empty() {
            self.started = Instant::now();
        }
        let parts = PartIds {
            node: self.parts.node(&entry.node),
            src: self.parts.endpoint(&entry.src),
            dst: self.parts.endpoint(&entry.dst),
        };
        self.block.push(entry, parts);
        self.rows.push(EntryRow::new(entry, self.block_id));
        if done.is_none()
            && (self.rows.len() >= BLOCK_ENTRIES || self.started.elapsed() >= BLOCK_AGE)
        {
            done = self.take();
        }
        done
    }

    /// The partly filled block, if any.
    pub fn take(&mut self) -> Option<EntryBatch> {
        if self.rows.is_empty() {
            return None;
        }
        let (first_id, max_ts) = (self.block.first_id, self.block.max_ts);
        let batch = EntryBatch {
            rows: std::mem::replace(&mut self.rows, Vec::with_capacity(BLOCK_ENTRIES)),
            block_id: self.block_id,
            first_id,
            max_ts,
            raw: self.block.take(),
            parts: self.parts.take_used(),
        };
        self.block_id += 1;
        Some(batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_keep_every_column_text() {
        let mut e = Entry::default();
        e.node.name = "worker-1".into();
        e.dst.service = "payments".into();
        e.protocol.version = "1.1".into();
        let row = EntryRow::new(&e, 3);
        assert_eq!(
            (row.text(0), row.text(10), row.text(12), row.method()),
            ("worker-1", "payments", "1.1", None)
        );
        e.request.insert("method".into(), "GET".into());
        assert_eq!(EntryRow::new(&e, 3).method(), Some("GET"));
    }

    #[test]
    fn blocks_fill_then_hand_over() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE parts (id INTEGER PRIMARY KEY, json TEXT NOT NULL)")
            .unwrap();
        let interner = Interner::new(&conn, std::path::Path::new("i")).unwrap();
        let mut batcher = Batcher::new(1, interner);
        let mut batches = Vec::new();
        for id in 1..=(BLOCK_ENTRIES as u64 + 1) {
            batches.extend(batcher.push(&Entry {
                id,
                timestamp: id as i64,
                ..Entry::default()
            }));
        }
        assert_eq!(batches.len(), 1);
        assert_eq!(
            (
                batches[0].rows.len(),
                batches[0].first_id,
                batches[0].max_ts
            ),
            (BLOCK_ENTRIES, 1, BLOCK_ENTRIES as i64)
        );
        let rest = batcher.take().map(|b| (b.block_id, b.rows.len()));
        assert_eq!(rest, Some((2, 1)));
    }
}
