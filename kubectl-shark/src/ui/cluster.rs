//! The dashboard over the cluster's agents: one page of entries merged from every agent, and
//! every agent's status. An agent that does not answer is named, with its reason, and the others'
//! answer is shown as partial.

use futures::AsyncReadExt;
use futures::future::join_all;
use serde_json::{Value, json};
use shark_store::{Entry, PageKey, Query};

use super::api::time_json;
use crate::cluster::agents::{Agent, Agents};
use crate::cluster::fanout::{NodeFailure, parse_line};

/// Up to `limit` entries newest first past `after`, merged from every agent by (timestamp, node,
/// id), the cursor past the last, and the agents that failed. Each agent is asked for one more
/// than is shown, so whether more are left is known.
pub async fn page(
    agents: &Agents,
    query: &Query,
    kfl: &str,
    after: Option<&PageKey>,
    limit: usize,
) -> (Vec<Entry>, Option<PageKey>, Vec<NodeFailure>) {
    let request = json!({"kfl": kfl, "from": query.from, "to": query.to, "limit": limit + 1,
                         "order": "newest", "after": after.map(PageKey::to_string)});
    let answers = join_all(
        agents
            .list
            .iter()
            .map(|agent| agent_page(agents, agent, &request)),
    )
    .await;
    let mut entries = Vec::new();
    let mut failures = Vec::new();
    for (agent, answer) in agents.list.iter().zip(answers) {
        match answer {
            Ok(mut page) => entries.append(&mut page),
            Err(reason) => failures.push(NodeFailure {
                node: agent.node.clone(),
                reason,
            }),
        }
    }
    entries
        .sort_by(|a, b| (b.timestamp, &b.node.name, b.id).cmp(&(a.timestamp, &a.node.name, a.id)));
    let next = (entries.len() > limit).then(|| {
        entries.truncate(limit);
        entries.last().map(|e| PageKey {
            timestamp: e.timestamp,
            node: e.node.name.clone(),
            id: e.id,
        })
    });
    (entries, next.flatten(), failures)
}

/// One agent's page, or why it gave none.
async fn agent_page(agents: &Agents, agent: &Agent, request: &Value) -> Result<Vec<Entry>, String> {
    let mut body = Vec::new();
    agents
        .post(agent, "/v1/query", request)
        .await?
        .read_to_end(&mut body)
        .await
        .map_err(|e| format!("connection lost: {e}"))?;
    let text = String::from_utf8_lossy(&body);
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(parse_line)
        .collect()
}

/// Every agent's nodes as the status view shows them, and the agents that failed (each also a
/// row, with its reason as the last error).
pub async fn status(agents: &Agents) -> (Vec<Value>, Vec<NodeFailure>) {
    let answers = join_all(agents.list.iter().map(|agent| async move {
        let mut text = String::new();
        agents
            .get(agent, "/v1/status")
            .await?
            .read_to_string(&mut text)
            .await
            .map_err(|e| e.to_string())?;
        serde_json::from_str::<Value>(&text).map_err(|_| {
            text.lines()
                .next()
                .unwrap_or("unreadable status")
                .to_string()
        })
    }))
    .await;
    let mut nodes = Vec::new();
    let mut failures = Vec::new();
    for (agent, answer) in agents.list.iter().zip(answers) {
        match answer {
            Ok(status) => {
                let dropped = status["capture"]["dropped"].as_u64();
                for n in status["store"].as_array().into_iter().flatten() {
                    nodes.push(json!({"node": n["node"], "oldest": time_json(n["oldest"].as_i64()),
                        "newest": time_json(n["newest"].as_i64()), "segments": n["segments"],
                        "pcapBytes": n["pcapBytes"], "entries": n["entries"], "indexBytes": n["indexBytes"],
                        "captured": n["captured"], "dropped": dropped.or(n["dropped"].as_u64()), "lastError": null}));
                }
            }
            Err(reason) => {
                nodes.push(json!({"node": agent.node, "oldest": null, "newest": null, "segments": 0, "pcapBytes": 0,
                    "entries": 0, "indexBytes": 0, "captured": 0, "dropped": 0, "lastError": reason}));
                failures.push(NodeFailure {
                    node: agent.node.clone(),
                    reason,
                });
            }
        }
    }
    (nodes, failures)
}

/// Failures as the API writes them.
pub fn failures_json(failures: &[NodeFailure]) -> Value {
    failures
        .iter()
        .map(|f| json!({"node": f.node, "reason": f.reason}))
        .collect()
}
