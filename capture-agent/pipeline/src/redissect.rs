//! Re-dissection: a node's stored packets in, the entries its writer made out.
//!
//! Reindex ([`reindex_node`](crate::reindex_node)), body read-back ([`Redissect`](crate::Redissect))
//! and replay ([`Replay`](crate::Replay)) all turn stored packets into entries through
//! [`Redissection`]: the pipeline configured from the node's recorded [`WriteSettings`] (the one
//! record of how the node was written, which [`Ingest`](crate::Ingest) leaves when it writes), fed
//! the stored packets in order, naming them by the numbers the store gave them. They differ only
//! in how much of each body they keep ([`Bodies`]) and where the entries go.

use std::path::Path;

use shark_store::{Entry, Node, StoredPacket, WriteSettings};

use crate::config::Bodies;
use crate::identity::IdentityResolver;
use crate::{Packet, Pipeline, PipelineConfig, PipelineStats, Sink};

/// The configuration node `node` under `root` was written with, keeping `bodies` of each body:
/// every cap, timeout and bound from its recorded [`WriteSettings`], the writers' defaults
/// ([`PipelineConfig::for_writing`]) for what a store written before the record does not say.
pub fn written_config(root: &Path, node: &str, bodies: Bodies) -> PipelineConfig {
    let node = Node {
        name: node.to_string(),
        ip: String::new(),
    };
    let defaults = PipelineConfig::for_writing(node.clone()).write_settings();
    let settings = WriteSettings::recorded(root, &node.name, &defaults);
    PipelineConfig::from_settings(node, &settings, bodies)
}

/// One node's stored packets going through the pipeline its writer ran.
pub struct Redissection {
    pipeline: Pipeline,
    /// Replaced in every entry, as the writer did (the agent's token).
    redacted: Option<String>,
}

impl Redissection {
    /// Re-dissects stored packets of node `node` under `root` as the node was written
    /// ([`written_config`]), keeping `bodies` of each body; endpoints are not named.
    pub fn new(root: &Path, node: &str, bodies: Bodies) -> Self {
        Redissection {
            pipeline: Pipeline::new(written_config(root, node, bodies)),
            redacted: None,
        }
    }

    /// Replaces `secret` in every entry from now on, as a writer redacting it did
    /// ([`Ingest::with_redacted`](crate::Ingest::with_redacted)): packets hold the secret, and
    /// every entry dissected again from them must not (an empty secret redacts nothing).
    pub fn with_redacted(mut self, secret: Option<&str>) -> Self {
        self.redacted = secret.filter(|s| !s.is_empty()).map(str::to_string);
        self
    }

    /// Uses `identity` to name the endpoints of every entry from now on.
    pub fn with_identity(mut self, identity: Box<dyn IdentityResolver>) -> Self {
        self.pipeline = self.pipeline.with_identity(identity);
        self
    }

    /// The configuration in use.
    pub fn config(&self) -> &PipelineConfig {
        self.pipeline.config()
    }

    /// Takes the next stored packet (in the store's order): hands it to `sink` and sends `sink` the
    /// entries it completes. Entries name packets by the store's numbers, whatever numbers the
    /// sink's [`Sink::packet`] returns.
    pub fn push<S: Sink>(&mut self, packet: &StoredPacket, sink: &mut S) -> Result<(), S::Error> {
        let mut numbered = Numbered {
            number: packet.number,
            sink,
            redacted: self.redacted.as_deref(),
        };
        self.pipeline.push(&packet.as_raw(), &mut numbered)
    }

    /// See [`Pipeline::earliest_unfinished`].
    pub fn earliest_unfinished(&self) -> Option<i64> {
        self.pipeline.earliest_unfinished()
    }

    /// Closes every flow (sending what is pending) and returns the counters.
    pub fn finish<S: Sink>(self, sink: &mut S) -> Result<PipelineStats, S::Error> {
        let redacted = self.redacted;
        self.pipeline.finish(&mut Numbered {
            number: 0,
            sink,
            redacted: redacted.as_deref(),
        })
    }
}

/// Passes everything to `sink`, but numbers the packet being pushed as the store numbered it.
struct Numbered<'s, S> {
    number: u64,
    sink: &'s mut S,
    redacted: Option<&'s str>,
}

impl<S: Sink> Sink for Numbered<'_, S> {
    type Error = S::Error;

    fn packet(&mut self, packet: &Packet<'_>, stream: Option<u64>) -> Result<u64, S::Error> {
        self.sink.packet(packet, stream)?;
        Ok(self.number)
    }

    fn alloc_stream(&mut self) -> u64 {
        self.sink.alloc_stream()
    }

    fn handshake(&mut self, stream: u64, first: u64, last: u64) -> Result<(), S::Error> {
        self.sink.handshake(stream, first, last)
    }

    fn state_packets(&mut self, stream: u64, first: u64, last: u64) -> Result<(), S::Error> {
        self.sink.state_packets(stream, first, last)
    }

    fn entry(&mut self, mut entry: Entry) -> Result<(), S::Error> {
        if let Some(secret) = self.redacted {
            crate::redact::redact_entry(&mut entry, secret);
        }
        self.sink.entry(entry)
    }
}
