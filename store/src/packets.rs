//! Walking a node's stored packets in order, numbered as the index numbers them: what `reindex`
//! feeds the dissectors and what a filterless export copies.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::StoreError;
use crate::index::segments::SegmentRow;
use crate::layout::{self, SegmentName};
use crate::segment_file::SegmentData;

/// A captured packet, borrowed from wherever its bytes live: what a packet source yields, what
/// the pipeline dissects (as `shark_pipeline::Packet`) and what the store keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawPacket<'a> {
    /// Capture time, ns since the Unix epoch.
    pub ts_ns: i64,
    /// Length on the wire (may exceed `data.len()` when the capture was cut).
    pub orig_len: u32,
    /// PCAP link type (1 Ethernet, 113 Linux cooked, …).
    pub linktype: u32,
    /// The captured bytes.
    pub data: &'a [u8],
}

/// A packet read back from a segment, with its number and where it lies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPacket {
    /// Number in the node's packet series.
    pub number: u64,
    /// Capture time, ns since the epoch.
    pub ts_ns: i64,
    /// Length on the wire.
    pub orig_len: u32,
    /// PCAP link type of its segment.
    pub linktype: u32,
    /// The segment file holding it.
    pub segment: Arc<Path>,
    /// Byte offset of its record in the segment.
    pub offset: u64,
    /// Captured bytes.
    pub data: Vec<u8>,
    /// Sequence number of its segment.
    pub(crate) seq: i64,
}

impl StoredPacket {
    /// The packet in the form [`NodeWriter::write_packet`](crate::NodeWriter::write_packet) takes.
    pub fn as_raw(&self) -> RawPacket<'_> {
        RawPacket {
            ts_ns: self.ts_ns,
            orig_len: self.orig_len,
            linktype: self.linktype,
            data: &self.data,
        }
    }
}

/// Iterator over a node's packets, segment by segment in sequence order. A segment that cannot be
/// read is skipped with a warning naming it.
pub struct PacketWalk {
    files: std::vec::IntoIter<(SegmentName, PathBuf)>,
    /// Rows of the index, when it could be read: they fix each segment's first packet number.
    rows: HashMap<i64, SegmentRow>,
    current: Option<Current>,
    next_number: u64,
    window: Option<(i64, i64)>,
    finished: Vec<SegmentRow>,
}

struct Current {
    row: SegmentRow,
    path: Arc<Path>,
    data: SegmentData,
    offset: u64,
}

impl PacketWalk {
    /// Walks the segments in `segments_dir`, numbering as `rows` say (or from 1 where they are silent),
    /// keeping only packets in `window` (`[from, to)` ns) when given.
    pub(crate) fn new(
        segments_dir: &Path,
        rows: Vec<SegmentRow>,
        window: Option<(i64, i64)>,
    ) -> Result<Self, StoreError> {
        let files =
            layout::list_segments(segments_dir).map_err(|e| StoreError::io(segments_dir, e))?;
        let rows: HashMap<i64, SegmentRow> = rows.into_iter().map(|r| (r.seq, r)).collect();
        Ok(PacketWalk {
            files: files.into_iter(),
            rows,
            current: None,
            next_number: 1,
            window,
            finished: Vec::new(),
        })
    }

    /// Rows describing each segment walked to its end, as a rebuilt index should record them.
    pub(crate) fn take_finished(&mut self) -> Vec<SegmentRow> {
        std::mem::take(&mut self.finished)
    }

    fn open_next(&mut self) -> Option<()> {
        loop {
            let (name, path) = self.files.next()?;
            let known = self.rows.get(&name.seq);
            if let (Some((from, to)), Some(row)) = (self.window, known)
                && row.packets > 0
                && (row.last_ts < from || row.first_ts >= to)
            {
                self.next_number = row.end_packet();
                continue;
            }
            let data = match SegmentData::read(&path) {
                Ok(data) => data,
                Err(e) => {
                    tracing::warn!("skipping segment {}: {e}", path.display());
                    if let Some(row) = known {
                        self.next_number = row.end_packet();
                    }
                    continue;
                }
            };
            let first_packet = known.map_or(self.next_number, |r| r.first_packet);
            self.next_number = first_packet;
            let file = path
                .file_name()
                .and_then(|f| f.to_str())
                .unwrap_or_default()
                .to_owned();
            let row = SegmentRow {
                seq: name.seq,
                file,
                linktype: data.linktype(),
                first_packet,
                packets: 0,
                first_ts: name.start_ns,
                last_ts: name.start_ns,
                bytes: data.file_len(),
                sealed: true,
            };
            self.current = Some(Current {
                row,
                path: Arc::from(path),
                data,
                offset: crate::segment_file::FILE_HEADER_LEN,
            });
            return Some(());
        }
    }
}

impl Iterator for PacketWalk {
    type Item = StoredPacket;

    fn next(&mut self) -> Option<StoredPacket> {
        loop {
            if self.current.is_none() {
                self.open_next()?;
            }
            let cur = self.current.as_mut()?;
            let Some(record) = cur.data.record_at(cur.offset) else {
                if cur.offset < cur.data.file_len() {
                    tracing::warn!(
                        "segment {} is damaged after byte {}; the rest is skipped",
                        cur.path.display(),
                        cur.offset
                    );
                }
                if let Some(done) = self.current.take() {
                    let mut row = done.row;
                    row.bytes = done.offset;
                    self.finished.push(row);
                }
                continue;
            };
            let number = self.next_number;
            self.next_number += 1;
            cur.offset = record.offset + crate::segment_file::record_len(&record);
            if cur.row.packets == 0 {
                cur.row.first_ts = record.ts_ns;
            }
            cur.row.packets += 1;
            cur.row.last_ts = record.ts_ns;
            if let Some((from, to)) = self.window
                && (record.ts_ns < from || record.ts_ns >= to)
            {
                continue;
            }
            return Some(StoredPacket {
                number,
                ts_ns: record.ts_ns,
                orig_len: record.orig_len,
                linktype: cur.data.linktype(),
                segment: Arc::clone(&cur.path),
                offset: record.offset,
                data: record.data.to_vec(),
                seq: cur.row.seq,
            });
        }
    }
}
