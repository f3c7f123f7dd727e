//! What import, local capture and the node agent share: packets → pipeline (with identities) → store.
//!
//! Two cores share the work: the pipeline and the store's writer (segments, index blocks) run on
//! the caller's thread, the index's compression and SQLite work on a thread of its own (import
//! also reads its file ahead on a third, [`ReadAhead`](crate::ReadAhead)). The writer stays with
//! the pipeline: on a thread of its own, every entry crossed cores (built on one, encoded on the
//! other, freed on the first), and on the two-core machines measured that took more CPU than it
//! saved (BENCHMARKS.md, "Where the writer runs").

use std::path::{Path, PathBuf};

use shark_store::{Node, NodeWriter, StoreConfig, StoreError};

use crate::config::Bodies;
use crate::identities::{DnsLearningSink, SharedIdentities};
use crate::redact::Redacting;
use crate::scope::CaptureScope;
use crate::{Packet, Pipeline, PipelineConfig, PipelineStats};

/// A pipeline writing into one node's store, naming endpoints from an identities file and DNS answers.
pub struct Ingest {
    pipeline: Pipeline,
    sink: Redacting<DnsLearningSink<NodeWriter>>,
    root: PathBuf,
    node: String,
    identities: SharedIdentities,
    scope: Option<CaptureScope>,
}

impl Ingest {
    /// Opens the store for `node` under `store` (creating it) and a pipeline in front of it that
    /// names endpoints from `identities` (and teaches it the DNS answers it sees), keeps at most
    /// `max_body` bytes of each body (`--max-body`) and at most `index_body` of them in the index
    /// (`--index-body`). Those and the pipeline's other settings are recorded in the store
    /// ([`WriteSettings`](shark_store::WriteSettings)), and the pipeline is built from that record,
    /// as every re-dissection of the node's packets is ([`Redissection`](crate::Redissection)).
    pub fn open(
        store: &Path,
        node: &str,
        config: StoreConfig,
        identities: SharedIdentities,
        index_body: usize,
        max_body: usize,
    ) -> Result<Self, StoreError> {
        let writer = NodeWriter::open(store, node, config)?;
        let node_id = Node {
            name: node.to_string(),
            ip: String::new(),
        };
        let mut writing = PipelineConfig::for_writing(node_id.clone());
        writing.index_body = index_body;
        writing.max_body = max_body;
        let settings = writing.write_settings();
        settings.record(store, node)?;
        let pipeline_config = PipelineConfig::from_settings(node_id, &settings, Bodies::Indexed);
        let pipeline = Pipeline::new(pipeline_config).with_identity(Box::new(identities.clone()));
        Ok(Ingest {
            pipeline,
            sink: Redacting::new(DnsLearningSink::new(writer, identities.clone())),
            root: store.to_path_buf(),
            node: node.to_string(),
            identities,
            scope: None,
        })
    }

    /// Bounds the pipeline's flow state by `bytes` (`--memory-limit`, see
    /// [`PipelineConfig::with_memory_limit`]; it decides which flows close early, so it is
    /// recorded with the node's other settings).
    pub fn with_memory_limit(mut self, bytes: usize) -> Result<Self, StoreError> {
        self.pipeline = self.pipeline.with_memory_limit(bytes);
        let settings = self.pipeline.config().write_settings();
        settings.record(&self.root, &self.node)?;
        Ok(self)
    }

    /// Keeps only the traffic of the pods in `scope` (checked per packet, before anything is stored).
    pub fn with_scope(mut self, scope: Option<CaptureScope>) -> Self {
        self.scope = scope;
        self
    }

    /// Never indexes `secret` (the node agent's API token): see [`Redacting`].
    pub fn with_redacted(mut self, secret: &str) -> Self {
        self.sink.redact(secret);
        self
    }

    /// Runs one borrowed packet (e.g. from a live capture's batch) through the pipeline into the store.
    pub fn push_packet(&mut self, packet: Packet<'_>) -> Result<(), StoreError> {
        if self
            .scope
            .as_ref()
            .is_some_and(|scope| !scope.keeps(&packet, &self.identities))
        {
            return Ok(());
        }
        self.pipeline.push(&packet, &mut self.sink)
    }

    /// The store root and node this ingest writes to.
    pub fn location(&self) -> (&Path, &str) {
        (&self.root, &self.node)
    }

    /// Commits the entries written so far to the index, so queries see them soon (live capture
    /// calls this about once a second; the store otherwise commits by batch size or packet time).
    pub fn flush(&mut self) -> Result<(), StoreError> {
        self.sink.inner_mut().inner_mut().flush()
    }

    /// What the pipeline has seen so far.
    pub fn stats(&self) -> PipelineStats {
        self.pipeline.stats()
    }

    /// Flushes open exchanges, seals the segment and commits the index.
    pub fn finish(self) -> Result<PipelineStats, StoreError> {
        let mut sink = self.sink;
        let stats = self.pipeline.finish(&mut sink)?;
        sink.into_inner().into_inner().finish()?;
        Ok(stats)
    }
}
