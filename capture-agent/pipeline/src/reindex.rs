//! Rebuilding a node's index from its PCAP segments alone, through the same [`Redissection`] as
//! body read-back and replay, configured as the node was written.

use shark_store::{NodeWriter, Store, StoreError};

use crate::PipelineStats;
use crate::config::Bodies;
use crate::identities::{DnsLearningSink, SharedIdentities};
use crate::redissect::Redissection;

/// Re-dissects every stored packet of `node` and swaps in the rebuilt index (the old one stays
/// until the new one is complete). Endpoints are named from `identities` and the DNS answers seen;
/// bodies, timeouts and bounds are as the node's recorded settings say, so the index rebuilt is
/// the one its writer made. `redacted` is the secret its writer kept out of the index (the agent's
/// token), kept out again.
pub fn reindex_node(
    store: &Store,
    node: &str,
    identities: SharedIdentities,
    redacted: Option<&str>,
) -> Result<PipelineStats, StoreError> {
    let writer = NodeWriter::reindex(store.root(), node)?;
    let mut sink = DnsLearningSink::new(writer, identities.clone());
    let mut redissection = Redissection::new(store.root(), node, Bodies::Indexed)
        .with_identity(Box::new(identities))
        .with_redacted(redacted);
    for stored in store.packets(node)? {
        redissection.push(&stored, &mut sink)?;
    }
    let stats = redissection.finish(&mut sink)?;
    sink.into_inner().finish()?;
    Ok(stats)
}
