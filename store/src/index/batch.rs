//! Entries on their way to the index, prepared on the writer's thread: each entry's column values
//! (texts in one buffer) and its encoding appended to a block. The index thread compresses the block
//! and runs the SQL, so the work splits about evenly between the two threads.

use std::sync::Arc;

use super::block_columns::{BLOCK_ENTRIES, BlockBuilder};
use super::columns::{Cell, INDEXED_COLUMNS};
use super::parts::Interner;
use super::stored::PartIds;
use crate::entry::Entry;

/// One column's value in a row: text is kept in the row's buffer, up to `end`.
#[derive(Clone, Copy)]
enum Slot {
    Int(i64),
    Text { end: usize },
    Null,
}

/// The values of one `entries` row: its key, and each of [`INDEXED_COLUMNS`], in order.
pub(crate) struct EntryRow {
    /// The entry's timestamp: when the names it uses were last used.
    pub ts: i64,
    pub id: i64,
    /// Whether the entry failed ([`Entry::failed`]): its key then goes in `failures`.
    pub failed: bool,
    texts: String,
    slots: [Slot; INDEXED_COLUMNS.len()],
}

impl EntryRow {
    fn new(e: &Entry) -> Self {
        let cells = INDEXED_COLUMNS.each_ref().map(|column| (column.value)(e));
        let length = cells
            .iter()
            .map(|cell| match cell {
                Cell::Text(text) => text.len(),
                _ => 0,
            })
            .sum();
        let mut texts = String::with_capacity(length);
        let slots = cells.map(|cell| match cell {
            Cell::Int(n) => Slot::Int(n),
            Cell::Text(text) => {
                texts.push_str(text);
                Slot::Text { end: texts.len() }
            }
            Cell::Null => Slot::Null,
        });
        EntryRow {
            ts: e.timestamp,
            id: e.id as i64,
            failed: e.failed(),
            texts,
            slots,
        }
    }

    /// The row's value of each of [`INDEXED_COLUMNS`], in order.
    pub fn cells(&self) -> impl Iterator<Item = Cell<'_>> {
        let mut start = 0;
        self.slots.iter().map(move |slot| match *slot {
            Slot::Int(n) => Cell::Int(n),
            Slot::Text { end } => {
                let text = self.texts.get(start..end).unwrap_or_default();
                start = end;
                Cell::Text(text)
            }
            Slot::Null => Cell::Null,
        })
    }
}

/// A compressed block and the rows of its entries.
pub(crate) struct EntryBatch {
    pub rows: Vec<EntryRow>,
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
    parts: Interner,
}

impl Batcher {
    /// A batcher interning identities with `parts`.
    pub fn new(parts: Interner) -> Self {
        Batcher {
            rows: Vec::with_capacity(BLOCK_ENTRIES),
            block: BlockBuilder::default(),
            parts,
        }
    }

    /// Adds `entry` (its id assigned); returns a batch when its block is complete. A block is cut
    /// by its count of entries only, never by the clock, so the same capture always makes the
    /// same blocks (the writer hands over the partly filled one with [`take`](Self::take) at each
    /// commit, so a live capture's entries are seen within its second).
    pub fn push(&mut self, entry: &Entry) -> Option<EntryBatch> {
        let id = entry.id as i64;
        let mut done = None;
        if !self.block.accepts(id) {
            done = self.take();
        }
        let parts = PartIds {
            node: self.parts.node(&entry.node),
            src: self.parts.endpoint(&entry.src),
            dst: self.parts.endpoint(&entry.dst),
        };
        self.block.push(entry, parts);
        self.rows.push(EntryRow::new(entry));
        if done.is_none() && self.rows.len() >= BLOCK_ENTRIES {
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
            first_id,
            max_ts,
            raw: self.block.take(),
            parts: self.parts.take_used(),
        };
        Some(batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_keep_every_column_value() {
        let mut e = Entry::default();
        e.node.name = "worker-1".into();
        e.dst.service = "payments".into();
        e.protocol.version = "1.1".into();
        fn cell<'r>(row: &'r EntryRow, path: &str) -> Option<Cell<'r>> {
            let i = INDEXED_COLUMNS
                .iter()
                .position(|c| kfl::IndexedField::path(c) == path);
            row.cells().nth(i?)
        }
        let row = EntryRow::new(&e);
        assert_eq!(row.cells().count(), INDEXED_COLUMNS.len());
        assert_eq!(
            [
                cell(&row, "node.name"),
                cell(&row, "dst.service"),
                cell(&row, "protocol.version"),
                cell(&row, "request.method"),
            ],
            [
                Some(Cell::Text("worker-1")),
                Some(Cell::Text("payments")),
                Some(Cell::Text("1.1")),
                Some(Cell::Null),
            ]
        );
        e.request.insert("method".into(), "GET".into());
        assert_eq!(
            cell(&EntryRow::new(&e), "request.method"),
            Some(Cell::Text("GET"))
        );
    }

    #[test]
    fn blocks_fill_then_hand_over() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE parts (id INTEGER PRIMARY KEY, json TEXT NOT NULL)")
            .unwrap();
        let interner = Interner::new(&conn, std::path::Path::new("i")).unwrap();
        let mut batcher = Batcher::new(interner);
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
        let rest = batcher.take().map(|b| (b.first_id, b.rows.len()));
        assert_eq!(rest, Some((BLOCK_ENTRIES as i64 + 1, 1)));
    }

    #[test]
    fn a_block_is_cut_by_its_count_not_by_the_clock() {
        // Two imports of one capture must make the same blocks, however busy the machine is: a
        // block handed over after half a second of wall time made them differ under load.
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE parts (id INTEGER PRIMARY KEY, json TEXT NOT NULL)")
            .unwrap();
        let mut batcher = Batcher::new(Interner::new(&conn, std::path::Path::new("i")).unwrap());
        let entry = |id: u64| Entry {
            id,
            timestamp: id as i64,
            ..Entry::default()
        };
        assert!(batcher.push(&entry(1)).is_none());
        std::thread::sleep(std::time::Duration::from_millis(600));
        assert!(batcher.push(&entry(2)).is_none(), "cut by the clock");
        assert_eq!(batcher.take().map(|b| b.rows.len()), Some(2));
    }
}
