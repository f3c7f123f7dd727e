//! Rebuilding a node's index from its PCAP segments alone.
//!
//! The store cannot dissect packets (that is the capture pipeline's job), so reindexing is driven by
//! the caller: [`NodeWriter::reindex`] builds a fresh index next to the old one, the caller feeds
//! every packet of [`Store::packets`](crate::Store::packets) through its pipeline into
//! [`NodeWriter::write_packet`] (which locates, never rewrites) and [`NodeWriter::write_entry`], and
//! [`NodeWriter::finish`] swaps the new index in. Until then the old index stays in place, so a
//! failed reindex leaves the store as it was.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::config::StoreConfig;
use crate::error::{IoContext, StoreError};
use crate::index;
use crate::index::segments;
use crate::index::writer::{IndexWriter, Op};
use crate::layout::{self, NodeLayout};
use crate::lock::NodeLock;
use crate::packets::PacketWalk;
use crate::recover;
use crate::segment_file::MAX_SNAPLEN;
use crate::writer::{Counters, NodeWriter, RawPacket, WriteSummary};

/// State of a reindex: the walk over stored packets that fed packets must follow.
pub(crate) struct Rebuild {
    walk: PacketWalk,
    temp_index: PathBuf,
}

/// `path` with `suffix` appended to its file name (SQLite's `-wal` and `-shm` files).
pub(crate) fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(suffix);
    PathBuf::from(name)
}

fn remove_if_present(path: &Path) -> Result<(), StoreError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e).at(path),
        _ => Ok(()),
    }
}

fn remove_database(path: &Path) -> Result<(), StoreError> {
    remove_if_present(&sidecar(path, "-wal"))?;
    remove_if_present(&sidecar(path, "-shm"))?;
    remove_if_present(path)
}

impl NodeWriter {
    /// Starts rebuilding the index of `node` under `root` from its segments (see the [module
    /// docs](crate#reindex)). A writer of the node must not be running: it holds the node's lock,
    /// and the reindex is refused while it does.
    pub fn reindex(root: &Path, node: &str) -> Result<NodeWriter, StoreError> {
        crate::node_name::check_node_name(node)?;
        let layout = NodeLayout::new(root, node);
        if !layout.segments.is_dir() {
            return Err(StoreError::NotFound(layout.dir));
        }
        let lock = NodeLock::acquire(&layout.dir)?;
        let old_rows = match index::open_readable(&layout.index)
            .and_then(|c| segments::load(&c, &layout.index))
        {
            Ok(rows) => rows,
            Err(e) if layout.index.exists() => {
                tracing::warn!("old index unreadable, numbering packets from 1: {e}");
                Vec::new()
            }
            Err(_) => Vec::new(),
        };
        for (name, path) in layout::list_segments(&layout.segments).at(&layout.segments)? {
            if !name.sealed {
                recover::seal_file(&layout, name, &path, 0)?;
            }
        }
        let temp_index = sidecar(&layout.index, ".reindex");
        remove_database(&temp_index)?;
        let conn = index::open_writable(&temp_index)?;
        let walk = PacketWalk::new(&layout.segments, old_rows, None)?;
        let counters = Counters {
            next_packet: 1,
            next_stream: 1,
            next_entry: 1,
            next_seq: 1,
            next_block: 1,
        };
        let mut layout_for_writer = layout.clone();
        layout_for_writer.index = temp_index.clone();
        let rebuild = Rebuild { walk, temp_index };
        NodeWriter::start(
            layout_for_writer,
            StoreConfig::default(),
            conn,
            counters,
            Some(rebuild),
            lock,
        )
    }
}

impl Rebuild {
    /// Checks that `packet` is the next stored packet and returns its segment, number and offset.
    pub(crate) fn locate(
        &mut self,
        layout: &NodeLayout,
        index: &mut IndexWriter,
        packet: &RawPacket,
    ) -> Result<(i64, u64, u64), StoreError> {
        let mismatch = |reason: String| StoreError::ReindexMismatch {
            path: layout.dir.clone(),
            reason,
        };
        let stored = self
            .walk
            .next()
            .ok_or_else(|| mismatch("more packets were fed than are stored".into()))?;
        for row in self.walk.take_finished() {
            index.send(Op::Segment(row))?;
        }
        let fed_len = packet.data.len().min(MAX_SNAPLEN as usize);
        if stored.ts_ns != packet.ts_ns || stored.data.len() != fed_len {
            return Err(mismatch(format!(
                "packet {} was fed out of order (feed Store::packets in order, each exactly once)",
                stored.number
            )));
        }
        Ok((stored.seq, stored.number, stored.offset))
    }
}

/// Completes a reindex: indexes the segments' remaining packets, commits, and swaps the new index in.
pub(crate) fn finish(mut writer: NodeWriter) -> Result<WriteSummary, StoreError> {
    let Some(mut rebuild) = writer.rebuild.take() else {
        return Ok(writer.summary);
    };
    for _ in rebuild.walk.by_ref() {}
    for row in rebuild.walk.take_finished() {
        writer.index.send(Op::Segment(row))?;
    }
    writer.hand_over_flows()?;
    writer.hand_over_entries()?;
    let next_stream = writer.next_stream();
    writer.index.send(Op::NextStream(next_stream))?;
    writer.index.stop()?;
    let final_index = writer.layout.dir.join(layout::INDEX_FILE);
    remove_if_present(&sidecar(&final_index, "-wal"))?;
    remove_if_present(&sidecar(&final_index, "-shm"))?;
    std::fs::rename(&rebuild.temp_index, &final_index).at(&final_index)?;
    remove_if_present(&sidecar(&rebuild.temp_index, "-wal"))?;
    remove_if_present(&sidecar(&rebuild.temp_index, "-shm"))?;
    Ok(writer.summary)
}
