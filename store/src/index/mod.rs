//! The SQLite index of one node: segments, entries (pushdown columns plus the compressed entry) and
//! where each flow's packets lie in the segments.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::error::{IoContext, SqlContext, StoreError};

pub(crate) mod batch;
mod binary;
mod block_columns;
mod block_rows;
mod bounded;
pub(crate) mod codec;
pub(crate) mod columns;
#[cfg(test)]
mod columns_test;
mod deflate;
pub(crate) mod last_use;
pub(crate) mod locations;
mod migrate;
pub(crate) mod parts;
pub(crate) mod predicate;
pub(crate) mod segments;
mod stored;
pub(crate) mod vacuum;
pub(crate) mod writer;
mod zstd_block;

/// How long a connection waits for another one's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Page cache of the writer's connection, in KiB. It lives as long as the agent, and SQLite fills
/// its cache up to the limit as the index grows, so this is memory the agent holds for good; 2 MiB
/// ingests as fast as 32 MiB (`bench_ingest 1000000`: 219k entries per CPU-second either way).
const WRITER_CACHE_KIB: i64 = 2_048;

/// Page size of a new index. A block of entries compressed row by row took 1.5–3.5 KB: SQLite keeps
/// a row whole on one page when it fits, so with 4 KiB pages most blocks had a page of their own,
/// half empty (blocks took 32 B per entry on disk for 18.5 B of data). 8 KiB pages held three or
/// four (16 KiB ones would hold more, but make a small index with a storage limit lose more to its
/// fixed pages); column-wise blocks (1–2 KB on real traffic) fill them to within a block. Indexes
/// made before keep their page size (changing it takes a `VACUUM` outside WAL mode).
const PAGE_SIZE: i64 = 8_192;

/// How large the write-ahead log grows before it is folded into the index: SQLite's default (1000
/// pages) in bytes of its default 4 KiB pages, whatever the page size, since the log counts against
/// `--storage-limit`.
const WAL_CHECKPOINT_BYTES: i64 = 4_096_000;

/// Page cache of a reading connection, in KiB: a query's connection lives as long as the query,
/// but a server answers several at once, each opening every node's index, and a scan of a long
/// window (a histogram, a map) fills the cache to its limit: at 32 MiB, three nodes held 96 MiB
/// per request. Pages come from the kernel's page cache anyway; with 4 MiB every dashboard figure
/// of `tests/bench/ui.sh` stays well inside its target (BENCHMARKS.md).
const READER_CACHE_KIB: i64 = 4_096;

/// Opens (creating if needed) the index at `path` for writing: WAL mode, schema up to date.
pub(crate) fn open_writable(path: &Path) -> Result<Connection, StoreError> {
    if !path.exists() {
        create(path)?;
    }
    let mut conn = Connection::open_with_flags(path, writable_flags()).at(path)?;
    conn.busy_timeout(BUSY_TIMEOUT).at(path)?;
    conn.pragma_update(None, "journal_mode", "WAL").at(path)?;
    conn.pragma_update(None, "synchronous", "NORMAL").at(path)?;
    conn.pragma_update(None, "cache_size", -WRITER_CACHE_KIB)
        .at(path)?;
    let page_size: i64 = conn
        .pragma_query_value(None, "page_size", |r| r.get(0))
        .at(path)?;
    conn.pragma_update(
        None,
        "wal_autocheckpoint",
        WAL_CHECKPOINT_BYTES / page_size.max(512),
    )
    .at(path)?;
    migrate::migrate(&mut conn, path)?;
    vacuum::convert_old(&conn, path);
    Ok(conn)
}

/// SQLite's default flags, refusing an index that is a symbolic link (the store follows none).
fn writable_flags() -> OpenFlags {
    OpenFlags::default() | OpenFlags::SQLITE_OPEN_NOFOLLOW
}

/// Creates the index at `path` with its whole schema, under a temporary name renamed into place,
/// so a reader that finds `path` (a follower picking up a new node) never sees it half made.
fn create(path: &Path) -> Result<(), StoreError> {
    let creating = crate::layout::sidecar(path, ".creating");
    // Left over from a creation that crashed: nothing refers to it.
    let _ = std::fs::remove_file(&creating);
    {
        let mut conn = Connection::open_with_flags(&creating, writable_flags()).at(&creating)?;
        conn.pragma_update(None, "page_size", PAGE_SIZE)
            .at(&creating)?;
        vacuum::enable_on_new(&conn, &creating)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .at(&creating)?;
        migrate::migrate(&mut conn, &creating)?;
        // Closing the only connection checkpoints the log into the file and removes it.
        conn.close().map_err(|(_, e)| e).at(&creating)?;
    }
    std::fs::rename(&creating, path).at(path)
}

/// Opens the index at `path` for reading, alongside a live writer.
pub(crate) fn open_readable(path: &Path) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_NOFOLLOW;
    let conn = Connection::open_with_flags(path, flags).at(path)?;
    conn.busy_timeout(BUSY_TIMEOUT).at(path)?;
    conn.pragma_update(None, "cache_size", -READER_CACHE_KIB)
        .at(path)?;
    let found = migrate::schema_version(&conn, path)?;
    if found > migrate::SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            path: path.to_path_buf(),
            found,
            supported: migrate::SCHEMA_VERSION,
        });
    }
    if found < migrate::SCHEMA_VERSION {
        // An index no writer of this build has opened yet (a store at rest, written by an older
        // build): brought up to date first, since queries read the current schema.
        drop(conn);
        drop(open_writable(path)?);
        return open_readable(path);
    }
    Ok(conn)
}

/// Bytes the index takes on disk (database plus write-ahead log).
pub(crate) fn index_bytes(path: &Path) -> u64 {
    let wal = crate::layout::sidecar(path, "-wal");
    [path, wal.as_path()]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}
