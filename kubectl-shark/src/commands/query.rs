//! `query`: print the entries of a window that match a filter, from a local store or every agent.

use std::io::{BufWriter, Write};

use anyhow::Result;
use shark_pipeline::open_store;
use shark_store::{Entry, Query};

use super::shared::{agents_for, redactions, runtime, window_query};
use crate::cli::{OutputFormat, QueryArgs};
use crate::cluster::fanout::{footer, query_all};
use crate::render::{EntryTable, RedactPath, entry_json, redact};
use crate::timefmt::format_rfc3339;

/// How many rows a table shows when the user set no `--limit`.
const DEFAULT_TABLE_LIMIT: usize = 10_000;

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
        return explain(&query);
    }
    let mut output = Output::new(args.output, table_cap, redactions(&args.redact, &query)?);
    let failures = match &args.target.store {
        Some(dir) => {
            // Bodies the index cut are read back from the packets: for filters that read them,
            // and for JSON output, which shows them (a table does not).
            let store = open_store(dir)?;
            let entries = match args.output {
                OutputFormat::Json => store.query_with_bodies(&query)?,
                OutputFormat::Table => store.query(&query)?,
            };
            for entry in entries {
                output.push(entry?)?;
            }
            Vec::new()
        }
        None => {
            let runtime = runtime()?;
            let agents = agents_for(&runtime, &args.target)?;
            let request = serde_json::json!({"kfl": args.window.filter, "from": query.from, "to": query.to, "limit": query.limit});
            let failures = runtime.block_on(query_all(&agents, request, query.limit, |entry| {
                output.push(entry)
            }))?;
            if failures.len() == agents.list.len() && !failures.is_empty() {
                let all: Vec<String> = failures.iter().map(footer).collect();
                anyhow::bail!("no node answered: {}", all.join("; "));
            }
            failures.iter().map(footer).collect()
        }
    };
    output.finish(&failures)
}

/// Where entries go: a table printed at the end, or NDJSON lines as they come.
struct Output {
    format: OutputFormat,
    redactions: Vec<RedactPath>,
    table: EntryTable,
    cap: Option<usize>,
    cut: bool,
    out: BufWriter<std::io::Stdout>,
}

impl Output {
    fn new(format: OutputFormat, cap: Option<usize>, redactions: Vec<RedactPath>) -> Self {
        Output {
            format,
            redactions,
            table: EntryTable::new(),
            cap,
            cut: false,
            out: BufWriter::new(std::io::stdout()),
        }
    }

    fn push(&mut self, mut entry: Entry) -> std::io::Result<()> {
        redact(&mut entry, &self.redactions);
        match self.format {
            OutputFormat::Json => {
                serde_json::to_writer(&mut self.out, &entry_json(&entry)?)?;
                self.out.write_all(b"\n")
            }
            OutputFormat::Table if self.cap.is_some_and(|cap| self.table.len() >= cap) => {
                self.cut = true;
                Ok(())
            }
            OutputFormat::Table => {
                self.table.push(&entry);
                Ok(())
            }
        }
    }

    /// Prints the table (if any) and a footer line per node that failed.
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

/// Prints the planner's split of the filter and the window.
fn explain(query: &Query) -> Result<()> {
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
    Ok(())
}
