//! `export`: the packets of the matching entries as one PCAP file, from a local store or every agent.

use std::fs::File;
use std::io::{BufWriter, Write};

use anyhow::{Context, Result};
use shark_pipeline::open_store;
use shark_store::Query;

use super::shared::{agents_for, runtime, window_query};
use crate::cli::ExportArgs;
use crate::cluster::fanout::footer;
use crate::cluster::pcap_merge::export_all;

/// Runs `export`.
pub fn run(args: &ExportArgs) -> Result<()> {
    let query = window_query(&args.window, None)?;
    let to_stdout = args.output.as_os_str() == "-";
    let mut out: Box<dyn Write> = if to_stdout {
        Box::new(BufWriter::new(std::io::stdout().lock()))
    } else {
        let path = &args.output;
        Box::new(BufWriter::new(
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        ))
    };
    let (packets, detail) = match &args.target.store {
        Some(dir) => {
            let summary = open_store(dir)?.export(&query, args.whole_flows, &mut out)?;
            if summary.entries_without_packets > 0 {
                eprintln!(
                    "warning: {} of the {} matching entries have no packets left (their segments were removed by retention or lost); the PCAP holds the others",
                    summary.entries_without_packets, summary.entries
                );
            }
            (summary.packets, format!("of {} entries", summary.entries))
        }
        None => export_cluster(args, &query, &mut out)?,
    };
    out.flush()
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    let target = if to_stdout {
        "stdout".to_string()
    } else {
        args.output.display().to_string()
    };
    eprintln!("exported {packets} packets {detail} to {target}");
    Ok(())
}

/// Asks every agent for its PCAP and merges them by timestamp.
fn export_cluster(args: &ExportArgs, query: &Query, out: &mut dyn Write) -> Result<(u64, String)> {
    let runtime = runtime()?;
    let agents = agents_for(&runtime, &args.target)?;
    let request = serde_json::json!({"kfl": args.window.filter, "from": query.from, "to": query.to,
                                     "wholeFlows": args.whole_flows});
    let (packets, failures) = runtime.block_on(export_all(&agents, request, out))?;
    for failure in &failures {
        eprintln!("{}", footer(failure));
    }
    if failures.len() == agents.list.len() && !failures.is_empty() {
        anyhow::bail!("no node answered");
    }
    Ok((
        packets,
        format!("from {} nodes", agents.list.len() - failures.len()),
    ))
}
