//! `status`: per node, the window kept, segments, entries, bytes and drops: a table with sizes
//! people read (`2.7 GiB`), or `-o json` with the exact numbers, one object per node.

use std::io::Write;

use anyhow::Result;
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use futures::AsyncReadExt;
use serde_json::{Value, json};
use shark_store::Store;

use super::shared::{agents_for, runtime};
use crate::cli::{OutputFormat, StatusArgs, TargetArgs};
use crate::render::bytes;
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
    let agents = agents_for(&runtime, args)?;
    let answers = runtime.block_on(async {
        let mut answers = Vec::new();
        for agent in &agents.list {
            let answer = async {
                let mut body = agents.get(agent, "/v1/status").await?;
                let mut text = String::new();
                body.read_to_string(&mut text)
                    .await
                    .map_err(|e| e.to_string())?;
                serde_json::from_str::<Value>(&text).map_err(|e| format!("unreadable status: {e}"))
            };
            answers.push((agent, answer.await));
        }
        answers
    });
    let mut out = std::io::stdout().lock();
    if format == OutputFormat::Json {
        // One line per agent: who it is, and its /v1/status document or why it did not answer.
        for (agent, answer) in answers {
            let (status, error) = match answer {
                Ok(status) => (status, Value::Null),
                Err(error) => (Value::Null, Value::String(error)),
            };
            let line = json!({"node": agent.node, "pod": agent.pod, "ready": agent.ready, "status": status, "error": error});
            writeln!(out, "{line}")?;
        }
        return Ok(());
    }
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header([
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
    ]);
    for (agent, answer) in answers {
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
        table.add_row(row);
    }
    writeln!(out, "{table}")?;
    Ok(())
}
