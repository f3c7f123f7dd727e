//! How a node's store rotates segments and what it keeps.

use std::time::Duration;

/// Segment rotation and retention settings for a [`NodeWriter`](crate::NodeWriter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreConfig {
    /// Seal a segment once it holds this many bytes (`--segment-size`, default 64 MiB).
    pub segment_size: u64,
    /// Seal a segment once its packets span this long (`--segment-age`, default 60 s), measured on
    /// packet timestamps so imports rotate like live captures.
    pub segment_age: Duration,
    /// Keep the node's store (segments plus index) under this many bytes by deleting the oldest
    /// segments and their entries (`--storage-limit`); `None` keeps everything.
    pub storage_limit: Option<u64>,
    /// Delete segments whose newest packet is older than this, relative to the newest packet stored
    /// (`--retention`); `None` keeps everything.
    pub retention: Option<Duration>,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            segment_size: 64 * 1024 * 1024,
            segment_age: Duration::from_secs(60),
            storage_limit: None,
            retention: None,
        }
    }
}
