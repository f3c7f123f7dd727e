//! Whole bodies on demand: the store's [`BodyLoader`], which runs a fresh [`Pipeline`] over an
//! exchange's stored packets and takes the bodies of the same exchange.
//!
//! The exchange found must start at the indexed entry's first packet and timestamp, be of the
//! same protocol, and have the same request and response sizes; the store then checks that each
//! body extends the prefix the index kept. An exchange the packets cannot rebuild (an HTTP/2
//! stream whose header state was lost with earlier packets, a segment gone) gives nothing, never a
//! different body.
//!
//! A body read back is cut where capture cut it: what writes a node's store records its
//! `--max-body` there ([`record_max_body`], `<root>/<node>/bodies.json`) and the loader of
//! [`open_store`] reads it for each body it reads back (a node that appears after the store was
//! opened, e.g. while following, is covered too). Recording the cap, rather than taking bodies up to the entry's wire `size`,
//! keeps a body read back equal to the one the entry showed when it was captured: a smaller cap
//! stays small, and a compressed body (whose decoded length `size` does not tell) decodes as far
//! as it did. A node's store written by several runs holds the last run's cap.

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use shark_store::{BodyLoader, Entry, Message, Store, StoreError, StoredPacket};

use crate::dissect::{DEFAULT_MAX_BODY, MAX_BODY_LIMIT};
use crate::{Packet, Sink};
use crate::{Pipeline, PipelineConfig};

/// File in a node's store directory recording what capture kept of bodies.
const BODIES_FILE: &str = "bodies.json";

/// What `bodies.json` holds.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RecordedCaps {
    /// The `--max-body` the node's entries were written with.
    max_body: usize,
}

fn bodies_file(root: &Path, node: &str) -> PathBuf {
    root.join(node).join(BODIES_FILE)
}

/// Records that node `node`'s entries under `root` keep bodies of at most `max_body` bytes, so
/// that reading a body back cuts it at the same place. The node's directory must exist (a
/// `NodeWriter` made it); the file is written whole and renamed, so a reader never sees half.
pub(crate) fn record_max_body(root: &Path, node: &str, max_body: usize) -> Result<(), StoreError> {
    let path = bodies_file(root, node);
    let tmp = path.with_extension("json.tmp");
    let io = |path: &Path, source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    };
    let bytes = serde_json::to_vec(&RecordedCaps { max_body })
        .map_err(|e| io(&tmp, std::io::Error::other(e)))?;
    std::fs::write(&tmp, bytes).map_err(|e| io(&tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| io(&path, e))
}

/// The `--max-body` recorded for `node`: none when the store predates the record or the file is
/// unreadable; never above [`MAX_BODY_LIMIT`], whatever the file says.
pub(crate) fn recorded_max_body(root: &Path, node: &str) -> Option<usize> {
    let bytes = std::fs::read(bodies_file(root, node)).ok()?;
    let caps: RecordedCaps = serde_json::from_slice(&bytes).ok()?;
    Some(caps.max_body.min(MAX_BODY_LIMIT))
}

/// Opens the store at `root` for reading entries: a filter that reads a body the index cut
/// (`response.body.contains(…)`) sees it whole, wherever entries are matched (query, export, map,
/// follow), and [`Store::query_with_bodies`] gives whole bodies for output, each node's cut at
/// the `--max-body` it was captured with.
pub fn open_store(root: &Path) -> Result<Store, StoreError> {
    let store = Store::open(root)?;
    let loader = Redissect::for_store(&store);
    Ok(store.with_body_loader(Arc::new(loader)))
}

/// Dissects stored packets again to give back the bodies the index cut, each node's at the
/// `--max-body` recorded for it (or the default one, which stores written before the cap was
/// recorded kept).
#[derive(Debug, Clone)]
pub struct Redissect {
    /// The store whose nodes' recorded caps apply.
    root: PathBuf,
}

impl Redissect {
    /// A loader for `store`'s entries.
    pub fn for_store(store: &Store) -> Self {
        Redissect {
            root: store.root().to_path_buf(),
        }
    }

    /// The cap for entries of `node`.
    fn max_body(&self, node: &str) -> usize {
        recorded_max_body(&self.root, node).unwrap_or(DEFAULT_MAX_BODY)
    }
}

impl BodyLoader for Redissect {
    fn redissect(&self, entry: &Entry, packets: &[StoredPacket]) -> Option<(Message, Message)> {
        let max_body = self.max_body(&entry.node.name);
        let mut config = PipelineConfig::new(entry.node.clone());
        config.max_body = max_body;
        config.index_body = max_body;
        let mut pipeline = Pipeline::new(config);
        let mut sink = Collect::default();
        for packet in packets {
            sink.number = packet.number;
            let packet = Packet {
                ts_ns: packet.ts_ns,
                orig_len: packet.orig_len,
                linktype: packet.linktype,
                data: &packet.data,
            };
            match pipeline.push(&packet, &mut sink) {
                Ok(()) => {}
                Err(never) => match never {},
            }
        }
        match pipeline.finish(&mut sink) {
            Ok(_) => {}
            Err(never) => match never {},
        }
        sink.entries
            .into_iter()
            .find(|found| same_exchange(entry, found))
            .map(|found| (found.request, found.response))
    }
}

/// Whether `found` (dissected again) is the exchange `indexed` stands for.
fn same_exchange(indexed: &Entry, found: &Entry) -> bool {
    found.timestamp == indexed.timestamp
        && found.packets.first == indexed.packets.first
        && found.protocol == indexed.protocol
        && found.request.get("size") == indexed.request.get("size")
        && found.response.get("size") == indexed.response.get("size")
}

/// Keeps the entries; numbers each packet as the store numbered it.
#[derive(Default)]
struct Collect {
    /// The store's number of the packet being pushed.
    number: u64,
    streams: u64,
    entries: Vec<Entry>,
}

impl Sink for Collect {
    type Error = Infallible;

    fn packet(&mut self, _: &Packet<'_>, _: Option<u64>) -> Result<u64, Infallible> {
        Ok(self.number)
    }

    fn alloc_stream(&mut self) -> u64 {
        self.streams += 1;
        self.streams
    }

    fn entry(&mut self, entry: Entry) -> Result<(), Infallible> {
        self.entries.push(entry);
        Ok(())
    }
}
