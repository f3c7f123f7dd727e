//! `<root>/<node>/capture.json`: what live capture received and dropped, so `status` can say it
//! after the capture has ended. Written whole to a temporary file and renamed, so a reader never
//! sees half of it; totals add up over every capture run into the node's store.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::StoreError;
use crate::layout::NodeLayout;

/// File name of a node's capture counters.
const FILE: &str = "capture.json";

/// Packets live capture received and dropped, summed over capture runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CaptureStats {
    /// Packets libpcap delivered.
    pub received: u64,
    /// Packets dropped because the pipeline's queue was full.
    pub queue_dropped: u64,
    /// Packets the kernel dropped.
    pub kernel_dropped: u64,
    /// Packets the interface dropped.
    pub interface_dropped: u64,
    /// Flows the pipeline closed early to stay within its memory budget (`--memory-limit`):
    /// what a flood cost, beyond the entries that say `evicted (memory limit)`.
    #[serde(default)]
    pub flows_evicted: u64,
}

impl CaptureStats {
    /// Every drop, wherever it happened.
    pub fn dropped(&self) -> u64 {
        self.queue_dropped + self.kernel_dropped + self.interface_dropped
    }

    /// These counts plus `other`'s.
    pub fn plus(&self, other: &CaptureStats) -> CaptureStats {
        CaptureStats {
            received: self.received + other.received,
            queue_dropped: self.queue_dropped + other.queue_dropped,
            kernel_dropped: self.kernel_dropped + other.kernel_dropped,
            interface_dropped: self.interface_dropped + other.interface_dropped,
            flows_evicted: self.flows_evicted + other.flows_evicted,
        }
    }

    fn path(root: &Path, node: &str) -> PathBuf {
        NodeLayout::new(root, node).dir.join(FILE)
    }

    /// The counts saved for `node` (zero when it was never captured live, or the file is unreadable).
    pub fn load(root: &Path, node: &str) -> CaptureStats {
        crate::no_follow::read(&Self::path(root, node))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    /// Saves the counts for `node`, replacing what was there.
    pub fn save(&self, root: &Path, node: &str) -> Result<(), StoreError> {
        crate::node_name::check_node_name(node)?;
        let path = Self::path(root, node);
        let tmp = path.with_extension("json.tmp");
        let bytes =
            serde_json::to_vec(self).map_err(|e| StoreError::io(&tmp, std::io::Error::other(e)))?;
        crate::no_follow::options()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)
            .and_then(|mut f| std::io::Write::write_all(&mut f, &bytes))
            .map_err(|e| StoreError::io(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| StoreError::io(&path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_counts_load_back_and_missing_ones_are_zero() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("n1")).expect("node dir");
        assert_eq!(
            CaptureStats::load(dir.path(), "n1"),
            CaptureStats::default()
        );
        let stats = CaptureStats {
            received: 10,
            queue_dropped: 1,
            kernel_dropped: 2,
            interface_dropped: 3,
            flows_evicted: 4,
        };
        stats.save(dir.path(), "n1").expect("saves");
        assert_eq!(CaptureStats::load(dir.path(), "n1"), stats);
        assert_eq!(stats.dropped(), 6);
        assert_eq!(stats.plus(&stats).received, 20);
    }
}
