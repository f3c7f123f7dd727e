//! Where a node's files live: `<root>/<node>/segments/<start-ns>-<seq>.pcap[.part]` and
//! `<root>/<node>/index.sqlite`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::error::{IoContext, StoreError};
use crate::no_follow;
use crate::node_name::check_node_name;

/// File name of a node's index.
pub(crate) const INDEX_FILE: &str = "index.sqlite";
/// Directory of a node's segments.
pub(crate) const SEGMENTS_DIR: &str = "segments";
/// Suffix of a sealed segment.
const SEALED_SUFFIX: &str = ".pcap";
/// Suffix of the segment being written.
const PART_SUFFIX: &str = ".pcap.part";

/// The paths of one node's store.
#[derive(Debug, Clone)]
pub(crate) struct NodeLayout {
    /// `<root>/<node>`
    pub dir: PathBuf,
    /// `<root>/<node>/segments`
    pub segments: PathBuf,
    /// `<root>/<node>/index.sqlite`
    pub index: PathBuf,
}

impl NodeLayout {
    /// The layout of node `node` under `root`.
    pub fn new(root: &Path, node: &str) -> Self {
        let dir = root.join(node);
        NodeLayout {
            segments: dir.join(SEGMENTS_DIR),
            index: dir.join(INDEX_FILE),
            dir,
        }
    }

    /// The layout of node `node` under `root` for writing: the name checked (it must not lead out
    /// of the root), the directories made, and neither of them a symbolic link.
    pub fn for_writer(root: &Path, node: &str) -> Result<Self, StoreError> {
        check_node_name(node)?;
        let layout = NodeLayout::new(root, node);
        for dir in [&layout.dir, &layout.segments] {
            no_follow::refuse_link(dir).at(dir)?;
            std::fs::create_dir_all(dir).at(dir)?;
        }
        Ok(layout)
    }

    /// Path of the segment `seq` starting at `start_ns`, sealed or still being written.
    pub fn segment_path(&self, start_ns: i64, seq: i64, sealed: bool) -> PathBuf {
        let suffix = if sealed { SEALED_SUFFIX } else { PART_SUFFIX };
        self.segments.join(format!("{start_ns}-{seq}{suffix}"))
    }
}

/// A segment file name split into its parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SegmentName {
    /// Timestamp of its first packet (ns).
    pub start_ns: i64,
    /// Sequence number within the node.
    pub seq: i64,
    /// Whether the file is sealed (`.pcap`) rather than being written (`.pcap.part`).
    pub sealed: bool,
}

impl SegmentName {
    /// Parses `<start-ns>-<seq>.pcap` or `<start-ns>-<seq>.pcap.part`; `None` for anything else.
    pub fn parse(file_name: &str) -> Option<Self> {
        let (stem, sealed) = match file_name.strip_suffix(PART_SUFFIX) {
            Some(stem) => (stem, false),
            None => (file_name.strip_suffix(SEALED_SUFFIX)?, true),
        };
        let (start, seq) = stem.rsplit_once('-')?;
        Some(SegmentName {
            start_ns: start.parse().ok()?,
            seq: seq.parse().ok()?,
            sealed,
        })
    }
}

/// The segment files in `dir`, ordered by sequence number. Anything else there is ignored, and so
/// is a symbolic link with a segment's name (with a warning): the store never follows one.
pub(crate) fn list_segments(dir: &Path) -> std::io::Result<Vec<(SegmentName, PathBuf)>> {
    let mut found = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(found),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let Some(name) = entry.file_name().to_str().and_then(SegmentName::parse) else {
            continue;
        };
        if !entry.file_type()?.is_file() {
            tracing::warn!(
                "{} is not a regular file (a symbolic link?); ignoring it",
                entry.path().display()
            );
            continue;
        }
        found.push((name, entry.path()));
    }
    found.sort_by_key(|(name, _)| name.seq);
    Ok(found)
}

/// `path` with `suffix` appended to its file name (SQLite's `-wal` and `-shm` files).
pub(crate) fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(suffix);
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_names_round_trip() {
        let layout = NodeLayout::new(Path::new("/s"), "n1");
        let part = layout.segment_path(1_700_000_000_123_456_789, 7, false);
        assert_eq!(
            part,
            Path::new("/s/n1/segments/1700000000123456789-7.pcap.part")
        );
        let name = part
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(SegmentName::parse);
        assert_eq!(
            name,
            Some(SegmentName {
                start_ns: 1_700_000_000_123_456_789,
                seq: 7,
                sealed: false
            })
        );
        assert_eq!(SegmentName::parse("notes.txt"), None);
        assert_eq!(SegmentName::parse("x-1.pcap"), None);
    }
}
