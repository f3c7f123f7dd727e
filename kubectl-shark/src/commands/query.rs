//! `query`: print the entries of a window that match a filter, from a local store or every agent.

use std::io::{BufWriter, Write};

use anyhow::Result;
use shark_pipeline::open_store;
use shark_store::{Entry, Query};

use super::shared::{fleet_for, redactions, runtime, targets, window_query};
use crate::cli::{OutputFormat, QueryArgs};
use crate::cluster::cluster_filter::{for_cluster, may_match};
use crate::cluster::directory::Directory;
use crate::cluster::fanout::{Source, query_all};
use crate::render::{EntryJson, EntryTable, RedactPath, redact, show_named};
use crate::timefmt::format_rfc3339;

/// How many rows a table shows when the user set no `--limit`.
const DEFAULT_TABLE_LIMIT: usize = 10_000;

/// Bytes of output held before a write to stdout: NDJSON lines of busy traffic are ~4 KB, so the
/// default 8 KiB made a write call every two entries.
const OUT_BUFFER: usize = 64 * 1024;

/// Runs `query`.
pub fn run(args: &QueryArgs) -> Result<()> {
    let table_cap = match (args.output, args.limit) {
        (OutputFormat::Table, None) => Some(DEFAULT_TABLE_LIMIT),
        _ => None,
    };
    // Ask for one more row than a capped table shows, to know whether to say that it was cut.
    if args.follow {
        return super::follow::run(args);
    }
    let query = window_query(&args.window, args.limit.or(table_cap.map(|cap| cap + 1)))?;
    if args.explain {
        return explain(args, &query);
    }
    let hidden = redactions(&args.redact, &query)?;
    match &args.target.store {
        Some(dir) => {
            let mut output = Output::new(args.output, table_cap, hidden, false);
            // Bodies the index cut are read back from the packets: for filters that read them,
            // and for JSON output, which shows them (a table does not).
            let store = open_store(dir)?;
            let entries = match args.output {
                OutputFormat::Json => store.query_with_bodies(&query)?,
                OutputFormat::Table => store.query(&query)?,
            };
            for entry in entries {
                output.push("", entry?)?;
            }
            output.finish(&[])
        }
        None => {
            let runtime = runtime()?;
            let (fleet, _) = fleet_for(&runtime, &args.target, query.filter.as_ref())?;
            let sources: Vec<Source> = fleet
                .members
                .iter()
                .map(|member| Source {
                    member,
                    request: serde_json::json!({"kfl": for_cluster(&args.window.filter, &member.name),
                        "from": query.from, "to": query.to, "limit": query.limit}),
                })
                .collect();
            let mut output = Output::new(args.output, table_cap, hidden, fleet.labelled());
            output.directory = runtime.block_on(fleet.directory());
            let failed = runtime.block_on(query_all(&sources, query.limit, |source, entry| {
                let cluster = sources.get(source).map_or("", |s| s.member.name.as_str());
                output.push(cluster, entry)
            }))?;
            let failures = fleet.failures(failed);
            if failures.answered {
                output.finish(&failures.footers())?;
            }
            failures.outcome()
        }
    }
}

/// Where entries go: a table printed at the end, or NDJSON lines as they come.
struct Output {
    format: OutputFormat,
    redactions: Vec<RedactPath>,
    table: EntryTable,
    cap: Option<usize>,
    cut: bool,
    out: BufWriter<std::io::Stdout>,
    /// The NDJSON line being written, its allocation kept from one entry to the next.
    line: Vec<u8>,
    /// Who addresses are in the other clusters, to name peers a cluster's agents could not.
    directory: Directory,
}

impl Output {
    fn new(
        format: OutputFormat,
        cap: Option<usize>,
        redactions: Vec<RedactPath>,
        clusters: bool,
    ) -> Self {
        Output {
            format,
            redactions,
            table: EntryTable::new(clusters),
            cap,
            cut: false,
            out: BufWriter::with_capacity(OUT_BUFFER, std::io::stdout()),
            line: Vec::new(),
            directory: Directory::default(),
        }
    }

    fn push(&mut self, cluster: &str, mut entry: Entry) -> std::io::Result<()> {
        redact(&mut entry, &self.redactions);
        let named = self.directory.name_entry(cluster, &mut entry);
        match self.format {
            OutputFormat::Json => {
                let json = EntryJson {
                    cluster,
                    entry: &entry,
                    named: &named,
                };
                self.line.clear();
                json.write_line(&mut self.line)?;
                self.out.write_all(&self.line)
            }
            OutputFormat::Table if self.cap.is_some_and(|cap| self.table.len() >= cap) => {
                self.cut = true;
                Ok(())
            }
            OutputFormat::Table => {
                show_named(&mut entry, &named);
                self.table.push(cluster, &entry);
                Ok(())
            }
        }
    }

    /// Prints the table (if any) and a footer line per cluster or node that failed.
    fn finish(mut self, footers: &[String]) -> Result<()> {
        if self.format == OutputFormat::Table {
            if self.table.len() == 0 {
                writeln!(self.out, "no entries match")?;
            } else {
                writeln!(self.out, "{}", self.table.render())?;
                let noun = if self.table.len() == 1 {
                    "entry"
                } else {
                    "entries"
                };
                let more = if self.cut {
                    " (more match: raise --limit or use -o json)"
                } else {
                    ""
                };
                writeln!(self.out, "{} {noun}{more}", self.table.len())?;
            }
            for line in footers {
                writeln!(self.out, "{line}")?;
            }
        } else {
            for line in footers {
                eprintln!("{line}");
            }
        }
        self.out.flush()?;
        Ok(())
    }
}

/// Prints the planner's split of the filter and the window, and (without `--store`) which
/// clusters the filter's `cluster` conditions leave to ask.
fn explain(args: &QueryArgs, query: &Query) -> Result<()> {
    let mut out = std::io::stdout().lock();
    let bound =
        |t: Option<i64>, open: &str| t.map(format_rfc3339).unwrap_or_else(|| open.to_string());
    writeln!(
        out,
        "window:   [{}, {})",
        bound(query.from, "the oldest entry"),
        bound(query.to, "now")
    )?;
    match &query.filter {
        None => writeln!(out, "filter:   none (every entry in the window)")?,
        Some(filter) => writeln!(out, "{}", filter.plan(&shark_store::INDEXED_COLUMNS))?,
    }
    if args.target.store.is_none() {
        let names: Vec<String> = targets(&args.target)?.into_iter().map(|t| t.name).collect();
        if names.iter().any(|name| !name.is_empty()) {
            let (asked, skipped): (Vec<String>, Vec<String>) = names
                .into_iter()
                .partition(|name| may_match(query.filter.as_ref(), name));
            writeln!(out, "clusters: asks {}", list(&asked))?;
            if !skipped.is_empty() {
                writeln!(
                    out,
                    "          does not ask {} (the filter's cluster condition excludes it)",
                    list(&skipped)
                )?;
            }
        }
    }
    Ok(())
}

/// Names for a sentence: `a, b`, or `none`.
fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}
