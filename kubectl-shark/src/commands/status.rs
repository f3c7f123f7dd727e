//! `status`: per node (of every cluster asked), the window kept, segments, entries, bytes and drops: a table with sizes
//! people read (`2.7 GiB`), or `-o json` with the exact numbers, one object per node.

use std::io::Write;

use anyhow::Result;
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use futures::AsyncReadExt;
use serde_json::{Value, json};
use shark_store::Store;

use super::shared::{fleet_for, runtime};
use crate::cli::{OutputFormat, StatusArgs, TargetArgs};
use crate::cluster::failures::Failures;
use crate::cluster::fanout::NodeFailure;
use crate::render::{CLUSTER_COLUMN, bytes};
use crate::timefmt::format_timestamp;

/// Runs `status`.
pub fn run(args: &StatusArgs) -> Result<()> {
    match &args.target.store {
        Some(dir) => local(dir, args.output),
        None => cluster(&args.target, args.output),
    }
}

fn time_cell(ns: Option<i64>) -> String {
    ns.map(format_timestamp).unwrap_or_else(|| "-".into())
}

fn local(dir: &std::path::Path, format: OutputFormat) -> Result<()> {
    let nodes = Store::open(dir)?.status()?;
    let mut out = std::io::stdout().lock();
    if format == OutputFormat::Json {
        for node in &nodes {
            writeln!(out, "{}", node.json())?;
        }
        return Ok(());
    }
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header([
        "NODE",
        "OLDEST",
        "NEWEST",
        "SEGMENTS",
        "PCAP BYTES",
        "ENTRIES",
        "INDEX BYTES",
        "CAPTURED",
        "DROPS",
        "FLOWS EVICTED",
    ]);
    for node in &nodes {
        table.add_row([
            node.node.clone(),
            time_cell(node.oldest_ns),
            time_cell(node.newest_ns),
            node.segments.to_string(),
            bytes(node.pcap_bytes),
            node.entries.to_string(),
            bytes(node.index_bytes),
            node.capture.received.to_string(),
            node.capture.dropped().to_string(),
            node.capture.flows_evicted.to_string(),
        ]);
    }
    if nodes.is_empty() {
        writeln!(out, "the store at {} holds no nodes yet", dir.display())?;
    } else {
        writeln!(out, "{table}")?;
    }
    Ok(())
}

fn cluster(args: &TargetArgs, format: OutputFormat) -> Result<()> {
    let runtime = runtime()?;
    let (fleet, _) = fleet_for(&runtime, args, None)?;
    let labelled = fleet.labelled();
    let answers = runtime.block_on(async {
        let mut answers = Vec::new();
        for (index, member) in fleet.members.iter().enumerate() {
            let agents = &member.agents;
            for agent in &agents.list {
                let answer = async {
                    let mut body = agents.get(agent, "/v1/status").await?;
                    let mut text = String::new();
                    body.read_to_string(&mut text)
                        .await
                        .map_err(|e| e.to_string())?;
                    serde_json::from_str::<Value>(&text)
                        .map_err(|e| format!("unreadable status: {e}"))
                };
                answers.push((index, member.name.as_str(), agent, answer.await));
            }
        }
        answers
    });
    let failed = answers
        .iter()
        .filter_map(|(index, _, agent, answer)| {
            let reason = answer.as_ref().err()?.clone();
            let node = agent.node.clone();
            Some((*index, NodeFailure { node, reason }))
        })
        .collect();
    // Each node's error is in its row; a cluster that could not be reached, or none of whose
    // nodes answered, makes the answer partial.
    let down = Failures {
        clusters: fleet.failures(failed).clusters,
        nodes: Vec::new(),
        answered: !fleet.members.is_empty(),
    };
    let mut out = std::io::stdout().lock();
    if format == OutputFormat::Json {
        // One line per agent: who it is, and its /v1/status document or why it did not answer.
        for (_, cluster, agent, answer) in answers {
            let (status, error) = match answer {
                Ok(status) => (status, Value::Null),
                Err(error) => (Value::Null, Value::String(error)),
            };
            let mut line = json!({"node": agent.node, "pod": agent.pod, "ready": agent.ready, "status": status, "error": error});
            if !cluster.is_empty() {
                line["cluster"] = json!(cluster);
            }
            writeln!(out, "{line}")?;
        }
        for down in &fleet.down {
            writeln!(
                out,
                "{}",
                json!({"cluster": down.cluster, "error": down.reason})
            )?;
        }
        return down.outcome();
    }
    let mut table = Table::new();
    let cluster_column = labelled.then_some(CLUSTER_COLUMN);
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_header(cluster_column.into_iter().chain([
            "NODE",
            "AGENT POD",
            "READY",
            "OLDEST",
            "NEWEST",
            "ENTRIES",
            "PCAP BYTES",
            "DROPS",
            "FLOWS EVICTED",
            "LAST ERROR",
        ]));
    for (_, cluster, agent, answer) in answers {
        let pod = if agent.pod.is_empty() {
            "-".to_string()
        } else {
            agent.pod.clone()
        };
        let ready = if agent.ready { "yes" } else { "no" }.to_string();
        let row = match answer {
            Ok(status) => {
                let store = status["store"].as_array().cloned().unwrap_or_default();
                let sum = |key: &str| store.iter().filter_map(|n| n[key].as_u64()).sum::<u64>();
                let oldest = store.iter().filter_map(|n| n["oldest"].as_i64()).min();
                let newest = store.iter().filter_map(|n| n["newest"].as_i64()).max();
                let drops = status["capture"]["dropped"]
                    .as_u64()
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| "-".into());
                [
                    agent.node.clone(),
                    pod,
                    ready,
                    time_cell(oldest),
                    time_cell(newest),
                    sum("entries").to_string(),
                    bytes(sum("pcapBytes")),
                    drops,
                    sum("flowsEvicted").to_string(),
                    String::new(),
                ]
            }
            Err(error) => [
                agent.node.clone(),
                pod,
                ready,
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                error,
            ],
        };
        let cluster = labelled.then(|| cluster.to_string());
        table.add_row(cluster.into_iter().chain(row));
    }
    writeln!(out, "{table}")?;
    for line in down.footers() {
        writeln!(out, "{line}")?;
    }
    down.outcome()
}
