//! The state of an index rebuild while a [`NodeWriter`](crate::NodeWriter) is fed the stored
//! packets: where the next stored packet is, and how the rebuilt index replaces the old one.

use std::path::{Path, PathBuf};

use crate::error::{IoContext, StoreError};
use crate::index::writer::{IndexWriter, Op};
use crate::layout::{NodeLayout, sidecar};
use crate::packets::{PacketWalk, RawPacket};
use crate::segment_file::MAX_SNAPLEN;

/// State of a reindex: the walk over stored packets that fed packets must follow.
pub(crate) struct Rebuild {
    walk: PacketWalk,
    temp_index: PathBuf,
}

impl Rebuild {
    /// A rebuild into the index at `temp_index`, following `walk` over the stored packets.
    pub(crate) fn new(walk: PacketWalk, temp_index: PathBuf) -> Self {
        Rebuild { walk, temp_index }
    }

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

    /// Hands the index the rows of the segments whose packets were not all fed.
    pub(crate) fn index_remaining(&mut self, index: &mut IndexWriter) -> Result<(), StoreError> {
        for _ in self.walk.by_ref() {}
        for row in self.walk.take_finished() {
            index.send(Op::Segment(row))?;
        }
        Ok(())
    }

    /// Puts the rebuilt index (its writer stopped) in place of `final_index`.
    pub(crate) fn swap_in(self, final_index: &Path) -> Result<(), StoreError> {
        remove_if_present(&sidecar(final_index, "-wal"))?;
        remove_if_present(&sidecar(final_index, "-shm"))?;
        std::fs::rename(&self.temp_index, final_index).at(final_index)?;
        remove_if_present(&sidecar(&self.temp_index, "-wal"))?;
        remove_if_present(&sidecar(&self.temp_index, "-shm"))
    }
}

fn remove_if_present(path: &Path) -> Result<(), StoreError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e).at(path),
        _ => Ok(()),
    }
}

/// Removes the SQLite database at `path` with its log files.
pub(crate) fn remove_database(path: &Path) -> Result<(), StoreError> {
    remove_if_present(&sidecar(path, "-wal"))?;
    remove_if_present(&sidecar(path, "-shm"))?;
    remove_if_present(path)
}
