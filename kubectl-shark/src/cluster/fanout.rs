//! Asking every agent (of every cluster asked) at once and merging their answers by timestamp.
//!
//! Each agent streams its entries in time order; one task per agent reads and parses its stream
//! into a small bounded channel, and a k-way merge takes the earliest head each time. Memory
//! stays bounded by the channels, whatever the result size. An agent that fails (unreachable, a
//! timeout, an error line midway) is reported by name and the others still answer.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use futures::{AsyncBufReadExt, StreamExt};
use shark_store::Entry;
use tokio::sync::mpsc;

use super::agents::{Agent, Agents};
use super::fleet::Member;

/// Entries buffered per agent between its reader and the merge.
const PER_AGENT_BUFFER: usize = 256;

/// A node that did not answer fully, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeFailure {
    /// The node (or agent URL).
    pub node: String,
    /// What went wrong.
    pub reason: String,
}

/// One cluster's agents and what to ask them (each cluster gets the filter with its own name in
/// place of `cluster`).
pub struct Source<'a> {
    /// The cluster.
    pub member: &'a Member,
    /// The `/v1/query` request body.
    pub request: serde_json::Value,
}

/// Sends each source's request to every agent of its cluster's `/v1/query` and calls `each` with
/// the merged entries (and the index of the source they came from) in timestamp order, stopping
/// after `limit`. Returns the nodes that failed, with the index of their source.
pub async fn query_all(
    sources: &[Source<'_>],
    limit: Option<usize>,
    mut each: impl FnMut(usize, Entry) -> std::io::Result<()>,
) -> std::io::Result<Vec<(usize, NodeFailure)>> {
    let mut receivers = Vec::new();
    for (source, Source { member, request }) in sources.iter().enumerate() {
        for agent in &member.agents.list {
            let (tx, rx) = mpsc::channel::<Result<Entry, String>>(PER_AGENT_BUFFER);
            receivers.push((source, member.node_label(&agent.node), rx));
            let (agents, agent, ask) = (
                member.agents.clone(),
                agent.clone(),
                Ask::Post("/v1/query", request.clone()),
            );
            tokio::spawn(async move {
                read_agent(&agents, &agent, &ask, &tx, |item| item).await;
            });
        }
    }
    let mut failures = Vec::new();
    let mut heap = BinaryHeap::new();
    for (index, (source, node, rx)) in receivers.iter_mut().enumerate() {
        pull(index, (*source, node), rx, &mut heap, &mut failures).await;
    }
    let mut emitted = 0usize;
    while let Some(Reverse(Head {
        index, item: entry, ..
    })) = heap.pop()
    {
        if limit.is_some_and(|l| emitted >= l) {
            break;
        }
        let Some((source, node, rx)) = receivers.get_mut(index) else {
            continue;
        };
        each(*source, entry)?;
        emitted += 1;
        pull(index, (*source, node), rx, &mut heap, &mut failures).await;
    }
    Ok(failures)
}

/// What to ask an agent for.
pub enum Ask {
    /// `POST path` with a JSON body.
    Post(&'static str, serde_json::Value),
    /// `GET path` (with its query string).
    Get(String),
}

/// Reads one agent's NDJSON answer to `ask`, sending each entry (as `wrap` makes it) to `tx` as it
/// arrives; a failure (unreachable, cut short, unreadable) is sent last. Stops early when nobody
/// listens any more.
pub async fn read_agent<T>(
    agents: &Agents,
    agent: &Agent,
    ask: &Ask,
    tx: &mpsc::Sender<T>,
    wrap: impl Fn(Result<Entry, String>) -> T,
) {
    let answer = match ask {
        Ask::Post(path, body) => {
            agents
                .call(
                    agent,
                    http::Method::POST,
                    path,
                    body.to_string().into_bytes(),
                )
                .await
        }
        Ask::Get(path) => {
            agents
                .call(agent, http::Method::GET, path, Vec::new())
                .await
        }
    };
    let stream = match answer {
        Ok(stream) => stream,
        Err(reason) => {
            let _ = tx.send(wrap(Err(reason))).await;
            return;
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
        if tx.send(wrap(item)).await.is_err() || failed {
            return;
        }
    }
}

/// The head of one of several time-ordered sources in a k-way merge: ordered by `key`, then by
/// source, so equal keys keep a stable order.
pub struct Head<K, T> {
    /// The sort key (a timestamp).
    pub key: K,
    /// Which source it came from.
    pub index: usize,
    /// The item itself.
    pub item: T,
}

impl<K: Ord, T> PartialEq for Head<K, T> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}
impl<K: Ord, T> Eq for Head<K, T> {}
impl<K: Ord, T> PartialOrd for Head<K, T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<K: Ord, T> Ord for Head<K, T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (&self.key, self.index).cmp(&(&other.key, other.index))
    }
}

/// Takes the agent's next entry into the heap, or records its failure (with its source).
async fn pull(
    index: usize,
    (source, node): (usize, &str),
    rx: &mut mpsc::Receiver<Result<Entry, String>>,
    heap: &mut BinaryHeap<Reverse<Head<i64, Entry>>>,
    failures: &mut Vec<(usize, NodeFailure)>,
) {
    match rx.recv().await {
        Some(Ok(entry)) => heap.push(Reverse(Head {
            key: entry.timestamp,
            index,
            item: entry,
        })),
        Some(Err(reason)) => failures.push((
            source,
            NodeFailure {
                node: node.to_string(),
                reason,
            },
        )),
        None => {}
    }
}

/// An NDJSON line: an entry, or the agent's `{"streamError": …}` saying its answer was cut short.
pub fn parse_line(line: &str) -> Result<Entry, String> {
    let value: serde_json::Value =
        serde_json::from_str(line).map_err(|e| format!("unreadable answer: {e}"))?;
    if let Some(error) = value.get("streamError").and_then(|e| e.as_str()) {
        return Err(error.to_string());
    }
    serde_json::from_value(value).map_err(|e| format!("unreadable entry: {e}"))
}

/// The footer line for a failed node.
pub fn footer(failure: &NodeFailure) -> String {
    format!("node {} unreachable: {}", failure.node, failure.reason)
}
