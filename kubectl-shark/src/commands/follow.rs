//! `query --follow [--from T]`: matching entries as they are stored, each once whatever its
//! timestamp (with `--from`, the stored ones since T first, then the new ones, none twice), from a
//! local store or every agent, until Ctrl-C;
//! and [`EntryStream`], the row-at-a-time printer that follow and replay share.

use std::io::{BufWriter, Write};

use anyhow::Result;
use shark_agent::open_store;
use shark_agent::api::FOLLOW_POLL;
use shark_store::Entry;
use tokio::sync::mpsc;

use super::{agents_for, runtime, window_query};
use crate::cli::{OutputFormat, QueryArgs};
use crate::cluster::fanout::{Ask, read_agent};
use crate::render::{COLUMNS, entry_cells, entry_json};

/// Runs `query --follow`.
pub fn run(args: &QueryArgs) -> Result<()> {
    let query = window_query(&args.window, None)?;
    let mut out = EntryStream::new(args.output);
    match &args.target.store {
        Some(dir) => {
            // As `query` does: bodies the index cut are read back for filters that read them, and
            // for JSON output, which shows them.
            let store = open_store(dir)?;
            let mut tail = match args.output {
                OutputFormat::Json => store.tail_with_bodies(query.filter, query.from)?,
                OutputFormat::Table => store.tail(query.filter, query.from)?,
            };
            loop {
                while let Some(entry) = tail.next_entry()? {
                    out.push(&entry)?;
                }
                std::thread::sleep(FOLLOW_POLL);
            }
        }
        None => {
            let runtime = runtime()?;
            let agents = agents_for(&runtime, &args.target)?;
            let mut path = format!("/v1/follow?kfl={}", percent_encode(&args.window.filter));
            if let Some(from) = query.from {
                path.push_str(&format!("&from={from}"));
            }
            runtime.block_on(async {
                let (tx, mut rx) = mpsc::channel::<(String, Result<Entry, String>)>(256);
                for agent in &agents.list {
                    let (agents, agent, ask, tx) = (
                        agents.clone(),
                        agent.clone(),
                        Ask::Get(path.clone()),
                        tx.clone(),
                    );
                    tokio::spawn(async move {
                        let node = agent.node.clone();
                        read_agent(&agents, &agent, &ask, &tx, |item| (node.clone(), item)).await;
                        let _ = tx
                            .send((node, Err("the agent ended the stream".into())))
                            .await;
                    });
                }
                drop(tx);
                while let Some((node, item)) = rx.recv().await {
                    match item {
                        Ok(entry) => out.push(&entry)?,
                        Err(reason) => eprintln!("node {node} stopped following: {reason}"),
                    }
                }
                anyhow::bail!("no node is left to follow")
            })
        }
    }
}

/// `s` for a URL query value: every byte but the unreserved ones as `%XX`.
fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}

/// Prints entries one at a time as they arrive: an NDJSON line, or a fixed-width row under a
/// header printed once (each flushed at once, so a pipe or terminal sees it live).
pub struct EntryStream {
    format: OutputFormat,
    header_done: bool,
    out: BufWriter<std::io::Stdout>,
}

impl EntryStream {
    /// A printer in `format`.
    pub fn new(format: OutputFormat) -> Self {
        EntryStream {
            format,
            header_done: false,
            out: BufWriter::new(std::io::stdout()),
        }
    }

    /// Prints `entry` and flushes.
    pub fn push(&mut self, entry: &Entry) -> std::io::Result<()> {
        let line = render(self.format, entry)?;
        self.push_line(&line)
    }

    /// Prints a line [`render`] made (under the header, for a table) and flushes.
    pub fn push_line(&mut self, line: &str) -> std::io::Result<()> {
        if self.format == OutputFormat::Table && !self.header_done {
            self.header_done = true;
            writeln!(self.out, "{}", row(&COLUMNS.map(String::from)))?;
        }
        writeln!(self.out, "{line}")?;
        self.out.flush()
    }
}

/// `entry` as [`EntryStream`] prints it in `format`: an NDJSON line or a table row (without the
/// line break). Smaller than the entry it shows, so it is also what waits in a buffer to be shown.
pub fn render(format: OutputFormat, entry: &Entry) -> std::io::Result<String> {
    Ok(match format {
        OutputFormat::Json => serde_json::to_string(&entry_json(entry)?)?,
        OutputFormat::Table => row(&entry_cells(entry)),
    })
}

/// Column widths of a streamed row; the last column takes what it needs.
const WIDTHS: [usize; 7] = [26, 28, 28, 8, 8, 32, 8];

/// Cells padded to [`WIDTHS`] (a longer cell pushes the rest right rather than being cut).
fn row(cells: &[String; 8]) -> String {
    let mut line = String::new();
    for (index, cell) in cells.iter().enumerate() {
        match WIDTHS.get(index) {
            Some(width) => line.push_str(&format!("{cell:<width$} ")),
            None => line.push_str(cell),
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::percent_encode;

    #[test]
    fn filters_survive_the_url() {
        assert_eq!(
            percent_encode(r#"dst.name == "web" and x"#),
            "dst.name%20%3D%3D%20%22web%22%20and%20x"
        );
    }
}
