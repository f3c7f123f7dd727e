//! Retention: the oldest segments, and the entries that started in them, go first; then the
//! identities and names no kept entry uses, and the index gives the pages back.

use std::path::{Path, PathBuf};

use rusqlite::Connection;

use crate::error::{IoContext, SqlContext, StoreError};
use crate::index;
use crate::index::segments::{self, SegmentRow};
use crate::index::{last_use, vacuum};

/// What to keep, and what the writer knows that the index does not.
#[derive(Debug, Clone)]
pub(crate) struct Retention {
    /// Most bytes for segments plus index.
    pub storage_limit: Option<u64>,
    /// Oldest data kept, relative to the newest packet (ns).
    pub max_age_ns: Option<i64>,
    /// Bytes of the segment being written (not yet in its row).
    pub open_bytes: u64,
    /// The node's `segments/` directory.
    pub segments_dir: PathBuf,
}

/// Deletes the oldest sealed segments until the store fits; returns the deleted files.
///
/// Files go before rows: on a full disk, unlinking is what frees the space SQLite needs.
pub(crate) fn apply(
    conn: &Connection,
    path: &Path,
    r: &Retention,
) -> Result<Vec<PathBuf>, StoreError> {
    let rows = segments::load(conn, path)?;
    let newest = rows.iter().map(|s| s.last_ts).max().unwrap_or(0);
    let mut total: u64 = rows
        .iter()
        .filter(|s| s.sealed)
        .map(|s| s.bytes)
        .sum::<u64>()
        + r.open_bytes
        + index::index_bytes(path)
        // Room for the log to grow as much again before the next pass (the checkpoint below folds
        // the current log into the database, which keeps those pages).
        + wal_bytes(path);
    // A storage limit never takes the newest sealed segment (nor the open one, which is not
    // sealed): whatever the index weighs, what was just written stays.
    let newest_sealed = rows.iter().filter(|s| s.sealed).map(|s| s.seq).max();
    let mut doomed = Vec::new();
    for row in rows.iter().filter(|s| s.sealed) {
        let too_old = r
            .max_age_ns
            .is_some_and(|age| row.last_ts < newest.saturating_sub(age));
        let too_big =
            r.storage_limit.is_some_and(|limit| total > limit) && Some(row.seq) != newest_sealed;
        if !too_old && !too_big {
            break;
        }
        total = total.saturating_sub(row.bytes);
        doomed.push(row);
    }
    if doomed.is_empty() {
        return Ok(Vec::new());
    }
    let deleted = delete(conn, path, r, &rows, &doomed)?;
    // The index counts against the limit too: give back the pages the deleted rows held.
    vacuum::shrink(conn, path);
    Ok(deleted)
}

fn wal_bytes(path: &Path) -> u64 {
    std::fs::metadata(crate::layout::sidecar(path, "-wal")).map_or(0, |m| m.len())
}

/// Deletes the `doomed` segments' files, then their rows and the entries that started in them.
fn delete(
    conn: &Connection,
    path: &Path,
    r: &Retention,
    rows: &[SegmentRow],
    doomed: &[&SegmentRow],
) -> Result<Vec<PathBuf>, StoreError> {
    let mut deleted = Vec::new();
    for row in doomed {
        let file = r.segments_dir.join(&row.file);
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).at(&file),
        }
        deleted.push(file);
    }
    let tx = conn.unchecked_transaction().at(path)?;
    for row in doomed {
        segments::delete(&tx, path, row.seq)?;
    }
    let kept_from = rows
        .iter()
        .filter(|s| !doomed.iter().any(|d| d.seq == s.seq))
        .map(|s| s.first_ts)
        .min();
    let cutoff = kept_from.unwrap_or_else(|| {
        doomed
            .iter()
            .map(|d| d.last_ts)
            .max()
            .unwrap_or(0)
            .saturating_add(1)
    });
    segments::delete_entries_before(&tx, path, cutoff)?;
    let (parts, names) = last_use::free_before(&tx, path, cutoff)?;
    tx.commit().at(path)?;
    tracing::info!(
        "retention removed {} segment(s) from {}, and {parts} identities and {names} names no kept entry uses",
        deleted.len(),
        r.segments_dir.display()
    );
    Ok(deleted)
}
