//! What can go wrong in the store, worded so a user knows what to do next.

use std::io;
use std::path::{Path, PathBuf};

/// An error from the store, naming the file or directory involved.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store directory (or a node in it) does not exist.
    #[error("store {0} does not exist (check --store, or capture/import into it first)")]
    NotFound(PathBuf),
    /// The process may not write where the store lives.
    #[error("store {path} is not writable: {source}")]
    NotWritable {
        /// The file or directory that could not be written.
        path: PathBuf,
        /// The operating system's reason.
        #[source]
        source: io::Error,
    },
    /// The file system is full.
    #[error(
        "disk full while writing {0} (free space, or lower --storage-limit / --retention so old segments are removed)"
    )]
    DiskFull(PathBuf),
    /// Any other I/O failure on a store file.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The operating system's reason.
        #[source]
        source: io::Error,
    },
    /// The SQLite index failed.
    #[error("index {path} failed: {source}")]
    Index {
        /// The index file.
        path: PathBuf,
        /// SQLite's reason.
        #[source]
        source: rusqlite::Error,
    },
    /// The index was written by a newer kubectl-shark.
    #[error(
        "index {path} has schema version {found}, newer than this kubectl-shark understands ({supported}); upgrade kubectl-shark"
    )]
    SchemaTooNew {
        /// The index file.
        path: PathBuf,
        /// Version found in the file.
        found: i64,
        /// Newest version this build knows.
        supported: i64,
    },
    /// A stored entry could not be decoded.
    #[error(
        "entry {id} in {path} is damaged: {reason} (run `kubectl-shark reindex` to rebuild the index)"
    )]
    CorruptEntry {
        /// The index file.
        path: PathBuf,
        /// The entry id.
        id: i64,
        /// What failed.
        reason: String,
    },
    /// A packet cannot be stored as classic PCAP.
    #[error("packet at {ts_ns} ns cannot be stored: {reason}")]
    BadPacket {
        /// The packet's timestamp.
        ts_ns: i64,
        /// Why it was refused.
        reason: &'static str,
    },
    /// Reindex was fed packets that are not the stored ones, in order.
    #[error("reindex of {path}: {reason}")]
    ReindexMismatch {
        /// The node directory.
        path: PathBuf,
        /// What did not match.
        reason: String,
    },
    /// The index writer thread stopped unexpectedly.
    #[error("index writer for {0} stopped unexpectedly")]
    WriterGone(PathBuf),
    /// A thread reading pages of a query stopped unexpectedly.
    #[error("a thread reading entries from {0} stopped unexpectedly")]
    ReaderGone(PathBuf),
    /// A node name that is not an RFC 1123 subdomain, so it cannot name a directory of the store.
    #[error(
        "node name \"{name}\" is not valid: {reason} (use a Kubernetes node name: lowercase letters, digits, '-' and '.')"
    )]
    BadNodeName {
        /// The name, escaped.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Another process writes this node's store.
    #[error(
        "{dir} is being written by {holder}; stop that writer first (only one may write a node)"
    )]
    Locked {
        /// The node directory.
        dir: PathBuf,
        /// Who holds its lock, as it wrote itself into the lock file.
        holder: String,
    },
    /// Writing the export output (file or pipe) failed.
    #[error("export output failed: {0}")]
    Output(#[source] io::Error),
}

impl StoreError {
    /// Classifies an I/O error on `path`: a full disk and a permission problem get their own variants.
    pub(crate) fn io(path: &Path, source: io::Error) -> Self {
        match source.kind() {
            io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => {
                StoreError::DiskFull(path.to_path_buf())
            }
            io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => {
                StoreError::NotWritable {
                    path: path.to_path_buf(),
                    source,
                }
            }
            _ => StoreError::Io {
                path: path.to_path_buf(),
                source,
            },
        }
    }

    /// Classifies an SQLite error on the index at `path`: a full disk gets its own variant.
    pub(crate) fn sql(path: &Path, source: rusqlite::Error) -> Self {
        match source.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DiskFull) => StoreError::DiskFull(path.to_path_buf()),
            Some(rusqlite::ErrorCode::ReadOnly) | Some(rusqlite::ErrorCode::CannotOpen)
                if !path.exists() || is_read_only(path) =>
            {
                StoreError::NotWritable {
                    path: path.to_path_buf(),
                    source: io::Error::other(source.to_string()),
                }
            }
            _ => StoreError::Index {
                path: path.to_path_buf(),
                source,
            },
        }
    }
}

/// `err` and its causes joined by ": ", each said once. A store error says its cause in its own text
/// and also hands it on as its source (so callers can inspect it), and SQLite's errors do the same
/// again, so walking the chain as `{:#}` does said "file is not a database" three times. The walk
/// stops at the first cause the line already holds: that cause's own causes are in it too.
pub fn error_line(err: &(dyn std::error::Error + 'static)) -> String {
    let mut line = err.to_string();
    let mut cause = err.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if line.contains(&text) {
            break;
        }
        line.push_str(": ");
        line.push_str(&text);
        cause = c.source();
    }
    line
}

fn is_read_only(path: &Path) -> bool {
    std::fs::metadata(path)
        .map(|m| m.permissions().readonly())
        .unwrap_or(false)
}

/// Adds the path to an I/O result.
pub(crate) trait IoContext<T> {
    /// Maps the error with [`StoreError::io`].
    fn at(self, path: &Path) -> Result<T, StoreError>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn at(self, path: &Path) -> Result<T, StoreError> {
        self.map_err(|e| StoreError::io(path, e))
    }
}

/// Adds the index path to an SQLite result.
pub(crate) trait SqlContext<T> {
    /// Maps the error with [`StoreError::sql`].
    fn at(self, path: &Path) -> Result<T, StoreError>;
}

impl<T> SqlContext<T> for rusqlite::Result<T> {
    fn at(self, path: &Path) -> Result<T, StoreError> {
        self.map_err(|e| StoreError::sql(path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_is_said_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.sqlite");
        std::fs::write(&path, vec![b'x'; 4096]).unwrap();
        let sql = rusqlite::Connection::open(&path)
            .and_then(|c| c.query_row("SELECT 1 FROM sqlite_master", [], |_| Ok(())))
            .unwrap_err();
        let err = StoreError::sql(&path, sql);
        let line = error_line(&err);
        assert_eq!(line.matches("file is not a database").count(), 1, "{line}");
        assert!(line.starts_with("index "), "{line}");
        // A cause the text does not hold yet is added.
        let wrapped = io::Error::other(err);
        assert_eq!(error_line(&wrapped), line);
    }
}
