//! `export`: the packets of the matching entries as one PCAP file, from a local store or every agent.

use std::fs::File;
use std::io::{BufWriter, Write};

use anyhow::{Context, Result};
use shark_pipeline::open_store;
use shark_store::Query;

use super::shared::{fleet_for, runtime, window_query};
use crate::cli::ExportArgs;
use crate::cluster::cluster_filter::for_cluster;
use crate::cluster::failures::Failures;
use crate::cluster::fanout::Source;
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
    let (packets, detail, failures) = match &args.target.store {
        Some(dir) => {
            let summary = open_store(dir)?.export(&query, args.whole_flows, &mut out)?;
            if summary.entries_without_packets > 0 {
                eprintln!(
                    "warning: {} of the {} matching entries have no packets left (their segments were removed by retention or lost); the PCAP holds the others",
                    summary.entries_without_packets, summary.entries
                );
            }
            (
                summary.packets,
                format!("of {} entries", summary.entries),
                Failures {
                    answered: true,
                    ..Failures::default()
                },
            )
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
    if failures.answered {
        eprintln!("exported {packets} packets {detail} to {target}");
    }
    failures.outcome()
}

/// Asks every agent of every cluster for its PCAP and merges them by timestamp (pcapng, one
/// interface per cluster and node, when several clusters answer).
fn export_cluster(
    args: &ExportArgs,
    query: &Query,
    out: &mut dyn Write,
) -> Result<(u64, String, Failures)> {
    let runtime = runtime()?;
    let (fleet, _) = fleet_for(&runtime, &args.target, query.filter.as_ref())?;
    let sources: Vec<Source> = fleet
        .members
        .iter()
        .map(|member| Source {
            member,
            request: serde_json::json!({"kfl": for_cluster(&args.window.filter, &member.name),
                "from": query.from, "to": query.to, "wholeFlows": args.whole_flows}),
        })
        .collect();
    let (packets, failed) = runtime.block_on(export_all(&sources, out, fleet.labelled()))?;
    let nodes: usize = fleet.members.iter().map(|m| m.agents.list.len()).sum();
    let answered = nodes - failed.len();
    let failures = fleet.failures(failed);
    for line in failures.footers() {
        eprintln!("{line}");
    }
    let clusters = if fleet.labelled() {
        let answered = fleet.members.len() + fleet.down.len() - failures.clusters.len();
        format!(" in {answered} clusters")
    } else {
        String::new()
    };
    Ok((
        packets,
        format!("from {answered} nodes{clusters}"),
        failures,
    ))
}
