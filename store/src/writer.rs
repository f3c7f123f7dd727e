//! [`NodeWriter`]: appends a node's packets to rotating segments and its entries to the index.

use std::collections::HashMap;
use std::path::Path;

use rusqlite::{Connection, OptionalExtension};

use crate::config::StoreConfig;
use crate::entry::Entry;
use crate::error::{IoContext, SqlContext, StoreError};
use crate::index;
use crate::index::batch::Batcher;
use crate::index::parts::Interner;
use crate::index::segments::SegmentRow;
use crate::index::writer::{FlowChunk, IndexWriter, Op};
use crate::layout::NodeLayout;
use crate::lock::NodeLock;
use crate::packets::RawPacket;
use crate::rebuild::Rebuild;
use crate::recover;
use crate::retention::{self, Retention};
use crate::segment_file::{self, SegmentWriter};

/// Flow locations buffered before they are handed to the index.
const FLOW_BUFFER: usize = 65_536;
/// Packet time between hand-overs of buffered flow locations and segment progress.
const PROGRESS_EVERY_NS: i64 = 1_000_000_000;

/// What a [`NodeWriter`] did, returned by [`NodeWriter::finish`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteSummary {
    /// Packets written (or located, when reindexing).
    pub packets: u64,
    /// Entries written.
    pub entries: u64,
    /// Segments sealed.
    pub segments: u64,
    /// PCAP bytes written.
    pub bytes: u64,
}

/// The writer of one node's store, `<root>/<node>`: packets go to rotating PCAP segments, entries to
/// the SQLite index through a writer thread. Opening it recovers what a crashed writer left.
pub struct NodeWriter {
    layout: NodeLayout,
    config: StoreConfig,
    index: IndexWriter,
    /// `Some` when rebuilding the index of packets already stored.
    rebuild: Option<Rebuild>,
    open: Option<OpenSegment>,
    next_packet: u64,
    next_stream: u64,
    next_entry: u64,
    next_seq: i64,
    flows: FlowBuffer,
    /// Entries not yet handed to the index.
    entries: Batcher,
    last_progress_ts: i64,
    summary: WriteSummary,
    /// This process's exclusive hold on the node directory; declared last, so it is released
    /// after the index thread has stopped.
    _lock: NodeLock,
}

/// The segment being written.
struct OpenSegment {
    writer: SegmentWriter,
    row: SegmentRow,
}

/// Flow locations of the current segment not yet handed to the index.
#[derive(Default)]
pub(crate) struct FlowBuffer {
    seq: i64,
    by_stream: HashMap<u64, Vec<(u64, u64)>>,
    len: usize,
}

impl FlowBuffer {
    /// The segment's flow locations, by stream: in a fixed order, so the index's rows are
    /// written in the same order on every run (the map's own order is random per process).
    fn take(&mut self) -> Vec<FlowChunk> {
        self.len = 0;
        let seq = self.seq;
        let mut chunks: Vec<FlowChunk> = self
            .by_stream
            .drain()
            .map(|(stream, pairs)| FlowChunk { stream, seq, pairs })
            .collect();
        chunks.sort_unstable_by_key(|chunk| chunk.stream);
        chunks
    }
}

impl NodeWriter {
    /// Opens (creating if needed) the store of `node` under `root` for appending, recovering a
    /// segment left open by a crashed writer and applying retention.
    pub fn open(root: &Path, node: &str, config: StoreConfig) -> Result<Self, StoreError> {
        let layout = NodeLayout::for_writer(root, node)?;
        // Before anything is read or written: a second writer would recover this one's open segment.
        let lock = NodeLock::acquire(&layout.dir)?;
        let conn = index::open_writable(&layout.index)?;
        // Retention first: on a full disk, deleting old segments is what lets recovery write.
        if let Some(retention) = Self::retention(&config, &layout, part_bytes(&layout)) {
            retention::apply(&conn, &layout.index, &retention)?;
        }
        let rows = recover::recover(&conn, &layout)?;
        let mut counters = Counters::load(&conn, &layout.index, &rows)?;
        // A damaged segment file has no row but keeps its sequence number.
        let files = crate::layout::list_segments(&layout.segments).at(&layout.segments)?;
        counters.next_seq = files
            .iter()
            .map(|(n, _)| n.seq + 1)
            .fold(counters.next_seq, i64::max);
        Self::start(layout, config, conn, counters, None, lock)
    }

    pub(crate) fn start(
        layout: NodeLayout,
        config: StoreConfig,
        conn: Connection,
        counters: Counters,
        rebuild: Option<Rebuild>,
        lock: NodeLock,
    ) -> Result<Self, StoreError> {
        let parts = Interner::new(&conn, &layout.index)?;
        let index = IndexWriter::start(conn, &layout.index)?;
        Ok(NodeWriter {
            layout,
            config,
            index,
            rebuild,
            open: None,
            next_packet: counters.next_packet,
            next_stream: counters.next_stream,
            next_entry: counters.next_entry,
            next_seq: counters.next_seq,
            flows: FlowBuffer::default(),
            entries: Batcher::new(parts),
            last_progress_ts: i64::MIN,
            summary: WriteSummary::default(),
            _lock: lock,
        })
    }

    /// Appends `packet` to the current segment (rotating by size, age or link type) and returns its
    /// number in the node's packet series. `stream` is its flow, if it has one; export finds the
    /// flow's packets through it.
    ///
    /// When reindexing, the packet must be the next stored one (as [`Store::packets`](crate::Store::packets)
    /// yields them); nothing is written, only its location is indexed.
    pub fn write_packet(
        &mut self,
        packet: &RawPacket,
        stream: Option<u64>,
    ) -> Result<u64, StoreError> {
        let (seq, number, offset) = match self.rebuild.as_mut() {
            Some(rebuild) => rebuild.locate(&self.layout, &mut self.index, packet)?,
            None => self.append(packet)?,
        };
        self.summary.packets += 1;
        if let Some(stream) = stream {
            if self.flows.seq != seq {
                self.hand_over_flows()?;
                self.flows.seq = seq;
            }
            self.flows
                .by_stream
                .entry(stream)
                .or_default()
                .push((number, offset));
            self.flows.len += 1;
        }
        if self.flows.len >= FLOW_BUFFER
            || packet.ts_ns.saturating_sub(self.last_progress_ts) >= PROGRESS_EVERY_NS
        {
            self.progress(packet.ts_ns)?;
        }
        Ok(number)
    }

    fn append(&mut self, packet: &RawPacket) -> Result<(i64, u64, u64), StoreError> {
        // A packet no segment can hold is refused before a segment is made for it.
        segment_file::split_timestamp(packet.ts_ns)?;
        let age = i64::try_from(self.config.segment_age.as_nanos()).unwrap_or(i64::MAX);
        let rotate = self.open.as_ref().is_some_and(|s| {
            s.row.linktype != packet.linktype
                || s.writer.len() >= self.config.segment_size
                || packet.ts_ns.saturating_sub(s.row.first_ts) >= age
        });
        if rotate {
            self.seal_open()?;
        }
        if self.open.is_none() {
            let created = self.create_segment(packet)?;
            self.open = Some(created);
        }
        let Some(segment) = self.open.as_mut() else {
            return Err(StoreError::WriterGone(self.layout.dir.clone()));
        };
        let offset = segment
            .writer
            .append(packet.ts_ns, packet.orig_len, packet.data)?;
        let number = self.next_packet;
        self.next_packet += 1;
        let row = &mut segment.row;
        if row.packets == 0 {
            row.first_ts = packet.ts_ns;
        }
        row.packets += 1;
        row.last_ts = packet.ts_ns;
        row.bytes = segment.writer.len();
        Ok((row.seq, number, offset))
    }

    fn create_segment(&mut self, packet: &RawPacket) -> Result<OpenSegment, StoreError> {
        let seq = self.next_seq;
        self.next_seq += 1;
        let path = self.layout.segment_path(packet.ts_ns, seq, false);
        let writer = SegmentWriter::create(path.clone(), packet.linktype)?;
        let row = SegmentRow {
            seq,
            file: path
                .file_name()
                .and_then(|f| f.to_str())
                .unwrap_or_default()
                .to_owned(),
            linktype: packet.linktype,
            first_packet: self.next_packet,
            packets: 0,
            first_ts: packet.ts_ns,
            last_ts: packet.ts_ns,
            bytes: writer.len(),
            sealed: false,
        };
        self.index.send(Op::Segment(row.clone()))?;
        Ok(OpenSegment { writer, row })
    }

    /// Hands buffered flow locations and the open segment's progress to the index.
    fn progress(&mut self, ts_ns: i64) -> Result<(), StoreError> {
        self.last_progress_ts = ts_ns;
        self.hand_over_flows()?;
        self.hand_over_entries()?;
        if let Some(segment) = self.open.as_mut() {
            segment.writer.flush()?;
            self.index.send(Op::Segment(segment.row.clone()))?;
        }
        Ok(())
    }

    /// Records that packets `first..=last` of flow `stream` are its TCP handshake (from the SYN to
    /// the last packet before data), so an export of any of its exchanges includes them.
    pub fn write_handshake(
        &mut self,
        stream: u64,
        first: u64,
        last: u64,
    ) -> Result<(), StoreError> {
        self.index.send(Op::Handshake(stream, first, last))
    }

    /// Records that packets `first..=last` of flow `stream` carry state its later exchanges need
    /// to be decoded (HTTP/2: the preface, SETTINGS and header blocks), so an export of any later
    /// exchange of the flow includes them.
    pub fn write_state_packets(
        &mut self,
        stream: u64,
        first: u64,
        last: u64,
    ) -> Result<(), StoreError> {
        self.index.send(Op::StatePackets(stream, first, last))
    }

    pub(crate) fn hand_over_flows(&mut self) -> Result<(), StoreError> {
        if self.flows.len > 0 {
            let chunks = self.flows.take();
            self.index.send(Op::Flows(chunks))?;
        }
        Ok(())
    }

    fn seal_open(&mut self) -> Result<(), StoreError> {
        let Some(segment) = self.open.take() else {
            return Ok(());
        };
        self.hand_over_flows()?;
        let mut row = segment.row;
        let sealed = self.layout.segment_path(row.first_ts, row.seq, true);
        let written = segment.writer.len();
        let job = segment.writer.close(sealed.clone())?;
        row.file = sealed
            .file_name()
            .and_then(|f| f.to_str())
            .unwrap_or_default()
            .to_owned();
        row.bytes = written;
        row.sealed = true;
        self.summary.segments += 1;
        self.summary.bytes += written;
        // Syncing happens on the index thread: capture never waits for the disk.
        self.index.send(Op::Seal(job, row))?;
        match Self::retention(&self.config, &self.layout, 0) {
            Some(retention) => self.index.send(Op::Retain(retention)),
            None => Ok(()),
        }
    }

    /// What retention `config` asks for, if any, with `open_bytes` in a segment being written.
    fn retention(config: &StoreConfig, layout: &NodeLayout, open_bytes: u64) -> Option<Retention> {
        if config.storage_limit.is_none() && config.retention.is_none() {
            return None;
        }
        Some(Retention {
            storage_limit: config.storage_limit,
            max_age_ns: config
                .retention
                .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)),
            open_bytes,
            segments_dir: layout.segments.clone(),
        })
    }

    /// A new flow id, unique within the node's store (across imports and restarts).
    pub fn alloc_stream(&mut self) -> u64 {
        let id = self.next_stream;
        self.next_stream += 1;
        id
    }

    /// Queues `entry` for the index (committed in batches); its `id` is assigned here.
    pub fn write_entry(&mut self, mut entry: Entry) -> Result<(), StoreError> {
        entry.id = self.next_entry;
        self.next_entry += 1;
        if let Some(batch) = self.entries.push(&entry) {
            self.index.send(Op::Entries(Box::new(batch)))?;
        }
        self.summary.entries += 1;
        Ok(())
    }

    /// Hands the partly filled block of entries to the index.
    pub(crate) fn hand_over_entries(&mut self) -> Result<(), StoreError> {
        match self.entries.take() {
            Some(batch) => self.index.send(Op::Entries(Box::new(batch))),
            None => Ok(()),
        }
    }

    /// Commits everything written so far to the index (segments stay open). Readers see it after.
    pub fn flush(&mut self) -> Result<(), StoreError> {
        self.progress(self.last_progress_ts)?;
        self.index.send(Op::NextStream(self.next_stream))?;
        self.index.flush()
    }

    /// Seals the open segment, commits the index and stops the writer thread.
    pub fn finish(mut self) -> Result<WriteSummary, StoreError> {
        if let Some(mut rebuild) = self.rebuild.take() {
            rebuild.index_remaining(&mut self.index)?;
            self.hand_over_flows()?;
            self.hand_over_entries()?;
            self.index.send(Op::NextStream(self.next_stream))?;
            self.index.stop()?;
            rebuild.swap_in(&self.layout.dir.join(crate::layout::INDEX_FILE))?;
            return Ok(self.summary);
        }
        self.seal_open()?;
        self.hand_over_entries()?;
        self.index.send(Op::NextStream(self.next_stream))?;
        self.index.stop()?;
        Ok(self.summary)
    }
}

/// Bytes in `.pcap.part` files a crashed writer left.
fn part_bytes(layout: &NodeLayout) -> u64 {
    crate::layout::list_segments(&layout.segments)
        .unwrap_or_default()
        .iter()
        .filter(|(name, _)| !name.sealed)
        .filter_map(|(_, path)| std::fs::metadata(path).ok())
        .map(|m| m.len())
        .sum()
}

impl Drop for NodeWriter {
    /// A writer dropped without [`NodeWriter::finish`] (an error path) still hands what it holds
    /// to the index; its open segment stays a `.part`, recovered on the next open.
    fn drop(&mut self) {
        let _ = self.hand_over_flows();
        let _ = self.hand_over_entries();
    }
}

/// Where numbering continues when a store is opened.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Counters {
    pub next_packet: u64,
    pub next_stream: u64,
    pub next_entry: u64,
    pub next_seq: i64,
}

impl Counters {
    /// Reads the counters from the index and the recovered segment rows.
    pub fn load(conn: &Connection, path: &Path, rows: &[SegmentRow]) -> Result<Self, StoreError> {
        let one = |sql: &str| -> Result<i64, StoreError> {
            conn.query_row(sql, [], |r| r.get::<_, Option<i64>>(0))
                .optional()
                .at(path)
                .map(|v| v.flatten().unwrap_or(0))
        };
        let saved_stream = one("SELECT value FROM counters WHERE name = 'next_stream'")?;
        let flows_stream = one("SELECT max(stream) FROM flows")? + 1;
        let flows_packet = one("SELECT max(last_packet) FROM flows")? + 1;
        let rows_packet = rows.iter().map(SegmentRow::end_packet).max().unwrap_or(1);
        Ok(Counters {
            next_packet: rows_packet.max(flows_packet as u64).max(1),
            next_stream: saved_stream.max(flows_stream).max(1) as u64,
            next_entry: (one("SELECT value FROM counters WHERE name = 'next_entry'")?.max(1))
                as u64,
            next_seq: rows.iter().map(|r| r.seq + 1).max().unwrap_or(1),
        })
    }
}
