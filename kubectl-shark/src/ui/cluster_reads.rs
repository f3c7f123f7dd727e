//! The dashboard's other views over the cluster's agents: the map (merged exactly), the
//! histogram (every agent counts the same slices of one closed window), one entry (from whichever
//! agent holds it), and PCAP downloads (every agent's export merged by time, as `export` does).
//! Agents that do not answer are named; the rest is shown.

use futures::AsyncReadExt;
use futures::future::join_all;
use serde_json::{Value, json};
use shark_store::{Entry, Histogram, Query};

use super::api::ApiError;
use crate::cluster::agents::{Agent, Agents};
use crate::cluster::fanout::{NodeFailure, Source, footer};
use crate::cluster::fleet::Fleet;
use crate::cluster::follow::percent_encode;
use crate::cluster::pcap_merge::export_all;

/// An agent's whole answer as text, or why it gave none.
async fn read_all(agents: &Agents, agent: &Agent, ask: Ask<'_>) -> Result<String, String> {
    let (method, path, body) = match ask {
        Ask::Get(path) => (http::Method::GET, path, Vec::new()),
        Ask::Post(path, body) => (
            http::Method::POST,
            path,
            serde_json::to_vec(body).map_err(|e| e.to_string())?,
        ),
    };
    let mut stream = agents.call(agent, method, path, body).await?;
    let mut text = String::new();
    stream
        .read_to_string(&mut text)
        .await
        .map_err(|e| format!("connection lost: {e}"))?;
    Ok(text)
}

/// A request to every agent.
#[derive(Clone, Copy)]
enum Ask<'a> {
    Get(&'a str),
    Post(&'a str, &'a Value),
}

/// A JSON answer, or the agent's one-line refusal.
fn json_answer(text: &str) -> Result<Value, String> {
    serde_json::from_str(text).map_err(|_| {
        text.lines()
            .next()
            .unwrap_or("empty answer")
            .trim()
            .to_string()
    })
}

/// 502 naming every agent when none answered.
pub fn none_answered(agents: &Agents, failures: &[NodeFailure]) -> Option<ApiError> {
    (!failures.is_empty() && failures.len() == agents.list.len()).then(|| {
        let all: Vec<String> = failures.iter().map(footer).collect();
        ApiError::new(
            axum::http::StatusCode::BAD_GATEWAY,
            format!("no node answered: {}", all.join("; ")),
        )
    })
}

/// Every agent's answer to `ask`, and the agents that failed.
async fn ask_all(agents: &Agents, ask: Ask<'_>) -> (Vec<Value>, Vec<NodeFailure>) {
    let answers = join_all(
        agents
            .list
            .iter()
            .map(|agent| async move { json_answer(&read_all(agents, agent, ask).await?) }),
    )
    .await;
    let mut values = Vec::new();
    let mut failures = Vec::new();
    for (agent, answer) in agents.list.iter().zip(answers) {
        match answer {
            Ok(value) => values.push(value),
            Err(reason) => failures.push(NodeFailure {
                node: agent.node.clone(),
                reason,
            }),
        }
    }
    (values, failures)
}

/// The window `query` leaves open, closed on what the agents keep: from the oldest entry of any
/// node to just past the newest. `None` when nothing is kept.
async fn closed_window(agents: &Agents, query: &Query) -> Option<(i64, i64)> {
    if let (Some(from), Some(to)) = (query.from, query.to) {
        return Some((from, to));
    }
    let (statuses, _) = ask_all(agents, Ask::Get("/v1/status")).await;
    let nodes: Vec<&Value> = statuses
        .iter()
        .flat_map(|s| s["store"].as_array().into_iter().flatten())
        .collect();
    let oldest = nodes.iter().filter_map(|n| n["oldest"].as_i64()).min()?;
    let newest = nodes.iter().filter_map(|n| n["newest"].as_i64()).max()?;
    let (from, to) = (
        query.from.unwrap_or(oldest),
        query.to.unwrap_or(newest.saturating_add(1)),
    );
    (from < to).then_some((from, to))
}

/// The histogram of every agent's matching entries in `buckets` slices of one window, and the
/// agents that failed.
pub async fn histogram(
    agents: &Agents,
    query: &Query,
    kfl: &str,
    buckets: usize,
) -> (Option<Histogram>, Vec<NodeFailure>) {
    let Some((from, to)) = closed_window(agents, query).await else {
        return (None, Vec::new());
    };
    let request = json!({"kfl": kfl, "from": from, "to": to});
    let path = format!("/v1/histogram?buckets={buckets}");
    let (answers, failures) = ask_all(agents, Ask::Post(&path, &request)).await;
    let mut total: Option<Histogram> = None;
    let counts = |v: &Value| -> Vec<u64> {
        v.as_array()
            .into_iter()
            .flatten()
            .map(|n| n.as_u64().unwrap_or(0))
            .collect()
    };
    for answer in answers.iter().filter(|a| !a.is_null()) {
        let (entries, errors) = (counts(&answer["entries"]), counts(&answer["errors"]));
        match &mut total {
            None => {
                total = Some(Histogram {
                    from,
                    to,
                    width: answer["width"].as_i64().unwrap_or(1),
                    entries,
                    errors,
                });
            }
            Some(sum) => {
                for (all, n) in sum.entries.iter_mut().zip(entries) {
                    *all += n;
                }
                for (all, n) in sum.errors.iter_mut().zip(errors) {
                    *all += n;
                }
            }
        }
    }
    (total, failures)
}

/// Entry `id` of `node` with whole bodies, from the agent that holds it; `None` when none does
/// (and the agents that failed, which might have).
pub async fn entry(agents: &Agents, node: &str, id: u64) -> (Option<Entry>, Vec<NodeFailure>) {
    let path = format!("/v1/entry/{}/{id}", percent_encode(node));
    let answers = join_all(
        agents
            .list
            .iter()
            .map(|agent| read_all(agents, agent, Ask::Get(&path))),
    )
    .await;
    let mut failures = Vec::new();
    for (agent, answer) in agents.list.iter().zip(answers) {
        match answer {
            Ok(text) => {
                if let Ok(entry) = serde_json::from_str::<Entry>(&text) {
                    return (Some(entry), Vec::new());
                }
            }
            Err(reason) => failures.push(NodeFailure {
                node: agent.node.clone(),
                reason,
            }),
        }
    }
    (None, failures)
}

/// The agents as the one cluster of a fleet (what the fleet-wide merges take).
pub fn one_cluster(agents: &Agents) -> Fleet {
    let mut fleet = Fleet::default();
    fleet.add(String::new(), None, Ok(agents.clone()));
    fleet
}

/// Every agent's export of `request` merged into a temporary file (rewound), and the agents
/// that failed.
pub async fn export(
    agents: &Agents,
    request: Value,
) -> Result<(std::fs::File, Vec<NodeFailure>), ApiError> {
    use std::io::Seek;
    let fleet = one_cluster(agents);
    let runtime = tokio::runtime::Handle::current();
    // The merge writes to a plain `Write` between its awaits: it runs on a thread of its own.
    let spooled = tokio::task::spawn_blocking(move || {
        let mut file = tempfile::tempfile()?;
        let sources = [Source {
            member: &fleet.members[0],
            request,
        }];
        let (_, failed) = runtime
            .block_on(export_all(&sources, &mut file, false))
            .map_err(std::io::Error::other)?;
        file.rewind()?;
        Ok::<_, std::io::Error>((file, failed.into_iter().map(|(_, f)| f).collect::<Vec<_>>()))
    })
    .await
    .map_err(ApiError::store)?
    .map_err(ApiError::store)?;
    if let Some(error) = none_answered(agents, &spooled.1) {
        return Err(error);
    }
    Ok(spooled)
}
