//! [`Store`]: the read side over every node under a root — query, export, status, packets.

use std::path::{Path, PathBuf};

use std::sync::Arc;

use crate::bodies::{BodyLoader, BodyReading};
use crate::capture_stats::CaptureStats;
use crate::error::{IoContext, StoreError};
use crate::export::{self, ExportSummary, Spans};
use crate::index::{self, segments};
use crate::layout::{INDEX_FILE, NodeLayout, SEGMENTS_DIR};
use crate::node_name::check_node_name;
use crate::packets::PacketWalk;
use crate::plan::{Prepared, Query};
use crate::query::{Entries, NodeCursor};

/// A reader over all nodes stored under a root directory. Cheap to open; every call opens its own
/// read connections, so it can be shared across threads and used while writers run.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
    nodes: Vec<(String, NodeLayout)>,
    /// Reads back the bodies the index cut, when the caller gave a loader.
    bodies: Option<BodyReading>,
}

/// One node's share of the store, as `kubectl-shark status` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeStatus {
    /// Node name.
    pub node: String,
    /// Timestamp of the oldest packet kept (ns), if any.
    pub oldest_ns: Option<i64>,
    /// Timestamp of the newest packet kept (ns), if any.
    pub newest_ns: Option<i64>,
    /// Segment files.
    pub segments: u64,
    /// Bytes of PCAP segments.
    pub pcap_bytes: u64,
    /// Entries indexed.
    pub entries: u64,
    /// Bytes of the index (database plus write-ahead log).
    pub index_bytes: u64,
    /// What live capture received and dropped (zero for imported nodes).
    pub capture: CaptureStats,
}

impl NodeStatus {
    /// The status as JSON, exact numbers with KFL-style camelCase names: `node`, `oldest`,
    /// `newest` (ns or null), `segments`, `pcapBytes`, `entries`, `indexBytes`, `captured`,
    /// `dropped`, `flowsEvicted`. The agent's `/v1/status` and `kubectl shark status -o json` both answer with it.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "node": self.node, "oldest": self.oldest_ns, "newest": self.newest_ns, "segments": self.segments,
            "pcapBytes": self.pcap_bytes, "entries": self.entries, "indexBytes": self.index_bytes,
            "captured": self.capture.received, "dropped": self.capture.dropped(),
            "flowsEvicted": self.capture.flows_evicted,
        })
    }
}

impl Store {
    /// Opens the store at `root`; each sub-directory holding an index or segments is a node, if its
    /// name is a valid node name (others are skipped with a warning).
    pub fn open(root: &Path) -> Result<Self, StoreError> {
        if !root.is_dir() {
            return Err(StoreError::NotFound(root.to_path_buf()));
        }
        let mut nodes = Vec::new();
        for entry in std::fs::read_dir(root).at(root)? {
            let entry = entry.at(root)?;
            let dir = entry.path();
            if !(dir.join(INDEX_FILE).is_file() || dir.join(SEGMENTS_DIR).is_dir()) {
                continue;
            }
            let file_name = entry.file_name();
            let Some(name) = file_name.to_str() else {
                continue;
            };
            if let Err(e) = check_node_name(name) {
                tracing::warn!("skipping {}: {e}", dir.display());
                continue;
            }
            nodes.push((name.to_owned(), NodeLayout::new(root, name)));
        }
        nodes.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(Store {
            root: root.to_path_buf(),
            nodes,
            bodies: None,
        })
    }

    /// Reads back through `loader` the bodies the index holds only a prefix of: a filter that
    /// reads such a body (`response.body.contains(…)`) sees it whole, and
    /// [`query_with_bodies`](Self::query_with_bodies) returns entries with whole bodies.
    pub fn with_body_loader(mut self, loader: Arc<dyn BodyLoader>) -> Self {
        self.bodies = Some(BodyReading {
            loader,
            whole: false,
        });
        self
    }

    /// How the bodies the index cut are read back: for every entry (`whole`) or for filters only.
    pub(crate) fn body_reading(&self, whole: bool) -> Option<BodyReading> {
        self.bodies
            .clone()
            .map(|reading| BodyReading { whole, ..reading })
    }

    /// The store's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Names of the nodes in the store, sorted.
    pub fn nodes(&self) -> impl Iterator<Item = &str> {
        self.nodes.iter().map(|(name, _)| name.as_str())
    }

    /// The nodes that have an index, with their layouts, by name.
    pub(crate) fn indexed_nodes(&self) -> impl Iterator<Item = (&str, &NodeLayout)> {
        self.nodes
            .iter()
            .filter(|(_, l)| l.index.is_file())
            .map(|(name, l)| (name.as_str(), l))
    }

    pub(crate) fn indexed(&self) -> impl Iterator<Item = &NodeLayout> {
        self.nodes
            .iter()
            .map(|(_, l)| l)
            .filter(|l| l.index.is_file())
    }

    /// The entries matching `q`, streamed in timestamp order across nodes.
    pub fn query(&self, q: &Query) -> Result<Entries, StoreError> {
        self.query_plan(Prepared::new(q))
    }

    /// Like [`query`](Self::query), with every entry's bodies whole (as far as its packets give
    /// them back): for output that shows bodies. Without a loader, the same as `query`.
    pub fn query_with_bodies(&self, q: &Query) -> Result<Entries, StoreError> {
        let mut plan = Prepared::new(q);
        plan.bodies = self.body_reading(true);
        self.query_plan(plan)
    }

    pub(crate) fn query_plan(&self, mut plan: Prepared) -> Result<Entries, StoreError> {
        if plan.bodies.is_none() {
            plan.bodies = self.bodies.clone();
        }
        let limit = plan.limit;
        let cursors = self
            .indexed()
            .map(|l| NodeCursor::open(l, plan.clone()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Entries::new(cursors, limit))
    }

    /// Writes one nanosecond PCAP to `out`: with a filter, the packets of the matching exchanges
    /// (with `whole_flows`, every packet of their flows); without, every packet in the window.
    /// Packets come in timestamp order across nodes.
    pub fn export(
        &self,
        q: &Query,
        whole_flows: bool,
        out: &mut dyn std::io::Write,
    ) -> Result<ExportSummary, StoreError> {
        let plan = q.filter.as_ref().map(|_| Prepared::new(q));
        self.export_plan(q.from, q.to, plan, whole_flows, out)
    }

    /// Exports the window `[from, to)`: all of it, or the packets of `plan`'s entries.
    pub(crate) fn export_plan(
        &self,
        from: Option<i64>,
        to: Option<i64>,
        plan: Option<Prepared>,
        whole_flows: bool,
        out: &mut dyn std::io::Write,
    ) -> Result<ExportSummary, StoreError> {
        let mut summary = ExportSummary::default();
        let sources = match plan {
            None => {
                let (from, to) = (from.unwrap_or(i64::MIN), to.unwrap_or(i64::MAX));
                let mut sources = Vec::new();
                for (_, layout) in &self.nodes {
                    sources.extend(export::window_packets(layout, from, to)?);
                }
                sources
            }
            Some(plan) => {
                let layouts: Vec<&NodeLayout> = self.indexed().collect();
                let mut spans = vec![Spans::new(); layouts.len()];
                let mut entries = self.query_plan(plan)?;
                while let Some(found) = entries.next_with_node() {
                    let (node, entry) = found?;
                    if let Some(node_spans) = spans.get_mut(node) {
                        export::add_span(node_spans, &entry);
                        summary.entries += 1;
                    }
                }
                let mut sources = Vec::new();
                for (layout, spans) in layouts.iter().zip(spans) {
                    sources.extend(export::entry_packets(
                        layout,
                        spans,
                        whole_flows,
                        &mut summary,
                    )?);
                }
                sources
            }
        };
        export::write_pcap(sources, out, &mut summary)?;
        Ok(summary)
    }

    /// Per node: the window kept, segments, bytes and entries.
    pub fn status(&self) -> Result<Vec<NodeStatus>, StoreError> {
        let mut all = Vec::new();
        for (name, layout) in &self.nodes {
            let mut status = NodeStatus {
                node: name.clone(),
                capture: CaptureStats::load(&self.root, name),
                ..NodeStatus::default()
            };
            if layout.index.is_file() {
                let conn = index::open_readable(&layout.index)?;
                let rows = segments::load(&conn, &layout.index)?;
                status.oldest_ns = rows
                    .iter()
                    .filter(|r| r.packets > 0)
                    .map(|r| r.first_ts)
                    .min();
                status.newest_ns = rows
                    .iter()
                    .filter(|r| r.packets > 0)
                    .map(|r| r.last_ts)
                    .max();
                status.segments = rows.len() as u64;
                status.pcap_bytes = rows.iter().map(|r| r.bytes).sum();
                let entries = segments::entry_count(&conn, &layout.index)?;
                status.entries = entries;
                status.index_bytes = index::index_bytes(&layout.index);
            }
            all.push(status);
        }
        Ok(all)
    }

    /// Every stored packet of `node`, in order, with its number, link type and location: what a
    /// reindex feeds its pipeline. Segments that cannot be read are skipped with a warning.
    pub fn packets(&self, node: &str) -> Result<PacketWalk, StoreError> {
        self.walk(node, None)
    }

    /// The stored packets of `node` with a timestamp in `[from_ns, to_ns)`, in order and numbered
    /// as [`packets`](Self::packets) numbers them; segments wholly outside the window are not read.
    pub fn packets_between(
        &self,
        node: &str,
        from_ns: i64,
        to_ns: i64,
    ) -> Result<PacketWalk, StoreError> {
        self.walk(node, Some((from_ns, to_ns)))
    }

    fn walk(&self, node: &str, window: Option<(i64, i64)>) -> Result<PacketWalk, StoreError> {
        let layout = self
            .nodes
            .iter()
            .find(|(n, _)| n == node)
            .map(|(_, l)| l)
            .ok_or_else(|| StoreError::NotFound(self.root.join(node)))?;
        let rows = match index::open_readable(&layout.index) {
            Ok(conn) => segments::load(&conn, &layout.index).unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        PacketWalk::new(&layout.segments, rows, window)
    }
}

#[cfg(test)]
mod tests {
    use crate::entry::Entry;
    use crate::plan::PAGE;
    use crate::{NodeWriter, Query, Store, StoreConfig};

    /// How many page workers a query over `store` had at most, and how many once read to its end.
    fn workers_of(store: &Store) -> (usize, usize) {
        let mut entries = store.query(&Query::default()).unwrap();
        let mut started = 0;
        let mut read = 0;
        while let Some(found) = entries.next() {
            found.unwrap();
            read += 1;
            started = started.max(entries.workers_running()[0]);
        }
        assert_eq!(read, 3 * PAGE);
        (started, entries.workers_running()[0])
    }

    #[test]
    fn page_workers_are_started_as_allowed_and_stopped_at_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = NodeWriter::open(dir.path(), "n1", StoreConfig::default()).unwrap();
        for i in 0..3 * PAGE {
            let mut e = Entry {
                timestamp: 1_000 + i,
                ..Entry::default()
            };
            e.node.name = "n1".into();
            e.protocol.name = "http".into();
            writer.write_entry(e).unwrap();
        }
        writer.finish().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (started, left) = workers_of(&store);
        assert!(started > 0, "the pages after the second went to workers");
        assert_eq!(left, 0, "a cursor read to its end holds no workers");
        crate::set_query_threads(0);
        let none = workers_of(&store);
        crate::set_query_threads(1);
        let one = workers_of(&store);
        crate::set_query_threads(usize::MAX);
        assert_eq!(none, (0, 0), "an agent's queries take no threads");
        assert_eq!(one, (1, 0));
    }
}
