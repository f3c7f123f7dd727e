//! One writer per node: [`NodeLock`] holds an exclusive `flock` on `<root>/<node>/writer.lock` for
//! as long as a [`NodeWriter`](crate::NodeWriter) (or a reindex) lives. Two writers on one node
//! (two imports, two agents on one hostPath) would interleave segments and sequence numbers and
//! recover each other's open segment; the second one is refused instead, with the holder's pid and
//! host, which the holder writes into the file. Readers never take the lock. The kernel drops it
//! when the holder's process ends, however it ends (`kill -9` included), so it never goes stale.

use std::fs::{File, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::Path;

use crate::error::{IoContext, StoreError};
use crate::no_follow;

/// File name of a node's writer lock.
pub(crate) const LOCK_FILE: &str = "writer.lock";

/// An exclusive lock on a node directory, released when dropped.
#[derive(Debug)]
pub(crate) struct NodeLock {
    _file: File,
}

impl NodeLock {
    /// Takes the lock of node directory `dir`, or says who holds it.
    pub fn acquire(dir: &Path) -> Result<Self, StoreError> {
        let path = dir.join(LOCK_FILE);
        let mut file = no_follow::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .at(&path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(StoreError::Locked {
                    dir: dir.to_path_buf(),
                    holder: holder(&mut file),
                });
            }
            Err(TryLockError::Error(e)) => return Err(e).at(&path),
        }
        let me = format!("pid {} on host {}\n", std::process::id(), host_name());
        file.set_len(0).at(&path)?;
        file.rewind().at(&path)?;
        file.write_all(me.as_bytes()).at(&path)?;
        Ok(NodeLock { _file: file })
    }
}

/// What the holder wrote into the lock file, on one line.
fn holder(file: &mut File) -> String {
    let mut text = String::new();
    let _ = file.take(256).read_to_string(&mut text);
    let line = text.lines().next().unwrap_or("").trim();
    if line.is_empty() {
        "a process that has not written its pid yet".into()
    } else {
        line.escape_debug().to_string()
    }
}

/// This machine's host name, as the kernel knows it.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_names_the_first_holder_until_it_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let first = NodeLock::acquire(dir.path()).unwrap();
        let refused = NodeLock::acquire(dir.path()).unwrap_err().to_string();
        assert!(
            refused.contains(&format!("pid {} on host", std::process::id())),
            "{refused}"
        );
        drop(first);
        assert!(NodeLock::acquire(dir.path()).is_ok());
    }
}
