//! What `import` and `capture` share: packets → pipeline (with identities) → store.

use std::path::Path;

use anyhow::{Context, Result};
use shark_agent::identities::{DnsLearningSink, IdentityHistory, SharedIdentities, load_identities_file};
use shark_agent::{OwnedPacket, Pipeline, PipelineConfig, PipelineStats};
use shark_store::{Node, NodeWriter};

use super::store_config;
use crate::cli::RetentionArgs;

/// A pipeline writing into one node's store, naming endpoints from an identities file and DNS answers.
pub struct Ingest {
    pipeline: Pipeline,
    sink: DnsLearningSink<NodeWriter>,
}

impl Ingest {
    /// Opens the store for `node` under `store` (creating it) and a pipeline in front of it.
    pub fn open(store: &Path, node: &str, retention: &RetentionArgs, identities: Option<&Path>) -> Result<Self> {
        let history = match identities {
            Some(path) => load_identities_file(path)?,
            None => IdentityHistory::new(),
        };
        let identities = SharedIdentities::new(history);
        let config = store_config(retention)?;
        let writer = NodeWriter::open(store, node, config)?;
        let pipeline = Pipeline::new(PipelineConfig::new(Node { name: node.to_string(), ip: String::new() }))
            .with_identity(Box::new(identities.clone()));
        Ok(Ingest { pipeline, sink: DnsLearningSink::new(writer, identities) })
    }

    /// Runs one packet through the pipeline into the store.
    pub fn push(&mut self, packet: &OwnedPacket) -> Result<()> {
        self.pipeline.push(&packet.as_packet(), &mut self.sink).context("cannot store packet")
    }

    /// Flushes open exchanges, seals the segment and commits the index.
    pub fn finish(self) -> Result<PipelineStats> {
        let mut sink = self.sink;
        let stats = self.pipeline.finish(&mut sink).context("cannot store the last entries")?;
        sink.into_inner().finish()?;
        Ok(stats)
    }
}
