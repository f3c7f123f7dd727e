//! Asking every agent at once and merging their answers by timestamp.
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

use super::agents::Agents;

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

/// Sends `request` to every agent's `/v1/query` and calls `each` with the merged entries in
/// timestamp order, stopping after `limit`. Returns the nodes that failed.
pub async fn query_all(
    agents: &Agents,
    request: serde_json::Value,
    limit: Option<usize>,
    mut each: impl FnMut(Entry) -> std::io::Result<()>,
) -> std::io::Result<Vec<NodeFailure>> {
    let mut receivers = Vec::new();
    for agent in &agents.list {
        let (tx, rx) = mpsc::channel::<Result<Entry, String>>(PER_AGENT_BUFFER);
        receivers.push((agent.node.clone(), rx));
        let (agents, agent, request) = (agents.clone(), agent.clone(), request.clone());
        tokio::spawn(async move {
            let stream = match agents.post(&agent, "/v1/query", &request).await {
                Ok(stream) => stream,
                Err(reason) => {
                    let _ = tx.send(Err(reason)).await;
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
                if tx.send(item).await.is_err() || failed {
                    return;
                }
            }
        });
    }
    let mut failures = Vec::new();
    let mut heap = BinaryHeap::new();
    for (index, (node, rx)) in receivers.iter_mut().enumerate() {
        pull(index, node, rx, &mut heap, &mut failures).await;
    }
    let mut emitted = 0usize;
    while let Some(Reverse(Head { index, entry, .. })) = heap.pop() {
        if limit.is_some_and(|l| emitted >= l) {
            break;
        }
        each(entry)?;
        emitted += 1;
        if let Some((node, rx)) = receivers.get_mut(index) {
            pull(index, node, rx, &mut heap, &mut failures).await;
        }
    }
    Ok(failures)
}

/// One agent's next entry, ordered by timestamp then agent for the merge.
struct Head {
    timestamp: i64,
    index: usize,
    entry: Entry,
}

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        (self.timestamp, self.index) == (other.timestamp, other.index)
    }
}
impl Eq for Head {}
impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Head {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.timestamp, self.index).cmp(&(other.timestamp, other.index))
    }
}

/// Takes the agent's next entry into the heap, or records its failure.
async fn pull(
    index: usize,
    node: &str,
    rx: &mut mpsc::Receiver<Result<Entry, String>>,
    heap: &mut BinaryHeap<Reverse<Head>>,
    failures: &mut Vec<NodeFailure>,
) {
    match rx.recv().await {
        Some(Ok(entry)) => heap.push(Reverse(Head { timestamp: entry.timestamp, index, entry })),
        Some(Err(reason)) => failures.push(NodeFailure { node: node.to_string(), reason }),
        None => {}
    }
}

/// An NDJSON line: an entry, or the agent's `{"streamError": …}` saying its answer was cut short.
fn parse_line(line: &str) -> Result<Entry, String> {
    let value: serde_json::Value = serde_json::from_str(line).map_err(|e| format!("unreadable answer: {e}"))?;
    if let Some(error) = value.get("streamError").and_then(|e| e.as_str()) {
        return Err(error.to_string());
    }
    serde_json::from_value(value).map_err(|e| format!("unreadable entry: {e}"))
}

/// The footer line for a failed node.
pub fn footer(failure: &NodeFailure) -> String {
    format!("node {} unreachable: {}", failure.node, failure.reason)
}
