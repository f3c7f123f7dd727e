//! Export: the packets of a window (or of the entries a filter matches) as one classic PCAP.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension};

use crate::entry::Entry;
use crate::error::{SqlContext, StoreError};
use crate::index::segments::{self, SegmentRow};
use crate::index::{self, locations};
use crate::layout::NodeLayout;
use crate::packets::StoredPacket;
use crate::segment_file::{self, SegmentFile};

/// What an export wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportSummary {
    /// Packets written.
    pub packets: u64,
    /// Entries whose packets were exported (0 for a filterless export).
    pub entries: u64,
    /// Bytes written, PCAP header included.
    pub bytes: u64,
    /// Packets left out because their link type differs from the first packet's (one PCAP has one).
    pub skipped_linktype: u64,
    /// Matched entries none of whose packets is kept any more (their segments were removed by
    /// retention, or lost): they are in `entries` but added no packet.
    pub entries_without_packets: u64,
}

/// Packets of one node, in order.
pub(crate) type PacketStream = Box<dyn Iterator<Item = Result<StoredPacket, StoreError>>>;

/// Every packet of `layout`'s segments in `[from, to)`: one source per segment, read in file
/// order and opened when the merge reaches the segment's first timestamp (its file name's), so
/// that the merge by timestamp also orders a node whose imports went back in time, holding only
/// the segments it is reading. Segments the index places wholly outside the window are left out.
pub(crate) fn window_packets(
    layout: &NodeLayout,
    from: i64,
    to: i64,
) -> Result<Vec<Source>, StoreError> {
    let rows = match index::open_readable(&layout.index) {
        Ok(conn) => segment_rows(&conn, layout)?,
        Err(_) => SegmentRows::new(),
    };
    let files = crate::layout::list_segments(&layout.segments)
        .map_err(|e| StoreError::io(&layout.segments, e))?;
    let mut sources = Vec::with_capacity(files.len());
    for (name, path) in files {
        let row = rows.get(&name.seq);
        if row.is_some_and(|r| r.packets > 0 && (r.last_ts < from || r.first_ts >= to)) {
            continue;
        }
        let first_packet = row.map_or(0, |r| r.first_packet);
        sources.push(Source {
            not_before: name.start_ns,
            open: Box::new(move || segment_window(path, name.seq, first_packet, from, to)),
        });
    }
    Ok(sources)
}

/// The packets of the segment at `path` in `[from, to)`, in file order, numbered from
/// `first_packet`. A segment that cannot be opened is skipped with a warning, as is what follows
/// a damaged record.
fn segment_window(
    path: PathBuf,
    seq: i64,
    first_packet: u64,
    from: i64,
    to: i64,
) -> Result<PacketStream, StoreError> {
    let mut file = match SegmentFile::open(&path) {
        Ok(file) => file,
        Err(e) => {
            tracing::warn!("skipping segment {}: {e}", path.display());
            return Ok(Box::new(std::iter::empty()));
        }
    };
    let len = std::fs::metadata(&path).map_or(0, |m| m.len());
    let (linktype, segment): (u32, Arc<Path>) = (file.linktype(), Arc::from(path));
    let mut offset = segment_file::FILE_HEADER_LEN;
    let (mut number, mut done) = (first_packet, false);
    let records = std::iter::from_fn(move || {
        while !done {
            let record = match file.read_at(offset) {
                Ok(Some(record)) => record,
                Ok(None) => {
                    if offset < len {
                        tracing::warn!(
                            "segment {} is damaged after byte {offset}; the rest is skipped",
                            segment.display()
                        );
                    }
                    done = true;
                    continue;
                }
                Err(e) => {
                    done = true;
                    return Some(Err(e));
                }
            };
            let at = offset;
            offset = at + segment_file::record_len(&record);
            number += 1;
            if record.ts_ns < from || record.ts_ns >= to {
                continue;
            }
            return Some(Ok(StoredPacket {
                number: number - 1,
                ts_ns: record.ts_ns,
                orig_len: record.orig_len,
                linktype,
                segment: Arc::clone(&segment),
                offset: at,
                data: record.data.to_vec(),
                seq,
            }));
        }
        None
    });
    Ok(Box::new(records))
}

/// The packet spans of matched entries of one node, by flow.
pub(crate) type Spans = BTreeMap<u64, Vec<(u64, u64)>>;

/// Adds `entry`'s packets to `spans`.
pub(crate) fn add_span(spans: &mut Spans, entry: &Entry) {
    spans
        .entry(entry.stream)
        .or_default()
        .push((entry.packets.first, entry.packets.last));
}

/// The packets of the matched exchanges of one node (`spans`) with their flows' TCP handshakes,
/// or with `whole_flows` every packet of their flows: one source per segment holding any of them,
/// read at their recorded offsets in packet order, so that the merge by timestamp also orders a
/// node whose imports went back in time. A source finds its packets only when the merge reaches
/// its segment's first timestamp, so an export holds the packet list of the segments it is
/// reading, not of the whole answer.
pub(crate) fn entry_packets(
    layout: &NodeLayout,
    spans: Spans,
    whole_flows: bool,
    summary: &mut ExportSummary,
) -> Result<Vec<Source>, StoreError> {
    let conn = index::open_readable(&layout.index)?;
    let rows = segment_rows(&conn, layout)?;
    summary.entries_without_packets += gone(&conn, layout, &spans)?;
    let mut spans = if whole_flows {
        spans
    } else {
        add_handshakes(&conn, layout, spans)?
    };
    spans.values_mut().for_each(merge_spans);
    let seqs = segments_of(&conn, layout, &spans)?;
    let spans = Rc::new(spans);
    let mut sources = Vec::with_capacity(seqs.len());
    for seq in seqs {
        let Some(row) = rows.get(&seq).cloned() else {
            continue;
        };
        let (layout, spans) = (layout.clone(), Rc::clone(&spans));
        sources.push(Source {
            not_before: row.first_ts,
            open: Box::new(move || segment_packets(&layout, &row, &spans, whole_flows)),
        });
    }
    Ok(sources)
}

/// How many of `spans` (one per matched exchange) have no packet left in any segment kept: the
/// flow locations of their segments went with them.
fn gone(conn: &Connection, layout: &NodeLayout, spans: &Spans) -> Result<u64, StoreError> {
    let path = &layout.index;
    let mut stmt = conn
        .prepare_cached("SELECT first_packet, last_packet FROM flows WHERE stream = ?1")
        .at(path)?;
    let mut gone = 0;
    for (stream, exchanges) in spans {
        let kept = stmt
            .query_map([*stream as i64], |r| {
                Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64))
            })
            .at(path)?
            .collect::<Result<Vec<_>, _>>()
            .at(path)?;
        gone += exchanges
            .iter()
            .filter(|&&(first, last)| !kept.iter().any(|&(a, b)| a <= last && first <= b))
            .count() as u64;
    }
    Ok(gone)
}

/// The sequence numbers of the segments holding packets of `spans`' flows.
fn segments_of(
    conn: &Connection,
    layout: &NodeLayout,
    spans: &Spans,
) -> Result<BTreeSet<i64>, StoreError> {
    let path = &layout.index;
    let mut stmt = conn
        .prepare_cached("SELECT DISTINCT seq FROM flows WHERE stream = ?1")
        .at(path)?;
    let mut seqs = BTreeSet::new();
    for stream in spans.keys() {
        let found = stmt
            .query_map([*stream as i64], |r| r.get::<_, i64>(0))
            .at(path)?
            .collect::<Result<Vec<_>, _>>()
            .at(path)?;
        seqs.extend(found);
    }
    Ok(seqs)
}

/// The packets of `spans` (or of their whole flows) that segment `row` holds, in packet order.
fn segment_packets(
    layout: &NodeLayout,
    row: &SegmentRow,
    spans: &Spans,
    whole_flows: bool,
) -> Result<PacketStream, StoreError> {
    let path = &layout.index;
    let conn = index::open_readable(path)?;
    let mut stmt = conn
        .prepare_cached("SELECT stream, locations FROM flows WHERE seq = ?1")
        .at(path)?;
    let mut rows = stmt.query([row.seq]).at(path)?;
    let mut wanted = BTreeMap::new();
    while let Some(r) = rows.next().at(path)? {
        let stream = r.get::<_, i64>(0).at(path)? as u64;
        let Some(flow_spans) = spans.get(&stream) else {
            continue;
        };
        let blob = r
            .get_ref(1)
            .and_then(|v| v.as_blob().map_err(Into::into))
            .at(path)?;
        for (packet, offset) in locations::decode(blob) {
            if whole_flows || in_spans(flow_spans, packet) {
                wanted.insert(packet, offset);
            }
        }
    }
    Ok(read_packets(layout, row, wanted)?.unwrap_or_else(|| Box::new(std::iter::empty())))
}

/// Sorts `spans` and merges those that overlap or touch, for [`in_spans`].
fn merge_spans(spans: &mut Vec<(u64, u64)>) {
    spans.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::with_capacity(spans.len());
    for &(first, last) in spans.iter() {
        match merged.last_mut() {
            Some(previous) if first <= previous.1.saturating_add(1) => {
                previous.1 = previous.1.max(last)
            }
            _ => merged.push((first, last)),
        }
    }
    *spans = merged;
}

/// Whether `packet` lies in one of the (first, last) `spans`, ends included; `spans` sorted and
/// not overlapping ([`merge_spans`]), so a flow with many spans is searched, not scanned.
fn in_spans(spans: &[(u64, u64)], packet: u64) -> bool {
    let after = spans.partition_point(|&(first, _)| first <= packet);
    after > 0
        && spans
            .get(after - 1)
            .is_some_and(|&(_, last)| packet <= last)
}

/// Whether the index has `table` (older schema versions lack the later ones).
fn has_table(conn: &Connection, path: &Path, table: &str) -> Result<bool, StoreError> {
    conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_schema WHERE type = 'table' AND name = ?1",
        [table],
        |row| row.get(0),
    )
    .at(path)
}

/// `spans` and, for each of their flows, what decoding them needs besides: the TCP handshake,
/// and the packets before the last exchange that carry state (HTTP/2's preface, SETTINGS and
/// header blocks). Indexes written before these were recorded (schema versions 3 and 5) lack them.
fn add_handshakes(
    conn: &Connection,
    layout: &NodeLayout,
    mut spans: Spans,
) -> Result<Spans, StoreError> {
    let path = &layout.index;
    if has_table(conn, path, "handshakes")? {
        let mut stmt = conn
            .prepare_cached("SELECT first_packet, last_packet FROM handshakes WHERE stream = ?1")
            .at(path)?;
        for (stream, flow_spans) in spans.iter_mut() {
            let handshake = stmt
                .query_row([*stream as i64], |row| {
                    Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?))
                })
                .optional()
                .at(path)?;
            if let Some((first, last)) = handshake {
                flow_spans.push((first as u64, last as u64));
            }
        }
    }
    if has_table(conn, path, "state_packets")? {
        let mut stmt = conn
            .prepare_cached(
                "SELECT first_packet, last_packet FROM state_packets WHERE stream = ?1 AND first_packet <= ?2",
            )
            .at(path)?;
        for (stream, flow_spans) in spans.iter_mut() {
            let Some(until) = flow_spans.iter().map(|&(_, last)| last).max() else {
                continue;
            };
            let state = stmt
                .query_map([*stream as i64, until as i64], |row| {
                    Ok((row.get::<_, i64>(0)? as u64, row.get::<_, i64>(1)? as u64))
                })
                .at(path)?
                .collect::<Result<Vec<_>, _>>()
                .at(path)?;
            flow_spans.extend(state);
        }
    }
    Ok(spans)
}

/// The segments of a node's index, by sequence number.
pub(crate) type SegmentRows = HashMap<i64, SegmentRow>;

/// Reads the segment rows of `layout`'s index.
pub(crate) fn segment_rows(
    conn: &Connection,
    layout: &NodeLayout,
) -> Result<SegmentRows, StoreError> {
    Ok(segments::load(conn, &layout.index)?
        .into_iter()
        .map(|r| (r.seq, r))
        .collect())
}

/// The packets numbered in `wanted` (number → record offset) read from segment `row`, in packet
/// order. A segment that cannot be opened (`None`, after a warning) and records past its end are
/// skipped.
fn read_packets(
    layout: &NodeLayout,
    row: &SegmentRow,
    wanted: BTreeMap<u64, u64>,
) -> Result<Option<PacketStream>, StoreError> {
    let path = layout.segments.join(&row.file);
    let mut file = match SegmentFile::open(&path) {
        Ok(file) => file,
        Err(e) => {
            tracing::warn!("skipping segment {}: {e}", path.display());
            return Ok(None);
        }
    };
    let (linktype, seq) = (file.linktype(), row.seq);
    let segment: Arc<Path> = Arc::from(path);
    Ok(Some(Box::new(wanted.into_iter().filter_map(
        move |(number, offset)| match file.read_at(offset) {
            Ok(Some(r)) => Some(Ok(StoredPacket {
                number,
                ts_ns: r.ts_ns,
                orig_len: r.orig_len,
                linktype,
                segment: Arc::clone(&segment),
                offset,
                data: r.data.to_vec(),
                seq,
            })),
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        },
    ))))
}

/// Packets to merge, found only when the merge reaches `not_before`: no packet of theirs is
/// earlier (a segment's first timestamp), so opening them later changes nothing in the order.
pub(crate) struct Source {
    /// The earliest timestamp of its packets.
    pub not_before: i64,
    /// Finds the packets.
    pub open: Box<dyn FnOnce() -> Result<PacketStream, StoreError>>,
}

/// Writes the packets of `sources`, merged by timestamp, as one nanosecond PCAP. A source is
/// opened when the merge reaches its `not_before` and dropped when it runs out.
pub(crate) fn write_pcap(
    mut sources: Vec<Source>,
    out: &mut dyn Write,
    summary: &mut ExportSummary,
) -> Result<(), StoreError> {
    sources.sort_by_key(|s| s.not_before);
    let mut pending = sources.into_iter().peekable();
    let mut open: Vec<Option<(StoredPacket, PacketStream)>> = Vec::new();
    let mut heap = BinaryHeap::new();
    let mut linktype = None;
    loop {
        while let Some(source) = pending.next_if(|s| {
            heap.peek()
                .is_none_or(|Reverse((ts, _))| s.not_before <= *ts)
        }) {
            let mut stream = (source.open)()?;
            if let Some(head) = stream.next().transpose()? {
                heap.push(Reverse((head.ts_ns, open.len())));
                open.push(Some((head, stream)));
            }
        }
        let Some(Reverse((_, i))) = heap.pop() else {
            break;
        };
        let Some(slot) = open.get_mut(i) else {
            continue;
        };
        let Some((packet, mut stream)) = slot.take() else {
            continue;
        };
        if let Some(next) = stream.next().transpose()? {
            heap.push(Reverse((next.ts_ns, i)));
            *slot = Some((next, stream));
        }
        let link = *linktype.get_or_insert(packet.linktype);
        if summary.bytes == 0 {
            summary.bytes += write_header(out, link)?;
        }
        if packet.linktype != link {
            summary.skipped_linktype += 1;
            continue;
        }
        summary.bytes += write_record(out, &packet)?;
        summary.packets += 1;
    }
    if summary.bytes == 0 {
        summary.bytes += write_header(out, 1)?;
    }
    out.flush().map_err(StoreError::Output)
}

fn write_header(out: &mut dyn Write, linktype: u32) -> Result<u64, StoreError> {
    let header = segment_file::pcap_header(linktype);
    let mut buf = Vec::with_capacity(segment_file::FILE_HEADER_LEN as usize);
    header
        .write_to(&mut buf)
        .map_err(|e| StoreError::Output(std::io::Error::other(e.to_string())))?;
    out.write_all(&buf).map_err(StoreError::Output)?;
    Ok(buf.len() as u64)
}

fn write_record(out: &mut dyn Write, p: &StoredPacket) -> Result<u64, StoreError> {
    let head = segment_file::record_header(p.ts_ns, p.orig_len, &p.data)?;
    out.write_all(&head).map_err(StoreError::Output)?;
    out.write_all(&p.data).map_err(StoreError::Output)?;
    Ok((head.len() + p.data.len()) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_are_merged_and_searched() {
        let mut spans = vec![(40, 41), (4, 4), (6, 8), (5, 5), (20, 30), (25, 26)];
        merge_spans(&mut spans);
        assert_eq!(spans, [(4, 8), (20, 30), (40, 41)]);
        let inside: Vec<u64> = (0..50).filter(|&p| in_spans(&spans, p)).collect();
        let expected: Vec<u64> = (4..=8).chain(20..=30).chain(40..=41).collect();
        assert_eq!(inside, expected);
        assert!(!in_spans(&[], 3));
    }
}
