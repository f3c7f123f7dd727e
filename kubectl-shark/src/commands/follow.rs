//! `query --follow [--from T]`: matching entries as they are stored (with `--from`, the stored ones
//! since T first, then the new ones, none twice), from a local store or every agent, until Ctrl-C;
//! and [`EntryStream`], the row-at-a-time printer that follow and replay share.

use std::io::{BufWriter, Write};

use anyhow::Result;
use futures::{AsyncBufReadExt, StreamExt};
use shark_agent::api::{FOLLOW_POLL, Tail, now_ns};
use shark_store::{Entry, Store};
use tokio::sync::mpsc;

use super::{agents_for, runtime, window_query};
use crate::cli::{OutputFormat, QueryArgs};
use crate::render::{Summary, endpoint, entry_json};
use crate::timefmt::format_timestamp;

/// Runs `query --follow`.
pub fn run(args: &QueryArgs) -> Result<()> {
    let query = window_query(&args.window, None)?;
    let mut out = EntryStream::new(args.output);
    match &args.target.store {
        Some(dir) => {
            let mut tail = Tail::new(Store::open(dir)?, query.filter, query.from.unwrap_or_else(now_ns));
            loop {
                for entry in tail.poll(now_ns())? {
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
                    let (agents, agent, path, tx) =
                        (agents.clone(), agent.clone(), path.clone(), tx.clone());
                    tokio::spawn(async move {
                        let stream = match agents.get(&agent, &path).await {
                            Ok(stream) => stream,
                            Err(reason) => {
                                return drop(tx.send((agent.node.clone(), Err(reason))).await);
                            }
                        };
                        let mut lines = stream.lines();
                        while let Some(line) = lines.next().await {
                            let item = match line {
                                Ok(line) if line.trim().is_empty() => continue,
                                Ok(line) => parse_line(&line),
                                Err(e) => Err(format!("connection lost: {e}")),
                            };
                            let failed = item.is_err();
                            if tx.send((agent.node.clone(), item)).await.is_err() || failed {
                                return;
                            }
                        }
                        let _ = tx
                            .send((agent.node.clone(), Err("the agent ended the stream".into())))
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

/// An agent's NDJSON line: an entry, or `{"streamError": …}`.
fn parse_line(line: &str) -> Result<Entry, String> {
    let value: serde_json::Value =
        serde_json::from_str(line).map_err(|e| format!("unreadable answer: {e}"))?;
    if let Some(error) = value.get("streamError").and_then(|e| e.as_str()) {
        return Err(error.to_string());
    }
    serde_json::from_value(value).map_err(|e| format!("unreadable entry: {e}"))
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
        match self.format {
            OutputFormat::Json => {
                serde_json::to_writer(&mut self.out, &entry_json(entry)?)?;
                self.out.write_all(b"\n")?;
            }
            OutputFormat::Table => {
                if !self.header_done {
                    self.header_done = true;
                    let header = [
                        "TIME", "SRC", "DST", "PROTO", "METHOD", "PATH", "STATUS", "ELAPSED",
                    ]
                    .map(String::from);
                    writeln!(self.out, "{}", row(&header))?;
                }
                let summary = Summary::of(entry);
                let proto = if entry.protocol.version.is_empty() {
                    entry.protocol.name.clone()
                } else {
                    format!("{}/{}", entry.protocol.name, entry.protocol.version)
                };
                let cells = [
                    format_timestamp(entry.timestamp),
                    endpoint(&entry.src),
                    endpoint(&entry.dst),
                    proto,
                    summary.method,
                    summary.path,
                    summary.status,
                    format!("{:.1}ms", entry.elapsed_time),
                ];
                writeln!(self.out, "{}", row(&cells))?;
            }
        }
        self.out.flush()
    }
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
