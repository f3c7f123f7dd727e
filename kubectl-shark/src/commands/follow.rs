//! `query --follow [--from T]`: matching entries as they are stored, each once whatever its
//! timestamp (with `--from`, the stored ones since T first, then the new ones, none twice), from a
//! local store or every agent of every cluster asked, until Ctrl-C;
//! and [`EntryStream`], the row-at-a-time printer that follow and replay share.

use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::time::{Duration, Instant};

use anyhow::Result;
use shark_pipeline::open_store;
use shark_store::Entry;
use shark_store::FOLLOW_POLL;
use tokio::sync::mpsc;

use super::shared::{fleet_for, redactions, runtime, window_query};
use crate::cli::{OutputFormat, QueryArgs};
use crate::cluster::agents::Agent;
use crate::cluster::cluster_filter::for_cluster;
use crate::cluster::fanout::{Ask, read_agent};
use crate::cluster::fleet::Member;
use crate::render::{
    CLUSTER_COLUMN, COLUMNS, STATUS_COLUMN, colour, entry_cells, entry_json, entry_json_in, red,
    redact, show_named,
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
            // Without --from, from now: what is stored once following began is shown even if a
            // node's connection breaks before its first entry.
            let from = query
                .from
                .unwrap_or_else(|| chrono::Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX));
            runtime.block_on(async {
                let (tx, mut rx) = mpsc::channel::<Followed>(256);
                for member in &fleet.members {
                    let kfl = for_cluster(&args.window.filter, &member.name);
                    let path = format!("/v1/follow?kfl={}", percent_encode(&kfl));
                    for agent in &member.agents.list {
                        let (member, agent, path, tx) =
                            (member.clone(), agent.clone(), path.clone(), tx.clone());
                        tokio::spawn(follow_agent(member, agent, path, from, tx));
                    }
                }
                drop(tx);
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

/// What following one agent gives the printer.
enum Followed {
    /// A matching entry, and the cluster it came from.
    Entry(String, Box<Entry>),
    /// A line for stderr about the node's connection.
    Note(String),
}

/// How long a node that stopped answering is tried again (a rollout restarts every agent).
const RECONNECT_FOR: Duration = Duration::from_secs(300);
/// The pause between two tries.
const RECONNECT_EVERY: Duration = Duration::from_secs(2);

/// Follows one node's agent (`path` asks for the filter; `from`, the entries stored with a
/// timestamp since then first), reconnecting when the connection ends (the agent restarted, a network blip): it
/// resumes after the newest entry shown from each node, so nothing is shown twice, and nothing
/// is missed unless the connection broke in the middle of a burst. Gives up once the node has
/// not answered for [`RECONNECT_FOR`].
async fn follow_agent(
    member: Member,
    mut agent: Agent,
    path: String,
    from: i64,
    tx: mpsc::Sender<Followed>,
) {
    let agents = &member.agents;
    let node = agent.node.clone();
    let label = member.node_label(&node);
    // Per node name in the entries: the newest entry id shown (ids grow as a node indexes).
    let mut shown: BTreeMap<String, i64> = BTreeMap::new();
    let mut answered = Instant::now();
    let mut outage = false;
    loop {
        let (entries_tx, mut entries) = mpsc::channel::<Result<Entry, String>>(256);
        let ask = Ask::Get(resume_path(&path, from, &shown));
        let reader = {
            let (agents, agent) = (agents.clone(), agent.clone());
            async move { read_agent(&agents, &agent, &ask, &entries_tx, |item| item).await }
        };
        let forward = async {
            let mut failure = None;
            while let Some(item) = entries.recv().await {
                match item {
                    Ok(entry) => {
                        answered = Instant::now();
                        if std::mem::take(&mut outage) {
                            let _ = tx
                                .send(Followed::Note(format!("node {label}: following again")))
                                .await;
                        }
                        if let Ok(id) = i64::try_from(entry.id) {
                            let newest = shown.entry(entry.node.name.clone()).or_insert(id);
                            *newest = (*newest).max(id);
                        }
                        let followed = Followed::Entry(member.name.clone(), Box::new(entry));
                        if tx.send(followed).await.is_err() {
                            return Err(());
                        }
                    }
                    Err(reason) => failure = Some(reason),
                }
            }
            Ok(failure)
        };
        let ((), forwarded) = tokio::join!(reader, forward);
        let reason = match forwarded {
            Err(()) => return,
            Ok(Some(reason)) => reason,
            Ok(None) => {
                // The stream ended cleanly: the agent was there until then.
                answered = Instant::now();
                "the agent ended the stream".to_string()
            }
        };
        if answered.elapsed() > RECONNECT_FOR {
            let _ = tx
                .send(Followed::Note(format!(
                    "node {label} stopped following: {reason}"
                )))
                .await;
            return;
        }
        if !std::mem::replace(&mut outage, true) {
            let note = format!("node {label}: {reason}; following again once it answers");
            if tx.send(Followed::Note(note)).await.is_err() {
                return;
            }
        }
        tokio::time::sleep(RECONNECT_EVERY).await;
        if let Ok(Some(found)) = agents.find_again(&node).await {
            agent = found;
        }
    }
}

/// `path` asking first for what was stored since `from`, and, once entries were shown, for each
/// node's entries after the newest shown (`after=NODE:ID,…`).
fn resume_path(path: &str, from: i64, shown: &BTreeMap<String, i64>) -> String {
    let path = format!("{path}&from={from}");
    if shown.is_empty() {
        return path;
    }
    let after: Vec<String> = shown
        .iter()
        .map(|(node, id)| format!("{node}:{id}"))
        .collect();
    format!("{path}&after={}", percent_encode(&after.join(",")))
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
            OutputFormat::Json => serde_json::to_string(&entry_json_in(cluster, entry, named)?)?,
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
        OutputFormat::Json => serde_json::to_string(&entry_json(entry)?)?,
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
