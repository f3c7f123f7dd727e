//! The dashboard's other views over the clusters' agents: the histogram (every agent counts the
//! same slices of one closed window), one entry (from whichever agent holds it), and PCAP
//! downloads (every agent's export merged by time, as `export` does). What does not answer is
//! named; the rest is shown.

use futures::AsyncReadExt;
use futures::future::join_all;
use serde_json::{Value, json};
use shark_store::{Entry, Histogram, Query};

use super::api::ApiError;
use super::cluster::{node_failure, none_answered};
use crate::cluster::agents::{Agent, Agents};
use crate::cluster::cluster_filter::for_cluster;
use crate::cluster::failures::Failures;
use crate::cluster::fanout::{NodeFailure, Source};
use crate::cluster::fleet::{Fleet, Member};
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

/// Every agent's answer to what `ask` gives for its cluster, and the agents that failed (with
/// their member's index).
async fn ask_all(
    fleet: &Fleet,
    ask: impl Fn(&Member) -> (String, Option<Value>),
) -> (Vec<Value>, Vec<(usize, NodeFailure)>) {
    let asks = fleet
        .members
        .iter()
        .enumerate()
        .flat_map(|(index, member)| {
            let (path, body) = ask(member);
            member.agents.list.iter().map(move |agent| {
                let (path, body) = (path.clone(), body.clone());
                async move {
                    let ask = match &body {
                        Some(body) => Ask::Post(&path, body),
                        None => Ask::Get(&path),
                    };
                    let answer = read_all(&member.agents, agent, ask).await;
                    (index, member, agent, answer.and_then(|t| json_answer(&t)))
                }
            })
        });
    let mut values = Vec::new();
    let mut failures = Vec::new();
    for (index, member, agent, answer) in join_all(asks).await {
        match answer {
            Ok(value) => values.push(value),
            Err(reason) => failures.push((index, node_failure(member, agent, reason))),
        }
    }
    (values, failures)
}

/// The window `query` leaves open, closed on what the agents keep: from the oldest entry of any
/// node to just past the newest. `None` when nothing is kept.
async fn closed_window(fleet: &Fleet, query: &Query) -> Option<(i64, i64)> {
    if let (Some(from), Some(to)) = (query.from, query.to) {
        return Some((from, to));
    }
    let (statuses, _) = ask_all(fleet, |_| ("/v1/status".into(), None)).await;
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

/// The histogram of every agent's matching entries in `buckets` slices of one window, and what
/// did not answer.
pub async fn histogram(
    fleet: &Fleet,
    query: &Query,
    kfl: &str,
    buckets: usize,
) -> (Option<Histogram>, Failures) {
    let Some((from, to)) = closed_window(fleet, query).await else {
        return (None, fleet.failures(Vec::new()));
    };
    let path = format!("/v1/histogram?buckets={buckets}");
    let (answers, failed) = ask_all(fleet, |member| {
        let request = json!({"kfl": for_cluster(kfl, &member.name), "from": from, "to": to});
        (path.clone(), Some(request))
    })
    .await;
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
    (total, fleet.failures(failed))
}

/// Entry `id` of `node` with whole bodies, from the agent of cluster `cluster` (of any cluster
/// when `None`) that holds it, with its member's index; `None` when none does (and the nodes
/// that failed, which might have).
pub async fn entry(
    fleet: &Fleet,
    cluster: Option<&str>,
    node: &str,
    id: u64,
) -> (Option<(usize, Entry)>, Vec<NodeFailure>) {
    let path = format!("/v1/entry/{}/{id}", percent_encode(node));
    let asks = fleet
        .members
        .iter()
        .enumerate()
        .filter(|(_, m)| cluster.is_none_or(|c| c == m.name))
        .flat_map(|(index, member)| {
            let path = &path;
            member.agents.list.iter().map(move |agent| async move {
                let answer = read_all(&member.agents, agent, Ask::Get(path)).await;
                (index, member, agent, answer)
            })
        });
    let mut failures = Vec::new();
    for (index, member, agent, answer) in join_all(asks).await {
        match answer {
            Ok(text) => {
                if let Ok(entry) = serde_json::from_str::<Entry>(&text) {
                    return (Some((index, entry)), Vec::new());
                }
            }
            Err(reason) => failures.push(node_failure(member, agent, reason)),
        }
    }
    (None, failures)
}

/// The export of each of `fleet`'s clusters (the request `request` makes for it) merged into a
/// temporary file (rewound): classic PCAP from one cluster, pcapng naming each packet's cluster
/// and node (as `export` writes it) when several answer; and what did not answer.
pub async fn export(
    fleet: &Fleet,
    request: impl Fn(&Member) -> Value,
) -> Result<(std::fs::File, Failures), ApiError> {
    use std::io::Seek;
    let requests: Vec<Value> = fleet.members.iter().map(request).collect();
    let pcapng = fleet.labelled();
    let owned = fleet.clone();
    let runtime = tokio::runtime::Handle::current();
    // The merge writes to a plain `Write` between its awaits: it runs on a thread of its own.
    let (file, failed) = tokio::task::spawn_blocking(move || {
        let mut file = tempfile::tempfile()?;
        let sources: Vec<Source> = owned
            .members
            .iter()
            .zip(requests)
            .map(|(member, request)| Source { member, request })
            .collect();
        let (_, failed) = runtime
            .block_on(export_all(&sources, &mut file, pcapng))
            .map_err(std::io::Error::other)?;
        file.rewind()?;
        Ok::<_, std::io::Error>((file, failed))
    })
    .await
    .map_err(ApiError::store)?
    .map_err(ApiError::store)?;
    let failures = fleet.failures(failed);
    if let Some(error) = none_answered(&failures) {
        return Err(error);
    }
    Ok((file, failures))
}
