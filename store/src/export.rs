//! Export: the packets of a window (or of the entries a filter matches) as one classic PCAP.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension};

use crate::entry::Entry;
use crate::error::{SqlContext, StoreError};
use crate::index::segments::{self, SegmentRow};
use crate::index::{self, locations};
use crate::layout::NodeLayout;
use crate::packets::{PacketWalk, StoredPacket};
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
}

/// Packets of one node, in order.
pub(crate) type PacketStream = Box<dyn Iterator<Item = Result<StoredPacket, StoreError>>>;

/// Every packet of `layout`'s segments in `[from, to)`.
pub(crate) fn window_packets(
    layout: &NodeLayout,
    from: i64,
    to: i64,
) -> Result<PacketStream, StoreError> {
    let rows = match index::open_readable(&layout.index) {
        Ok(conn) => segments::load(&conn, &layout.index)?,
        Err(_) => Vec::new(),
    };
    let walk = PacketWalk::new(&layout.segments, rows, Some((from, to)))?;
    Ok(Box::new(walk.map(Ok)))
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
/// or with `whole_flows` every packet of their flows, read at their recorded offsets: one stream
/// per segment, each in packet order, so that the merge by timestamp also orders a node whose
/// imports went back in time.
pub(crate) fn entry_packets(
    layout: &NodeLayout,
    spans: &Spans,
    whole_flows: bool,
) -> Result<Vec<PacketStream>, StoreError> {
    let conn = index::open_readable(&layout.index)?;
    let rows = segment_rows(&conn, layout)?;
    if whole_flows {
        return packets_of_spans(layout, &conn, &rows, spans, true, false);
    }
    let with_handshakes = add_handshakes(&conn, layout, spans)?;
    packets_of_spans(layout, &conn, &rows, &with_handshakes, false, false)
}

/// `spans` and, for each of their flows whose handshake was recorded, the handshake's packets.
/// Indexes written before handshakes were recorded (schema version 3) have none.
fn add_handshakes(conn: &Connection, layout: &NodeLayout, spans: &Spans) -> Result<Spans, StoreError> {
    let path = &layout.index;
    let mut spans = spans.clone();
    let recorded: bool = conn
        .query_row(
            "SELECT count(*) > 0 FROM sqlite_schema WHERE type = 'table' AND name = 'handshakes'",
            [],
            |row| row.get(0),
        )
        .at(path)?;
    if !recorded {
        return Ok(spans);
    }
    let mut stmt = conn
        .prepare_cached("SELECT first_packet, last_packet FROM handshakes WHERE stream = ?1")
        .at(path)?;
    for (stream, flow_spans) in spans.iter_mut() {
        let handshake = stmt
            .query_row([*stream as i64], |row| Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?)))
            .optional()
            .at(path)?;
        if let Some((first, last)) = handshake {
            flow_spans.push((first as u64, last as u64));
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

/// The packets of `entry`'s exchange in packet order (with `from_flow_start`, every packet of its
/// flow up to the exchange's last): what dissecting the exchange again needs. A packet that cannot
/// be read (its segment gone or cut short) is an error: an exchange missing packets is not the one
/// that was indexed.
pub(crate) fn exchange_packets(
    layout: &NodeLayout,
    conn: &Connection,
    rows: &SegmentRows,
    entry: &Entry,
    from_flow_start: bool,
) -> Result<Vec<StoredPacket>, StoreError> {
    let first = if from_flow_start {
        0
    } else {
        entry.packets.first
    };
    let spans = Spans::from([(entry.stream, vec![(first, entry.packets.last)])]);
    let mut packets = Vec::new();
    for stream in packets_of_spans(layout, conn, rows, &spans, false, true)? {
        for packet in stream {
            packets.push(packet?);
        }
    }
    packets.sort_by_key(|p| p.number);
    Ok(packets)
}

/// The packets of `spans` (or of their whole flows), one stream per segment of `rows`. Unless
/// `strict`, a segment that is not in `rows` or cannot be opened, and records past a segment's end,
/// are skipped.
fn packets_of_spans(
    layout: &NodeLayout,
    conn: &Connection,
    rows: &SegmentRows,
    spans: &Spans,
    whole_flows: bool,
    strict: bool,
) -> Result<Vec<PacketStream>, StoreError> {
    // segment -> packet number -> offset, deduplicated and in packet order.
    let mut wanted: BTreeMap<i64, BTreeMap<u64, u64>> = BTreeMap::new();
    for (stream, spans) in spans {
        for (seq, pairs) in flow_locations(conn, layout, *stream)? {
            for (packet, offset) in pairs {
                if whole_flows
                    || spans
                        .iter()
                        .any(|&(first, last)| first <= packet && packet <= last)
                {
                    wanted.entry(seq).or_default().insert(packet, offset);
                }
            }
        }
    }
    let mut streams: Vec<PacketStream> = Vec::with_capacity(wanted.len());
    for (seq, packets) in wanted {
        let Some(row) = rows.get(&seq) else {
            if strict {
                return Err(StoreError::NotFound(
                    layout.segments.join(format!("segment {seq}")),
                ));
            }
            continue;
        };
        let path = layout.segments.join(&row.file);
        let mut file = match SegmentFile::open(&path) {
            Ok(file) => file,
            Err(e) if strict => return Err(e),
            Err(e) => {
                tracing::warn!("skipping segment {}: {e}", path.display());
                continue;
            }
        };
        let linktype = file.linktype();
        let segment: Arc<Path> = Arc::from(path);
        streams.push(Box::new(packets.into_iter().filter_map(
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
                Ok(None) if strict => Some(Err(StoreError::Io {
                    path: segment.to_path_buf(),
                    source: std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        format!("no whole packet record at byte {offset}"),
                    ),
                })),
                Ok(None) => None,
                Err(e) => Some(Err(e)),
            },
        )));
    }
    Ok(streams)
}

/// A segment's sequence number and the (packet, offset) pairs of a flow in it.
type SegmentLocations = (i64, Vec<(u64, u64)>);

fn flow_locations(
    conn: &Connection,
    layout: &NodeLayout,
    stream: u64,
) -> Result<Vec<SegmentLocations>, StoreError> {
    let path = &layout.index;
    let mut stmt = conn
        .prepare_cached("SELECT seq, locations FROM flows WHERE stream = ?1 ORDER BY first_packet")
        .at(path)?;
    let rows = stmt
        .query_map([stream as i64], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                locations::decode(r.get_ref(1)?.as_blob()?),
            ))
        })
        .at(path)?;
    rows.collect::<Result<Vec<_>, _>>().at(path)
}

/// Writes the packets of `streams`, merged by timestamp, as one nanosecond PCAP.
pub(crate) fn write_pcap(
    streams: Vec<PacketStream>,
    out: &mut dyn Write,
    summary: &mut ExportSummary,
) -> Result<(), StoreError> {
    let mut streams = streams;
    let mut heads: Vec<Option<StoredPacket>> = Vec::with_capacity(streams.len());
    let mut heap = BinaryHeap::new();
    for (i, s) in streams.iter_mut().enumerate() {
        let head = s.next().transpose()?;
        if let Some(p) = &head {
            heap.push(Reverse((p.ts_ns, i)));
        }
        heads.push(head);
    }
    let mut linktype = None;
    while let Some(Reverse((_, i))) = heap.pop() {
        let Some(packet) = heads.get_mut(i).and_then(Option::take) else {
            continue;
        };
        if let Some(next) = streams.get_mut(i).and_then(|s| s.next()).transpose()? {
            heap.push(Reverse((next.ts_ns, i)));
            if let Some(slot) = heads.get_mut(i) {
                *slot = Some(next);
            }
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
