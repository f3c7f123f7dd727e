//! How entries are kept in the index: besides the pushdown columns, each entry's JSON goes into a
//! block of consecutive entries compressed together with LZ4, so what repeats between entries
//! (field names, identities, headers) is stored about once per block.

use std::path::Path;

use crate::entry::Entry;
use crate::error::StoreError;

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

    /// Appends `entry` (its id assigned), serialised straight into the block.
    pub fn push(&mut self, entry: &Entry) {
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
        let _ = serde_json::to_writer(&mut self.buf, entry);
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

    /// Entry `id` of this block.
    pub fn entry(&self, path: &Path, id: i64) -> Result<Entry, StoreError> {
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
        serde_json::from_slice(json).map_err(|e| corrupt(e.to_string()))
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
        let mut entry = Entry {
            id: 9,
            timestamp: 1_700_000_000_000_000_001,
            ..Entry::default()
        };
        entry.request.insert("method".into(), "GET".into());
        entry.response.insert("status".into(), "503".into());
        let mut other = entry.clone();
        other.id = 10;
        other.timestamp += 5;
        let mut builder = BlockBuilder::default();
        builder.push(&entry);
        assert!(builder.accepts(10) && !builder.accepts(12));
        builder.push(&other);
        assert_eq!(builder.max_ts, other.timestamp);
        let block = Block::decode(Path::new("i"), 1, 9, &compress(&builder.take())).unwrap();
        assert_eq!(block.entry(Path::new("i"), 10).ok(), Some(other));
        assert_eq!(block.entry(Path::new("i"), 9).ok(), Some(entry.clone()));
        assert!(matches!(
            block.entry(Path::new("i"), 11),
            Err(StoreError::CorruptEntry { id: 11, .. })
        ));
        assert_eq!((method(&entry), status(&entry)), (Some("GET"), Some(503)));
        assert!(Block::decode(Path::new("i"), 1, 9, b"junk").is_err());
    }
}
