//! The SQLite index of one node: segments, entries (pushdown columns plus the compressed entry) and
//! where each flow's packets lie in the segments.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::error::{SqlContext, StoreError};

pub(crate) mod batch;
mod binary;
pub(crate) mod codec;
pub(crate) mod locations;
mod migrate;
pub(crate) mod parts;
pub(crate) mod predicate;
pub(crate) mod segments;
pub(crate) mod writer;

/// How long a connection waits for another one's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens (creating if needed) the index at `path` for writing: WAL mode, schema up to date.
pub(crate) fn open_writable(path: &Path) -> Result<Connection, StoreError> {
    let mut conn = Connection::open(path).at(path)?;
    conn.busy_timeout(BUSY_TIMEOUT).at(path)?;
    conn.pragma_update(None, "journal_mode", "WAL").at(path)?;
    conn.pragma_update(None, "synchronous", "NORMAL").at(path)?;
    conn.pragma_update(None, "cache_size", -32_768).at(path)?;
    migrate::migrate(&mut conn, path)?;
    Ok(conn)
}

/// Opens the index at `path` for reading, alongside a live writer.
pub(crate) fn open_readable(path: &Path) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).at(path)?;
    conn.busy_timeout(BUSY_TIMEOUT).at(path)?;
    conn.pragma_update(None, "cache_size", -32_768).at(path)?;
    let found = migrate::schema_version(&conn, path)?;
    if found > migrate::SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            path: path.to_path_buf(),
            found,
            supported: migrate::SCHEMA_VERSION,
        });
    }
    Ok(conn)
}

/// Bytes the index takes on disk (database plus write-ahead log).
pub(crate) fn index_bytes(path: &Path) -> u64 {
    let wal = crate::reindex::sidecar(path, "-wal");
    [path, wal.as_path()]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}
