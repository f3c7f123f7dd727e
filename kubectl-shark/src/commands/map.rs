//! `map`: who talks to whom in a window, from a local store or merged from every agent.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use anyhow::{Context, Result};
use futures::AsyncReadExt;
use shark_pipeline::open_store;
use shark_pipeline::spec::parse_duration;
use shark_store::{GroupBy, Query, ServiceMap, Store};

use super::shared::{agents_for, runtime, window_query};
use crate::cli::{MapArgs, MapFormat};
use crate::cluster::agents::Agents;
use crate::cluster::fanout::{NodeFailure, footer};
use crate::render::{map_dot, map_mermaid, map_table};

/// Clears a terminal and puts the cursor home, as `top` does before redrawing.
const CLEAR_SCREEN: &str = "\x1b[2J\x1b[H";

/// Runs `map`: once, or with `--watch` every `--interval` until Ctrl-C.
pub fn run(args: &MapArgs) -> Result<()> {
    let by: GroupBy = args.by.parse()?;
    anyhow::ensure!(
        !args.watch || args.output == MapFormat::Table,
        "--watch redraws the table: drop -o or use -o table"
    );
    let source = Source::new(args)?;
    if !args.watch {
        let (map, failures) = source.map(&window_query(&args.window, None)?, by)?;
        if args.output != MapFormat::Table
            && let Some(note) = crate::render::left_out(&map)
        {
            eprintln!("{note}");
        }
        return print(&render(&map, args.output), &failures);
    }
    let interval = parse_duration(&args.interval).context("--interval")?;
    let terminal = std::io::stdout().is_terminal();
    loop {
        let (map, failures) = source.map(&window_query(&args.window, None)?, by)?;
        let now = chrono::Utc::now().format("%H:%M:%S");
        let screen = format!(
            "{}kubectl-shark map --by {by}   {now}   every {}s, Ctrl-C to stop\n\n{}",
            if terminal { CLEAR_SCREEN } else { "" },
            interval.as_secs_f64(),
            map_table(&map)
        );
        print(&screen, &failures)?;
        std::thread::sleep(interval.max(Duration::from_millis(100)));
    }
}

/// The map in the chosen format.
fn render(map: &ServiceMap, format: MapFormat) -> String {
    match format {
        MapFormat::Table => map_table(map),
        MapFormat::Dot => map_dot(map),
        MapFormat::Mermaid => map_mermaid(map),
        MapFormat::Json => serde_json::to_string_pretty(map)
            .map(|j| j + "\n")
            .unwrap_or_default(),
    }
}

/// Writes `text` and a line per node that did not answer (on stderr, so DOT and JSON stay parseable).
fn print(text: &str, failures: &[NodeFailure]) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    for failure in failures {
        eprintln!("{}", footer(failure));
    }
    Ok(())
}

/// Where maps come from: a local store, or the agents (each builds its node's map; they are merged here).
enum Source {
    Local(Store),
    Cluster(tokio::runtime::Runtime, Agents, String),
}

impl Source {
    fn new(args: &MapArgs) -> Result<Self> {
        Ok(match &args.target.store {
            Some(dir) => Source::Local(open_store(dir)?),
            None => {
                let runtime = runtime()?;
                let agents = agents_for(&runtime, &args.target)?;
                Source::Cluster(runtime, agents, args.window.filter.clone())
            }
        })
    }

    /// The map of `query` and the nodes that failed to answer.
    fn map(&self, query: &Query, by: GroupBy) -> Result<(ServiceMap, Vec<NodeFailure>)> {
        match self {
            Source::Local(store) => Ok((store.map(query, by)?, Vec::new())),
            Source::Cluster(runtime, agents, kfl) => {
                let request = serde_json::json!({"kfl": kfl, "from": query.from, "to": query.to});
                let answers = runtime.block_on(futures::future::join_all(
                    agents
                        .list
                        .iter()
                        .map(|agent| node_map(agents, agent, by, &request)),
                ));
                let mut map = ServiceMap::new(by);
                let mut failures = Vec::new();
                for (agent, answer) in agents.list.iter().zip(answers) {
                    match answer {
                        Ok(node_map) => map.merge(&node_map),
                        Err(reason) => failures.push(NodeFailure {
                            node: agent.node.clone(),
                            reason,
                        }),
                    }
                }
                if !failures.is_empty() && failures.len() == agents.list.len() {
                    let all: Vec<String> = failures.iter().map(footer).collect();
                    anyhow::bail!("no node answered: {}", all.join("; "));
                }
                Ok((map, failures))
            }
        }
    }
}

/// One agent's map of the window.
async fn node_map(
    agents: &Agents,
    agent: &crate::cluster::agents::Agent,
    by: GroupBy,
    request: &serde_json::Value,
) -> Result<ServiceMap, String> {
    let mut body = Vec::new();
    let mut stream = agents
        .post(agent, &format!("/v1/map?by={by}"), request)
        .await?;
    stream
        .read_to_end(&mut body)
        .await
        .map_err(|e| format!("connection lost: {e}"))?;
    // An agent that refuses (bad request, store unavailable) answers a line of text, not a map.
    serde_json::from_slice(&body).map_err(|e| match String::from_utf8_lossy(&body).lines().next() {
        Some(line) if !line.trim_start().starts_with('{') => line.trim().to_string(),
        _ => format!("unreadable map: {e}"),
    })
}
