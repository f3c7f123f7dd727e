//! Rebuilding a node's index from its PCAP segments alone, through the same pipeline as capture.

use shark_store::{Node, NodeWriter, Store, StoreError};

use crate::identities::{DnsLearningSink, SharedIdentities};
use crate::{Packet, Pipeline, PipelineConfig, PipelineStats};

/// Re-dissects every stored packet of `node` and swaps in the rebuilt index (the old one stays
/// until the new one is complete). Endpoints are named from `identities` and the DNS answers seen;
/// bodies are kept up to the `--max-body` the node was captured with.
pub fn reindex_node(
    store: &Store,
    node: &str,
    identities: SharedIdentities,
) -> Result<PipelineStats, StoreError> {
    let writer = NodeWriter::reindex(store.root(), node)?;
    let mut sink = DnsLearningSink::new(writer, identities.clone());
    let mut config = PipelineConfig::new(Node {
        name: node.to_string(),
        ip: String::new(),
    });
    if let Some(max_body) = crate::bodies::recorded_max_body(store.root(), node) {
        config.max_body = max_body;
    }
    let mut pipeline = Pipeline::new(config).with_identity(Box::new(identities));
    for stored in store.packets(node)? {
        let packet = Packet {
            ts_ns: stored.ts_ns,
            orig_len: stored.orig_len,
            linktype: stored.linktype,
            data: &stored.data,
        };
        pipeline.push(&packet, &mut sink)?;
    }
    let stats = pipeline.finish(&mut sink)?;
    sink.into_inner().finish()?;
    Ok(stats)
}
