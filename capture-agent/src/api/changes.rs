//! One watcher of the store for all follows: it looks at the indexes every [`FOLLOW_POLL`] and
//! tells the follows when something was committed, so a thousand idle follows cost one look, not
//! a thousand queries.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use shark_store::{FOLLOW_POLL, index_generation};
use tokio::sync::watch;

/// Starts the watcher of the store at `root`: the receiver's value changes after every commit
/// (and once more a poll later, for a commit seen while it was being written), and when `stop`
/// is set, so follows end.
pub fn watch_store(root: PathBuf, stop: Arc<AtomicBool>) -> watch::Receiver<u64> {
    let (tx, rx) = watch::channel(0u64);
    tokio::spawn(async move {
        let mut last = None;
        let mut settle = false;
        loop {
            tokio::time::sleep(FOLLOW_POLL).await;
            let root = root.clone();
            let Ok(now) = tokio::task::spawn_blocking(move || index_generation(&root)).await else {
                continue;
            };
            let changed = last != Some(now);
            let stopping = stop.load(Ordering::Relaxed);
            if changed || settle || stopping {
                tx.send_modify(|n| *n = n.wrapping_add(1));
            }
            settle = changed;
            last = Some(now);
            if stopping {
                return;
            }
        }
    });
    rx
}
