//! Whole bodies on demand: the store's [`BodyLoader`], which dissects stored packets again
//! ([`Redissection`], bodies whole) and hands the store every exchange they give.
//!
//! The store picks the packets (the spans of the flows holding wanted entries, read in bulk) and
//! matches what comes back to the entries it stands for: same first packet, timestamp, protocol,
//! request and response sizes, and a body that extends the prefix the index kept. An exchange the
//! packets cannot rebuild (an HTTP/2 stream whose header state was lost with earlier packets, a
//! segment gone) gives nothing, never a different body.
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

use shark_store::{BodyLoader, Entry, LentPackets, Store, StoreError};

use crate::OnEntry;
use crate::config::Bodies;
use crate::redissect::Redissection;

/// Opens the store at `root` for reading entries: a filter that reads a body the index cut
/// (`response.body.contains(…)`) sees it whole, wherever entries are matched (query, export, map,
/// follow), and [`Store::query_with_bodies`] gives whole bodies for output, each node's cut at
/// the `--max-body` it was captured with.
pub fn open_store(root: &Path) -> Result<Store, StoreError> {
    open_store_redacting(root, None)
}

/// Like [`open_store`], with `secret` (the agent's token, which its writer redacted) replaced in
/// every body read back from the packets too.
pub fn open_store_redacting(root: &Path, secret: Option<&str>) -> Result<Store, StoreError> {
    let store = Store::open(root)?;
    let mut loader = Redissect::for_store(&store);
    loader.redacted = secret.map(str::to_string);
    Ok(store.with_body_loader(Arc::new(loader)))
}

/// Dissects stored packets again to give back the bodies the index cut, each node's as its
/// recorded settings say (or as the defaults do, for stores written before they were recorded).
#[derive(Debug, Clone)]
pub struct Redissect {
    /// The store whose nodes' recorded settings apply.
    root: PathBuf,
    /// Replaced in what is read back, as its writer did.
    redacted: Option<String>,
}

impl Redissect {
    /// A loader for `store`'s entries.
    pub fn for_store(store: &Store) -> Self {
        Redissect {
            root: store.root().to_path_buf(),
            redacted: None,
        }
    }
}

impl BodyLoader for Redissect {
    fn redissect(&self, node: &str, packets: &mut dyn LentPackets, found: &mut dyn FnMut(Entry)) {
        let mut redissection = Redissection::new(&self.root, node, Bodies::Whole)
            .with_redacted(self.redacted.as_deref());
        // Redissection numbers the packets as the store did; bodies are never exported.
        let mut sink = OnEntry::new(found);
        while let Some(packet) = packets.next_packet() {
            let Ok(()) = redissection.push(packet, &mut sink);
        }
        let Ok(_) = redissection.finish(&mut sink);
    }
}
