//! `reindex`: rebuild every node's index from its PCAP segments alone.

use std::time::Instant;

use anyhow::{Context, Result};
use shark_pipeline::reindex_node;
use shark_store::Store;

use super::shared::identities;
use crate::cli::ReindexArgs;

/// Runs `reindex`.
pub fn run(args: &ReindexArgs) -> Result<()> {
    let store = Store::open(&args.store.store)?;
    let nodes: Vec<String> = store.nodes().map(str::to_string).collect();
    let secret = match &args.redact_file {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read --redact-file {}", path.display()))?
                .trim()
                .to_string(),
        ),
        None => None,
    };
    for node in &nodes {
        let started = Instant::now();
        let stats = reindex_node(
            &store,
            node,
            identities(args.identities.as_deref())?,
            secret.as_deref(),
        )?;
        eprintln!(
            "reindexed node {node}: {} packets, {} entries in {:.2} s",
            stats.packets,
            stats.entries,
            started.elapsed().as_secs_f64()
        );
    }
    if nodes.is_empty() {
        eprintln!(
            "the store at {} holds no nodes; nothing to reindex",
            args.store.store.display()
        );
    }
    Ok(())
}
