//! How an entry is kept in the index: the full entry as LZ4-compressed JSON, plus the values of
//! the pushdown columns.

use std::path::Path;

use crate::entry::Entry;
use crate::error::StoreError;

/// Compresses `entry` for the `entry_data` table.
pub(crate) fn encode(entry: &Entry) -> Vec<u8> {
    // Serialising plain data to a Vec cannot fail: every map key is a string.
    let json = serde_json::to_vec(entry).unwrap_or_default();
    lz4_flex::compress_prepend_size(&json)
}

/// Decodes an `entry_data` blob of entry `id` read from the index at `path`.
pub(crate) fn decode(path: &Path, id: i64, data: &[u8]) -> Result<Entry, StoreError> {
    let corrupt = |reason: String| StoreError::CorruptEntry {
        path: path.to_path_buf(),
        id,
        reason,
    };
    let json = lz4_flex::decompress_size_prepended(data).map_err(|e| corrupt(e.to_string()))?;
    serde_json::from_slice(&json).map_err(|e| corrupt(e.to_string()))
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
    fn entries_survive_encoding() {
        let mut entry = Entry {
            id: 9,
            timestamp: 1_700_000_000_000_000_001,
            ..Entry::default()
        };
        entry.request.insert("method".into(), "GET".into());
        entry.response.insert("status".into(), 503.into());
        let data = encode(&entry);
        assert_eq!(decode(Path::new("i"), 9, &data).ok(), Some(entry.clone()));
        assert_eq!(method(&entry), Some("GET"));
        assert_eq!(status(&entry), Some(503));
        assert!(matches!(
            decode(Path::new("i"), 9, b"junk"),
            Err(StoreError::CorruptEntry { id: 9, .. })
        ));
    }
}
