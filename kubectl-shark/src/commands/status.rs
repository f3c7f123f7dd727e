//! `status`: per node, the window kept, segments, entries and bytes.

use std::io::Write;

use anyhow::Result;
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use shark_store::Store;

use crate::cli::StoreArgs;
use crate::timefmt::format_timestamp;

/// Runs `status`.
pub fn run(args: &StoreArgs) -> Result<()> {
    let store = Store::open(&args.store)?;
    let nodes = store.status()?;
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header([
        "NODE", "OLDEST", "NEWEST", "SEGMENTS", "PCAP BYTES", "ENTRIES", "INDEX BYTES",
    ]);
    for node in &nodes {
        let ts = |t: Option<i64>| t.map(format_timestamp).unwrap_or_else(|| "-".into());
        table.add_row([
            node.node.clone(),
            ts(node.oldest),
            ts(node.newest),
            node.segments.to_string(),
            node.pcap_bytes.to_string(),
            node.entries.to_string(),
            node.index_bytes.to_string(),
        ]);
    }
    let mut out = std::io::stdout().lock();
    if nodes.is_empty() {
        writeln!(out, "the store at {} holds no nodes yet", args.store.display())?;
    } else {
        writeln!(out, "{table}")?;
    }
    Ok(())
}
