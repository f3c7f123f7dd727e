//! Giving the index's freed pages back to the file system. Indexes are made with
//! `auto_vacuum = INCREMENTAL`; after retention deletes rows, [`shrink`] moves the free pages to
//! the end of the file and cuts them off, and folds the write-ahead log into the file, so the
//! index (which counts against `--storage-limit`) shrinks as data ages out instead of only growing.

use std::path::Path;

use rusqlite::Connection;

use crate::error::{SqlContext, StoreError};

/// SQLite's code for `auto_vacuum = INCREMENTAL`.
const INCREMENTAL: i64 = 2;

/// Sets incremental auto-vacuum on an index being made, before its first table.
pub(crate) fn enable_on_new(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    conn.pragma_update(None, "auto_vacuum", INCREMENTAL)
        .at(path)
}

/// Converts an index made before incremental auto-vacuum (a one-time full `VACUUM`). Best effort:
/// on a full disk it is tried again at the next open.
pub(crate) fn convert_old(conn: &Connection, path: &Path) {
    let mode: Result<i64, _> = conn.pragma_query_value(None, "auto_vacuum", |r| r.get(0));
    if matches!(mode, Ok(INCREMENTAL)) {
        return;
    }
    let converted = conn
        .pragma_update(None, "auto_vacuum", INCREMENTAL)
        .and_then(|()| conn.execute_batch("VACUUM"));
    match converted {
        Ok(()) => tracing::info!("{} converted to incremental vacuum", path.display()),
        Err(e) => tracing::warn!(
            "cannot convert {} to incremental vacuum, it will not shrink yet: {e}",
            path.display()
        ),
    }
}

/// Returns the free pages to the file system and truncates the write-ahead log. Best effort: a
/// reader's snapshot or a still-full disk can stop the checkpoint, and the next pass tries again.
pub(crate) fn shrink(conn: &Connection, path: &Path) {
    // Each step of the pragma frees pages: it must be stepped to its end.
    let vacuumed = conn
        .prepare("PRAGMA incremental_vacuum")
        .and_then(|mut stmt| {
            let mut rows = stmt.query([])?;
            while rows.next()?.is_some() {}
            Ok(())
        });
    if let Err(e) = vacuumed {
        tracing::debug!("incremental vacuum of {}: {e}", path.display());
    }
    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())) {
        tracing::debug!("checkpoint of {}: {e}", path.display());
    }
}
