//! `map`: who talks to whom in a window, from a local store or merged from every agent of every
//! cluster asked.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use anyhow::{Context, Result};
use shark_pipeline::open_store;
use shark_pipeline::spec::parse_duration;
use shark_store::{GroupBy, Query, ServiceMap, Store};

use super::shared::{fleet_for, runtime, window_query};
use crate::cli::{MapArgs, MapFormat};
use crate::cluster::failures::Failures;
use crate::cluster::fleet::Fleet;
use crate::cluster::maps::map_all;
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
        print(&render(&map, args.output), &failures)?;
        return failures.outcome();
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

/// Writes `text` and a line per cluster or node that did not answer (on stderr, so DOT and JSON
/// stay parseable).
fn print(text: &str, failures: &Failures) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    for line in failures.footers() {
        eprintln!("{line}");
    }
    Ok(())
}

/// Where maps come from: a local store, or the agents of every cluster asked (each builds its
/// node's map; they are merged here, each cluster's peers kept apart).
enum Source {
    Local(Store),
    Cluster(tokio::runtime::Runtime, Fleet, String),
}

impl Source {
    fn new(args: &MapArgs) -> Result<Self> {
        Ok(match &args.target.store {
            Some(dir) => Source::Local(open_store(dir)?),
            None => {
                let runtime = runtime()?;
                let filter = window_query(&args.window, None)?.filter;
                let (fleet, _) = fleet_for(&runtime, &args.target, filter.as_ref())?;
                Source::Cluster(runtime, fleet, args.window.filter.clone())
            }
        })
    }

    /// The map of `query` and the clusters and nodes that failed to answer.
    fn map(&self, query: &Query, by: GroupBy) -> Result<(ServiceMap, Failures)> {
        match self {
            Source::Local(store) => Ok((
                store.map(query, by)?,
                Failures {
                    answered: true,
                    ..Failures::default()
                },
            )),
            Source::Cluster(runtime, fleet, kfl) => {
                let (map, failed) = runtime.block_on(map_all(fleet, kfl, query, by));
                let failures = fleet.failures(failed);
                if !failures.answered {
                    failures.outcome()?;
                }
                Ok((map, failures))
            }
        }
    }
}
