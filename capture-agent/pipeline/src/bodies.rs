//! Whole bodies on demand: the store's [`BodyLoader`], which dissects an exchange's stored packets
//! again ([`Redissection`], bodies whole) and takes the bodies of the same exchange.
//!
//! The exchange found must start at the indexed entry's first packet and timestamp, be of the
//! same protocol, and have the same request and response sizes; the store then checks that each
//! body extends the prefix the index kept. An exchange the packets cannot rebuild (an HTTP/2
//! stream whose header state was lost with earlier packets, a segment gone) gives nothing, never a
//! different body.
//!
//! A body read back is cut where capture cut it: the loader of [`open_store`] reads the node's
//! recorded [`WriteSettings`](shark_store::WriteSettings) for each body it reads back (a node that
//! appears after the store was opened, e.g. while following, is covered too). Recording the cap,
//! rather than taking bodies up to the entry's wire `size`, keeps a body read back equal to the
//! one the entry showed when it was captured: a smaller cap stays small, and a compressed body
//! (whose decoded length `size` does not tell) decodes as far as it did. A node's store written by
//! several runs holds the last run's settings.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use shark_store::{BodyLoader, Entry, Message, Store, StoreError, StoredPacket};

use crate::OnEntry;
use crate::config::Bodies;
use crate::redissect::Redissection;

/// Opens the store at `root` for reading entries: a filter that reads a body the index cut
/// (`response.body.contains(…)`) sees it whole, wherever entries are matched (query, export, map,
/// follow), and [`Store::query_with_bodies`] gives whole bodies for output, each node's cut at
/// the `--max-body` it was captured with.
pub fn open_store(root: &Path) -> Result<Store, StoreError> {
    let store = Store::open(root)?;
    let loader = Redissect::for_store(&store);
    Ok(store.with_body_loader(Arc::new(loader)))
}

/// Dissects stored packets again to give back the bodies the index cut, each node's as its
/// recorded settings say (or as the defaults do, for stores written before they were recorded).
#[derive(Debug, Clone)]
pub struct Redissect {
    /// The store whose nodes' recorded settings apply.
    root: PathBuf,
}

impl Redissect {
    /// A loader for `store`'s entries.
    pub fn for_store(store: &Store) -> Self {
        Redissect {
            root: store.root().to_path_buf(),
        }
    }
}

impl BodyLoader for Redissect {
    fn redissect(&self, entry: &Entry, packets: &[StoredPacket]) -> Option<(Message, Message)> {
        let mut redissection = Redissection::new(&self.root, &entry.node.name, Bodies::Whole);
        let mut found = Vec::new();
        // Redissection numbers the packets as the store did; bodies are never exported.
        let mut sink = OnEntry::new(|entry| found.push(entry));
        for packet in packets {
            let Ok(()) = redissection.push(packet, &mut sink);
        }
        let Ok(_) = redissection.finish(&mut sink);
        found
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
