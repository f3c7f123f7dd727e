//! Whole bodies read back in bulk: the entries of a page (or the one entry the dashboard shows)
//! get their cut bodies back from one pass over the packets that hold them, the way replay reads
//! a window.
//!
//! The wanted entries are grouped by flow; each flow's exchanges become spans of its packets
//! (neighbouring exchanges share one span), and the packets of every span are read in the
//! store's order, each segment once, at the byte offsets the index recorded for them, and
//! dissected again in one go (the [`BodyLoader`]). Only the flows holding wanted entries are read,
//! only from their first wanted exchange on. An exchange found is matched to the entry it stands
//! for by its first packet and timestamp (which name its flow and its place in it), then checked
//! ([`same_exchange`], [`restore`]). What the exchange's own packets do not give back (an HTTP/2
//! stream whose header table was built earlier in the connection) is tried once more from the
//! start of its flow. A flow whose packets cannot be read (its segment gone or cut short) gives
//! nothing, and its entries keep their prefix, counted and named in one warning per node and
//! query.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rusqlite::Connection;

use crate::bodies::{BodyReading, LentPackets, extends, restore, same_exchange};
use crate::entry::Entry;
use crate::error::{SqlContext, StoreError};
use crate::export::{self, SegmentRows};
use crate::index::locations;
use crate::index::segments::SegmentRow;
use crate::layout::NodeLayout;
use crate::packets::StoredPacket;
use crate::segment_file::SegmentFile;

/// Exchanges of one flow at most this many packets (of the node) apart are read as one span:
/// dissecting the packets between them costs less than starting the flow again.
const SPAN_GAP: u64 = 1024;

/// Gives one node's entries their whole bodies.
pub(crate) struct NodeBodies {
    reading: BodyReading,
    layout: NodeLayout,
    /// The index's segments as last read, and one past the last packet they hold.
    segments: Option<(SegmentRows, u64)>,
    /// Entries of the node whose bodies could not be read back, shared by the query's readers.
    lost: Arc<LostBodies>,
}

impl NodeBodies {
    /// Whole bodies for the entries of `layout`, noting those it cannot give them in `lost`.
    pub fn new(reading: BodyReading, layout: NodeLayout, lost: Arc<LostBodies>) -> Self {
        NodeBodies {
            reading,
            layout,
            segments: None,
            lost,
        }
    }

    /// Whether every returned entry gets its whole bodies.
    pub fn whole(&self) -> bool {
        self.reading.whole
    }

    /// `entry` with its whole bodies, or `None` (after a warning) when its packets do not give
    /// them back.
    pub fn load(&mut self, conn: &Connection, entry: &Entry) -> Option<Entry> {
        let mut whole = entry.clone();
        let done = self.load_many(conn, &mut [&mut whole]);
        done.first().copied().unwrap_or(false).then_some(whole)
    }

    /// Gives `entries` (of this node) their whole bodies in place; for each, whether it got them.
    /// One whose packets do not give them back (a segment gone or damaged, an exchange its packets
    /// alone cannot rebuild) is left as it was, after a warning.
    pub fn load_many(&mut self, conn: &Connection, entries: &mut [&mut Entry]) -> Vec<bool> {
        let n = entries.len();
        let mut read = Reading {
            entries,
            whole: vec![false; n],
            lost: vec![None; n],
            near_loss: vec![false; n],
        };
        // The exchanges' own packets first, neighbours together (HTTP/1 starts cleanly there);
        // past a lost packet, each exchange alone; for what they do not give back, each flow from
        // its start, which HTTP/2 needs for its header compression state.
        for from in [From::Exchanges, From::EachExchange, From::FlowStart] {
            let pending: Vec<usize> = (0..n)
                .filter(|&i| !read.whole[i] && read.lost[i].is_none())
                .filter(|&i| from != From::EachExchange || read.near_loss[i])
                .collect();
            if pending.is_empty() {
                continue;
            }
            for layer in layers(read.entries, &pending, from) {
                if let Err(e) = self.read_layer(conn, &layer, &mut read) {
                    for members in layer.values().map(|span| &span.members) {
                        for &i in members {
                            read.lost[i] = Some(e.to_string());
                        }
                    }
                }
            }
        }
        for i in 0..n {
            if !read.whole[i] {
                let why = read.lost[i].take();
                self.lost.note(
                    read.entries[i],
                    why.as_deref()
                        .unwrap_or("its packets do not give the exchange back"),
                );
            }
        }
        read.whole
    }

    /// Reads the packets of one layer's spans and dissects them again, filling in the entries
    /// they give back.
    fn read_layer(
        &mut self,
        conn: &Connection,
        layer: &Layer,
        read: &mut Reading<'_, '_>,
    ) -> Result<(), StoreError> {
        let last = layer.values().map(|span| span.last).max().unwrap_or(0);
        self.refresh_rows(conn, last)?;
        let rows = match &self.segments {
            Some((rows, _)) => rows,
            None => return Err(StoreError::NotFound(self.layout.segments.clone())),
        };
        let wanted = locate(conn, &self.layout.index, layer)?;
        let mut packets = LayerPackets::new(&self.layout, rows, wanted);
        let mut by_start: HashMap<(u64, i64), Vec<usize>> = HashMap::new();
        for &i in layer.values().flat_map(|span| &span.members) {
            let entry = &read.entries[i];
            by_start
                .entry((entry.packets.first, entry.timestamp))
                .or_default()
                .push(i);
        }
        let Some(node) = read.entries.first().map(|e| e.node.name.clone()) else {
            return Ok(());
        };
        let mut found = |mut exchange: Entry| {
            let Some(candidates) = by_start.get(&(exchange.packets.first, exchange.timestamp))
            else {
                return;
            };
            for &i in candidates {
                let indexed = &mut read.entries[i];
                if read.whole[i]
                    || !same_exchange(indexed, &exchange)
                    || !extends(&indexed.request, &exchange.request)
                    || !extends(&indexed.response, &exchange.response)
                {
                    continue;
                }
                restore(&mut indexed.request, &mut exchange.request);
                restore(&mut indexed.response, &mut exchange.response);
                read.whole[i] = true;
                return;
            }
        };
        self.reading
            .loader
            .redissect(&node, &mut packets, &mut found);
        for (stream, lost) in packets.lost {
            for &i in layer.get(&stream).map_or(&[][..], |span| &span.members) {
                let own = read.entries[i].packets;
                match lost
                    .iter()
                    .find(|(n, _)| (own.first..=own.last).contains(n))
                {
                    // Given back all the same: what was lost was not needed (an acknowledgement).
                    _ if read.whole[i] => {}
                    Some((_, why)) => read.lost[i] = Some(why.clone()),
                    None => read.near_loss[i] = true,
                }
            }
        }
        Ok(())
    }

    /// Reads the segment rows again when they are older than packet `last` (a segment sealed,
    /// renamed or added since they were read).
    fn refresh_rows(&mut self, conn: &Connection, last: u64) -> Result<(), StoreError> {
        if self.segments.as_ref().is_none_or(|(_, end)| last >= *end) {
            let rows = export::segment_rows(conn, &self.layout)?;
            let end = rows.values().map(SegmentRow::end_packet).max().unwrap_or(0);
            self.segments = Some((rows, end));
        }
        Ok(())
    }
}

/// The entries of one node whose bodies a query could not read back: one warning for the first,
/// and at the end how many, however many threads read the node's pages.
pub(crate) struct LostBodies {
    /// The node's directory name.
    node: String,
    count: AtomicU64,
}

impl LostBodies {
    /// None lost yet, on the node of `layout`.
    pub fn new(layout: &NodeLayout) -> Arc<Self> {
        let node = layout.dir.file_name().unwrap_or_default();
        Arc::new(LostBodies {
            node: node.to_string_lossy().into_owned(),
            count: AtomicU64::new(0),
        })
    }

    /// `entry`'s bodies could not be read back, for the reason `why`.
    fn note(&self, entry: &Entry, why: &str) {
        if self.count.fetch_add(1, Ordering::Relaxed) == 0 {
            tracing::warn!(
                "entry {} on node {}: showing the first bytes of its body only ({}): {why}",
                entry.id,
                entry.node.name,
                crate::bodies::BODY_TRUNCATED,
            );
        }
    }
}

impl Drop for LostBodies {
    fn drop(&mut self) {
        let count = *self.count.get_mut();
        if count > 1 {
            tracing::warn!(
                "{count} entries on node {} show the first bytes of their bodies only",
                self.node
            );
        }
    }
}

/// A bulk read so far, by position in the entries asked for.
struct Reading<'e, 'a> {
    entries: &'e mut [&'a mut Entry],
    /// Whether each entry has its whole bodies.
    whole: Vec<bool>,
    /// Why an entry cannot be read back (its packets cannot be read): not tried again.
    lost: Vec<Option<String>>,
    /// Whether a packet of an entry's flow near it, but none of its own, could not be read.
    near_loss: Vec<bool>,
}

/// Where the packets dissected again for an entry start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum From {
    /// At its exchange, read with the neighbouring exchanges of its flow.
    Exchanges,
    /// At its exchange, read alone.
    EachExchange,
    /// At the start of its flow.
    FlowStart,
}

/// Packets of one flow to dissect again, and the wanted entries among them.
#[derive(Debug, Default, PartialEq, Eq)]
struct Span {
    first: u64,
    last: u64,
    /// Positions of the wanted entries.
    members: Vec<usize>,
}

/// At most one span per flow, read and dissected together.
type Layer = BTreeMap<u64, Span>;

/// The spans of the `pending` entries' flows, in layers: each flow's exchanges sorted by first
/// packet, those close together ([`SPAN_GAP`]) in one span (alone with [`From::EachExchange`],
/// all of a flow's in one span from its first packet with [`From::FlowStart`]), a flow's k-th
/// span in layer k: a flow dissected again starts cleanly at the start of its span.
fn layers(entries: &[&mut Entry], pending: &[usize], from: From) -> Vec<Layer> {
    let mut by_flow: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    for &i in pending {
        if let Some(entry) = entries.get(i) {
            by_flow.entry(entry.stream).or_default().push(i);
        }
    }
    let mut layers: Vec<Layer> = Vec::new();
    for (stream, mut members) in by_flow {
        members.sort_by_key(|&i| entries[i].packets.first);
        let mut spans: Vec<Span> = Vec::new();
        for i in members {
            let packets = &entries[i].packets;
            match spans.last_mut() {
                Some(span)
                    if from == From::FlowStart
                        || (from == From::Exchanges
                            && packets.first <= span.last.saturating_add(SPAN_GAP)) =>
                {
                    span.last = span.last.max(packets.last);
                    span.members.push(i);
                }
                _ => spans.push(Span {
                    first: if from == From::FlowStart {
                        0
                    } else {
                        packets.first
                    },
                    last: packets.last,
                    members: vec![i],
                }),
            }
        }
        for (k, span) in spans.into_iter().enumerate() {
            if layers.len() <= k {
                layers.push(Layer::new());
            }
            if let Some(layer) = layers.get_mut(k) {
                layer.insert(stream, span);
            }
        }
    }
    layers
}

/// Where a packet to read lies: its segment, its record's byte offset, and its flow.
type Location = (i64, u64, u64);

/// The packets of `layer`'s spans, by number, from the flow locations the index recorded for
/// the segments the spans reach.
///
/// A flow's rows hold disjoint packet ranges, in order: each is what the flow sent between two
/// hand-offs of the writer's buffer. So of the rows starting at or before a span, only the last
/// can reach into it, and the search starts there (found in the index on `(stream,
/// first_packet)`) rather than checking every earlier row of the flow: a long connection has a row
/// per commit, and reading its whole history back checked them all again for every page.
fn locate(
    conn: &Connection,
    path: &Path,
    layer: &Layer,
) -> Result<BTreeMap<u64, Location>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT seq, locations FROM flows
             WHERE stream = ?1 AND first_packet <= ?3 AND last_packet >= ?2
               AND first_packet >= (SELECT ifnull(max(first_packet), 0) FROM flows
                                    WHERE stream = ?1 AND first_packet <= ?2)",
        )
        .at(path)?;
    let mut wanted = BTreeMap::new();
    for (&stream, span) in layer {
        let (first, last) = (span.first as i64, span.last as i64);
        let mut rows = stmt.query([stream as i64, first, last]).at(path)?;
        while let Some(row) = rows.next().at(path)? {
            let seq = row.get::<_, i64>(0).at(path)?;
            let blob = row
                .get_ref(1)
                .and_then(|v| v.as_blob().map_err(Into::into))
                .at(path)?;
            for (packet, offset) in locations::decode(blob) {
                if (span.first..=span.last).contains(&packet) {
                    wanted.insert(packet, (seq, offset, stream));
                }
            }
        }
    }
    Ok(wanted)
}

/// The packets of one layer in the store's order, each segment opened once, each packet read
/// into the one buffer it is lent from; a packet that cannot be read is left out, noted with the
/// reason.
struct LayerPackets<'a> {
    layout: &'a NodeLayout,
    rows: &'a SegmentRows,
    wanted: std::collections::btree_map::IntoIter<u64, Location>,
    files: HashMap<i64, Result<(SegmentFile, Arc<Path>), String>>,
    /// The packet lent last (its bytes' buffer reused for the next).
    current: StoredPacket,
    /// The packets each flow lost, and why.
    lost: HashMap<u64, Vec<(u64, String)>>,
}

impl<'a> LayerPackets<'a> {
    /// The packets `wanted` names, read from the segments `rows` lists under `layout`.
    fn new(layout: &'a NodeLayout, rows: &'a SegmentRows, wanted: BTreeMap<u64, Location>) -> Self {
        LayerPackets {
            layout,
            rows,
            wanted: wanted.into_iter(),
            files: HashMap::new(),
            current: StoredPacket {
                number: 0,
                ts_ns: 0,
                orig_len: 0,
                linktype: 0,
                segment: Arc::from(Path::new("")),
                offset: 0,
                data: Vec::new(),
                seq: i64::MIN,
            },
            lost: HashMap::new(),
        }
    }

    /// Reads packet `number` at `offset` of segment `seq` into `current`.
    fn read(&mut self, number: u64, seq: i64, offset: u64) -> Result<(), String> {
        let (layout, rows) = (self.layout, self.rows);
        let opened = self.files.entry(seq).or_insert_with(|| {
            let row = rows
                .get(&seq)
                .ok_or_else(|| format!("segment {seq} is no longer in the index"))?;
            let path = layout.segments.join(&row.file);
            let file = SegmentFile::open(&path).map_err(|e| e.to_string())?;
            Ok((file, Arc::from(path)))
        });
        let (file, path) = opened.as_mut().map_err(|e| e.clone())?;
        let linktype = file.linktype();
        let record = match file.read_at(offset) {
            Ok(Some(record)) => record,
            Ok(None) => {
                return Err(format!(
                    "{}: no whole packet record at byte {offset}",
                    path.display()
                ));
            }
            Err(e) => return Err(e.to_string()),
        };
        let packet = &mut self.current;
        if packet.seq != seq {
            packet.seq = seq;
            packet.segment = Arc::clone(path);
        }
        packet.number = number;
        packet.ts_ns = record.ts_ns;
        packet.orig_len = record.orig_len;
        packet.linktype = linktype;
        packet.offset = offset;
        packet.data.clear();
        packet.data.extend_from_slice(record.data);
        Ok(())
    }
}

impl LentPackets for LayerPackets<'_> {
    fn next_packet(&mut self) -> Option<&StoredPacket> {
        loop {
            let (number, (seq, offset, stream)) = self.wanted.next()?;
            match self.read(number, seq, offset) {
                Ok(()) => return Some(&self.current),
                Err(why) => self.lost.entry(stream).or_default().push((number, why)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::PacketSpan;

    fn entry(stream: u64, first: u64, last: u64) -> Entry {
        Entry {
            stream,
            packets: PacketSpan { first, last },
            ..Entry::default()
        }
    }

    #[test]
    fn close_exchanges_of_a_flow_share_a_span_and_distant_ones_go_to_later_layers() {
        let mut owned = [
            entry(7, 10, 14),
            entry(9, 11, 12),
            entry(7, 16, 20),
            entry(7, 20 + SPAN_GAP + 1, 30 + SPAN_GAP),
            entry(7, 5, 8),
        ];
        let entries: Vec<&mut Entry> = owned.iter_mut().collect();
        let all: Vec<usize> = (0..entries.len()).collect();
        let layered = layers(&entries, &all, From::Exchanges);
        assert_eq!(layered.len(), 2);
        let first: Vec<(u64, u64, u64, Vec<usize>)> = layered[0]
            .iter()
            .map(|(s, span)| (*s, span.first, span.last, span.members.clone()))
            .collect();
        assert_eq!(first, [(7, 5, 20, vec![4, 0, 2]), (9, 11, 12, vec![1])]);
        assert_eq!(
            layered[1].get(&7).map(|s| (s.first, s.members.clone())),
            Some((21 + SPAN_GAP, vec![3]))
        );
        let alone = layers(&entries, &[0, 2], From::EachExchange);
        assert_eq!(alone.len(), 2);
        let from_start = layers(&entries, &[0, 3], From::FlowStart);
        assert_eq!(from_start.len(), 1);
        assert_eq!(
            from_start[0].get(&7).map(|s| (s.first, s.last)),
            Some((0, 30 + SPAN_GAP))
        );
    }

    /// Where `locate` finds the packets `first..=last` of flow 7.
    fn locate_in_flow_7(
        conn: &Connection,
        path: &Path,
        (first, last): (u64, u64),
    ) -> BTreeMap<u64, Location> {
        let span = Span {
            first,
            last,
            members: Vec::new(),
        };
        let found = locate(conn, path, &Layer::from([(7, span)])).expect("located");
        assert!(found.values().all(|&(_, _, stream)| stream == 7));
        found
    }

    /// The packets `locate` finds for spans of flow 7, by number.
    fn located(conn: &Connection, path: &Path, spans: &[(u64, u64)]) -> Vec<Vec<u64>> {
        spans
            .iter()
            .map(|&span| locate_in_flow_7(conn, path, span).into_keys().collect())
            .collect()
    }

    #[test]
    fn a_span_is_located_in_every_row_of_its_flow_it_reaches_and_no_other() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("index.sqlite");
        let conn = crate::index::open_writable(&path).expect("index");
        // Flow 7 sent packets 10–19, 20–29 (segment 1) and 30–39 (segment 2) between hand-offs
        // of the writer's buffer; flow 8's packets lie between and around them.
        let rows = [
            (7, 1, 10..20),
            (8, 1, 5..40),
            (7, 1, 20..30),
            (7, 2, 30..40),
        ];
        for (stream, seq, packets) in rows {
            let pairs: Vec<(u64, u64)> = packets.map(|n: u64| (n, n * 100)).collect();
            let (first, last) = (pairs[0].0 as i64, pairs[pairs.len() - 1].0 as i64);
            conn.execute(
                "INSERT INTO flows (stream, seq, first_packet, last_packet, locations)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                rusqlite::params![stream, seq, first, last, locations::encode(&pairs)],
            )
            .expect("row");
        }
        let range = |r: std::ops::RangeInclusive<u64>| r.collect::<Vec<u64>>();
        assert_eq!(
            located(
                &conn,
                &path,
                &[(15, 25), (20, 20), (29, 31), (0, 12), (38, 99)]
            ),
            [
                range(15..=25),
                range(20..=20),
                range(29..=31),
                range(10..=12),
                range(38..=39)
            ],
            "inside a row, at a row's first packet, across segments, from before the flow, past it"
        );
        let nothing: Vec<u64> = Vec::new();
        assert_eq!(
            located(&conn, &path, &[(0, 5), (40, 50)]),
            [nothing.clone(), nothing]
        );
        // From the flow's start (what HTTP/2 needs): every row of it.
        assert_eq!(located(&conn, &path, &[(0, 99)]), [range(10..=39)]);
        // The segment's and the packet's byte offset come with each packet.
        let found = locate_in_flow_7(&conn, &path, (29, 30));
        assert_eq!(found.get(&29), Some(&(1, 2_900, 7)));
        assert_eq!(found.get(&30), Some(&(2, 3_000, 7)));
    }
}
