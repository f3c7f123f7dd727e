//! Rebuilding a node's index from its PCAP segments alone.
//!
//! The store cannot dissect packets (that is the capture pipeline's job), so reindexing is driven by
//! the caller: [`NodeWriter::reindex`] builds a fresh index next to the old one, the caller feeds
//! every packet of [`Store::packets`](crate::Store::packets) through its pipeline into
//! [`NodeWriter::write_packet`] (which locates, never rewrites) and [`NodeWriter::write_entry`], and
//! [`NodeWriter::finish`] swaps the new index in. Until then the old index stays in place, so a
//! failed reindex leaves the store as it was.

use std::path::Path;

use crate::config::StoreConfig;
use crate::error::{IoContext, StoreError};
use crate::index;
use crate::index::segments;
use crate::layout::{self, NodeLayout, sidecar};
use crate::lock::NodeLock;
use crate::packets::PacketWalk;
use crate::rebuild::{Rebuild, remove_database};
use crate::recover;
use crate::writer::{Counters, NodeWriter};

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
        };
        let mut layout_for_writer = layout.clone();
        layout_for_writer.index = temp_index.clone();
        let rebuild = Rebuild::new(walk, temp_index);
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
