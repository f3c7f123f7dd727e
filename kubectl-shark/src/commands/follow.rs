//! `query --follow [--from T]`: matching entries as they are stored, each once whatever its
//! timestamp (with `--from`, the stored ones since T first, then the new ones, none twice), from a
//! local store or every agent of every cluster asked, until Ctrl-C;
//! and [`EntryStream`], the row-at-a-time printer that follow and replay share.

use std::collections::BTreeMap;
use std::io::{BufWriter, Write};

use anyhow::Result;
use shark_pipeline::open_store;
use shark_store::Entry;
use shark_store::FOLLOW_POLL;

use super::shared::{fleet_for, redactions, runtime, window_query};
use crate::cli::{OutputFormat, QueryArgs};
use crate::cluster::follow::{Followed, follow_all};
use crate::render::{
    CLUSTER_COLUMN, COLUMNS, EntryJson, STATUS_COLUMN, colour, entry_cells, red, redact, show_named,
};

/// Runs `query --follow`.
pub fn run(args: &QueryArgs) -> Result<()> {
    let query = window_query(&args.window, None)?;
    let hidden = redactions(&args.redact, &query)?;
    match &args.target.store {
        Some(dir) => {
            // As `query` does: bodies the index cut are read back for filters that read them, and
            // for JSON output, which shows them.
            let mut out = EntryStream::new(args.output);
            let store = open_store(dir)?;
            let mut tail = match args.output {
                OutputFormat::Json => store.tail_with_bodies(query.filter, query.from)?,
                OutputFormat::Table => store.tail(query.filter, query.from)?,
            };
            loop {
                while let Some(mut entry) = tail.next_entry()? {
                    redact(&mut entry, &hidden);
                    out.push(&entry)?;
                }
                std::thread::sleep(FOLLOW_POLL);
            }
        }
        None => {
            let runtime = runtime()?;
            let (fleet, _) = fleet_for(&runtime, &args.target, query.filter.as_ref())?;
            let mut out = EntryStream::new(args.output).with_clusters(fleet.labelled());
            let directory = runtime.block_on(fleet.directory());
            for down in &fleet.down {
                eprintln!("{}", down.footer());
            }
            runtime.block_on(async {
                let mut rx = follow_all(&fleet, &args.window.filter, query.from, &BTreeMap::new());
                while let Some(followed) = rx.recv().await {
                    match followed {
                        Followed::Entry(cluster, mut entry) => {
                            redact(&mut entry, &hidden);
                            let named = directory.name_entry(&cluster, &mut entry);
                            out.push_in(&cluster, &entry, &named)?;
                        }
                        Followed::Note(note) => eprintln!("{note}"),
                    }
                }
                anyhow::bail!("no node is left to follow")
            })
        }
    }
}

/// Prints entries one at a time as they arrive: an NDJSON line, or a fixed-width row under a
/// header printed once (each flushed at once, so a pipe or terminal sees it live).
pub struct EntryStream {
    format: OutputFormat,
    clusters: bool,
    header_done: bool,
    out: BufWriter<std::io::Stdout>,
}

impl EntryStream {
    /// A printer in `format`.
    pub fn new(format: OutputFormat) -> Self {
        EntryStream {
            format,
            clusters: false,
            header_done: false,
            out: BufWriter::new(std::io::stdout()),
        }
    }

    /// With a CLUSTER column first when `clusters` (entries from several clusters).
    pub fn with_clusters(mut self, clusters: bool) -> Self {
        self.clusters = clusters;
        self
    }

    /// Prints `entry` and flushes.
    pub fn push(&mut self, entry: &Entry) -> std::io::Result<()> {
        self.push_in("", entry, &[None, None])
    }

    /// Prints `entry` of `cluster` (its `cluster` in JSON, or its CLUSTER cell), with the sides
    /// another cluster `named`, and flushes.
    pub fn push_in(
        &mut self,
        cluster: &str,
        entry: &Entry,
        named: &[Option<String>; 2],
    ) -> std::io::Result<()> {
        let line = match self.format {
            OutputFormat::Json => sonic_rs::to_string(&EntryJson {
                cluster,
                entry,
                named,
            })?,
            OutputFormat::Table => {
                let row = if named.iter().any(Option::is_some) {
                    let mut shown = entry.clone();
                    show_named(&mut shown, named);
                    render(self.format, &shown)?
                } else {
                    render(self.format, entry)?
                };
                if self.clusters {
                    format!("{cluster:<CLUSTER_WIDTH$} {row}")
                } else {
                    row
                }
            }
        };
        self.push_line(&line)
    }

    /// Prints a line [`render`] made (under the header, for a table) and flushes.
    pub fn push_line(&mut self, line: &str) -> std::io::Result<()> {
        if self.format == OutputFormat::Table && !self.header_done {
            self.header_done = true;
            if self.clusters {
                write!(self.out, "{CLUSTER_COLUMN:<CLUSTER_WIDTH$} ")?;
            }
            writeln!(self.out, "{}", row(&COLUMNS.map(String::from), false))?;
        }
        writeln!(self.out, "{line}")?;
        self.out.flush()
    }
}

/// `entry` as [`EntryStream`] prints it in `format`: an NDJSON line or a table row (without the
/// line break). Smaller than the entry it shows, so it is also what waits in a buffer to be shown.
pub fn render(format: OutputFormat, entry: &Entry) -> std::io::Result<String> {
    Ok(match format {
        OutputFormat::Json => sonic_rs::to_string(&EntryJson::local(entry))?,
        OutputFormat::Table => row(&entry_cells(entry), colour() && entry.failed()),
    })
}

/// Width of the CLUSTER column of a streamed row.
const CLUSTER_WIDTH: usize = 16;

/// Column widths of a streamed row; the last column takes what it needs.
const WIDTHS: [usize; 7] = [26, 28, 28, 8, 8, 32, 8];

/// Cells padded to [`WIDTHS`] (a longer cell pushes the rest right rather than being cut), with
/// STATUS in red when `failed` (padded first, so colour does not count towards the width).
fn row(cells: &[String; 8], failed: bool) -> String {
    let mut line = String::new();
    for (index, cell) in cells.iter().enumerate() {
        let padded = match WIDTHS.get(index) {
            Some(width) => format!("{cell:<width$}"),
            None => cell.clone(),
        };
        if failed && index == STATUS_COLUMN {
            line.push_str(&red(&padded));
        } else {
            line.push_str(&padded);
        }
        if index + 1 < cells.len() {
            line.push(' ');
        }
    }
    line
}
