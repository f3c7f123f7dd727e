//! Whole bodies on demand: the store's [`BodyLoader`], which runs a fresh [`Pipeline`] over an
//! exchange's stored packets and takes the bodies of the same exchange.
//!
//! The exchange found must start at the indexed entry's first packet and timestamp, be of the
//! same protocol, and have the same request and response sizes; the store then checks that each
//! body extends the prefix the index kept. An exchange the packets cannot rebuild (an HTTP/2
//! stream whose header state was lost with earlier packets, a segment gone) gives nothing, never a
//! different body.

use std::convert::Infallible;
use std::path::Path;
use std::sync::Arc;

use shark_store::{BodyLoader, Entry, Message, Store, StoreError, StoredPacket};

use crate::pipeline::{Pipeline, PipelineConfig};
use crate::{Packet, Sink};

/// Opens the store at `root` for reading entries: a filter that reads a body the index cut
/// (`response.body.contains(…)`) sees it whole, wherever entries are matched (query, export, map,
/// follow), and [`Store::query_with_bodies`] gives whole bodies for output.
pub fn open_store(root: &Path) -> Result<Store, StoreError> {
    Ok(Store::open(root)?.with_body_loader(Arc::new(Redissect::default())))
}

/// Dissects stored packets again to give back the bodies the index cut.
#[derive(Debug, Clone, Copy)]
pub struct Redissect {
    max_body: usize,
}

impl Redissect {
    /// A loader giving bodies of at most `max_body` bytes (the capture's `--max-body`).
    pub fn new(max_body: usize) -> Self {
        Redissect { max_body }
    }
}

impl Default for Redissect {
    /// Bodies up to the pipeline's default `--max-body`.
    fn default() -> Self {
        Redissect::new(PipelineConfig::new(Default::default()).max_body)
    }
}

impl BodyLoader for Redissect {
    fn redissect(&self, entry: &Entry, packets: &[StoredPacket]) -> Option<(Message, Message)> {
        let mut config = PipelineConfig::new(entry.node.clone());
        config.max_body = self.max_body;
        config.index_body = self.max_body;
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
