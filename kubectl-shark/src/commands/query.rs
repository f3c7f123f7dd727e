//! `query`: print the entries of a window that match a filter.

use std::io::{BufWriter, Write};

use anyhow::Result;
use shark_store::Store;

use super::window_query;
use crate::cli::{OutputFormat, QueryArgs};
use crate::render::{EntryTable, entry_json};

/// How many rows a table shows when the user set no `--limit`.
const DEFAULT_TABLE_LIMIT: usize = 10_000;

/// Runs `query`.
pub fn run(args: &QueryArgs) -> Result<()> {
    let table_cap = match (args.output, args.limit) {
        (OutputFormat::Table, None) => Some(DEFAULT_TABLE_LIMIT),
        _ => None,
    };
    // Ask for one more row than a capped table shows, to know whether to say that it was cut.
    let query = window_query(&args.window, args.limit.or(table_cap.map(|cap| cap + 1)))?;
    if args.explain {
        return explain(&query);
    }
    let store = Store::open(&args.store.store)?;
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    match args.output {
        OutputFormat::Json => {
            for entry in store.query(&query)? {
                serde_json::to_writer(&mut out, &entry_json(&entry?)?)?;
                out.write_all(b"\n")?;
            }
        }
        OutputFormat::Table => {
            let mut table = EntryTable::new();
            let mut cut = false;
            for entry in store.query(&query)? {
                let entry = entry?;
                if table_cap.is_some_and(|cap| table.len() >= cap) {
                    cut = true;
                    break;
                }
                table.push(&entry);
            }
            if table.len() == 0 {
                writeln!(out, "no entries match")?;
            } else {
                writeln!(out, "{}", table.render())?;
                let more = if cut { " (more match: raise --limit or use -o json)" } else { "" };
                let noun = if table.len() == 1 { "entry" } else { "entries" };
                writeln!(out, "{} {noun}{more}", table.len())?;
            }
        }
    }
    out.flush()?;
    Ok(())
}

/// Prints the planner's split of the filter and the window.
fn explain(query: &shark_store::Query) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "window:   from {:?} to {:?} (ns since epoch; from inclusive, to exclusive)", query.from, query.to)?;
    match &query.filter {
        None => writeln!(out, "filter:   none (every entry in the window)")?,
        Some(filter) => {
            let plan = filter.plan();
            writeln!(out, "index:    {}", plan.index)?;
            match plan.residual {
                Some(residual) => writeln!(out, "residual: {residual}")?,
                None => writeln!(out, "residual: none (the index answers the whole filter)")?,
            }
            if let Some(limit) = plan.limit {
                writeln!(out, "limit:    {limit}")?;
            }
        }
    }
    Ok(())
}
