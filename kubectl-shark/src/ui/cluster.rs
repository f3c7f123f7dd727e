//! The dashboard over the clusters' agents: the clusters a filter leaves to ask, one page of
//! entries merged from every agent of each, and every agent's status. A cluster or node that does
//! not answer is named, with its reason, and the others' answer is shown as partial.

use futures::AsyncReadExt;
use futures::future::join_all;
use serde_json::{Value, json};
use shark_store::{Entry, Order, Query};

use super::api::{ApiError, time_json};
use super::cursor::{FleetKey, resume};
use crate::cluster::agents::{Agent, Agents};
use crate::cluster::cluster_filter::{for_cluster, may_match};
use crate::cluster::failures::Failures;
use crate::cluster::fanout::{NodeFailure, parse_line};
use crate::cluster::fleet::{Fleet, Member};

/// The clusters of `fleet` that `filter`'s top-level `cluster` conditions leave to ask (the
/// others are not asked, nor named as down), as `query` chooses them.
pub fn asked(fleet: &Fleet, filter: Option<&kfl::Filter>) -> Fleet {
    Fleet {
        members: fleet
            .members
            .iter()
            .filter(|m| may_match(filter, &m.name))
            .cloned()
            .collect(),
        down: fleet
            .down
            .iter()
            .filter(|d| may_match(filter, &d.cluster))
            .cloned()
            .collect(),
    }
}

/// Up to `limit` entries in `order` past `after`, merged from every agent of every cluster of
/// `fleet` by (timestamp, cluster, node, id), each with its member's index; the cursor past the
/// last; and what did not answer. Each agent is asked for one more than is shown, so whether
/// more are left is known, and each cluster gets the filter with its own name for `cluster`.
pub async fn page(
    fleet: &Fleet,
    query: &Query,
    kfl: &str,
    (order, after): (Order, Option<&FleetKey>),
    limit: usize,
) -> (Vec<(usize, Entry)>, Option<FleetKey>, Failures) {
    let order_name = match order {
        Order::NewestFirst => "newest",
        Order::OldestFirst => "oldest",
    };
    let asks = fleet
        .members
        .iter()
        .enumerate()
        .filter_map(|(index, member)| {
            let (from, to, own) = resume(&member.name, order, after, (query.from, query.to))?;
            let request = json!({"kfl": for_cluster(kfl, &member.name), "from": from, "to": to,
            "limit": limit + 1, "order": order_name, "after": own.map(|k| k.to_string())});
            Some(member.agents.list.iter().map(move |agent| {
                let request = request.clone();
                async move {
                    (
                        index,
                        member,
                        agent,
                        agent_page(&member.agents, agent, &request).await,
                    )
                }
            }))
        });
    let answers = join_all(asks.flatten()).await;
    let mut entries = Vec::new();
    let mut failed = Vec::new();
    for (index, member, agent, answer) in answers {
        match answer {
            Ok(page) => entries.extend(page.into_iter().map(|e| (index, e))),
            Err(reason) => failed.push((index, node_failure(member, agent, reason))),
        }
    }
    let key = |(index, e): &(usize, Entry)| {
        let cluster = fleet.members.get(*index).map_or("", |m| m.name.as_str());
        (e.timestamp, cluster.to_string(), e.node.name.clone(), e.id)
    };
    entries.sort_by_cached_key(key);
    if order == Order::NewestFirst {
        entries.reverse();
    }
    let next = (entries.len() > limit).then(|| {
        entries.truncate(limit);
        entries.last().map(|last| {
            let (timestamp, cluster, node, id) = key(last);
            FleetKey {
                timestamp,
                cluster,
                node,
                id,
            }
        })
    });
    (entries, next.flatten(), fleet.failures(failed))
}

/// A node of `member` that failed, named as footers name it (`CLUSTER/NODE`).
pub fn node_failure(member: &Member, agent: &Agent, reason: String) -> NodeFailure {
    NodeFailure {
        node: member.node_label(&agent.node),
        reason,
    }
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

/// Every agent's nodes as the status view shows them (each with its cluster when named; an
/// agent that failed is a row with its reason as the last error), every cluster (its nodes and
/// entries, or why it could not be reached), and what did not answer.
pub async fn status(fleet: &Fleet) -> (Vec<Value>, Vec<Value>, Failures) {
    let asks = fleet
        .members
        .iter()
        .enumerate()
        .flat_map(|(index, member)| {
            member.agents.list.iter().map(move |agent| async move {
                let mut text = String::new();
                let answer = async {
                    member
                        .agents
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
                };
                (index, member, agent, answer.await)
            })
        });
    let answers = join_all(asks).await;
    let mut nodes = Vec::new();
    let mut failed = Vec::new();
    for (index, member, agent, answer) in answers {
        let mut rows = match answer {
            Ok(status) => {
                let dropped = status["capture"]["dropped"].as_u64();
                status["store"].as_array().into_iter().flatten().map(|n| {
                    json!({"node": n["node"], "oldest": time_json(n["oldest"].as_i64()),
                        "newest": time_json(n["newest"].as_i64()), "segments": n["segments"],
                        "pcapBytes": n["pcapBytes"], "entries": n["entries"], "indexBytes": n["indexBytes"],
                        "captured": n["captured"], "dropped": dropped.or(n["dropped"].as_u64()), "lastError": null})
                }).collect()
            }
            Err(reason) => {
                failed.push((index, node_failure(member, agent, reason.clone())));
                vec![
                    json!({"node": agent.node, "oldest": null, "newest": null, "segments": 0, "pcapBytes": 0,
                    "entries": 0, "indexBytes": 0, "captured": 0, "dropped": 0, "lastError": reason}),
                ]
            }
        };
        if !member.name.is_empty() {
            for row in &mut rows {
                row["cluster"] = json!(member.name);
            }
        }
        nodes.append(&mut rows);
    }
    let failures = fleet.failures(failed);
    let clusters = clusters_json(fleet, &nodes, &failures);
    (nodes, clusters, failures)
}

/// Each named cluster: its nodes and entries, and why it did not answer (null when it did).
fn clusters_json(fleet: &Fleet, nodes: &[Value], failures: &Failures) -> Vec<Value> {
    let members = fleet.members.iter().map(|m| m.name.as_str());
    let down = fleet.down.iter().map(|d| d.cluster.as_str());
    members
        .chain(down)
        .filter(|name| !name.is_empty())
        .map(|name| {
            let mine: Vec<&Value> = nodes.iter().filter(|n| n["cluster"] == name).collect();
            let entries: u64 = mine.iter().filter_map(|n| n["entries"].as_u64()).sum();
            let reason = failures
                .clusters
                .iter()
                .find(|c| c.cluster == name)
                .map(|c| c.reason.clone());
            json!({"name": name, "nodes": mine.len(), "entries": entries, "reason": reason})
        })
        .collect()
}

/// What did not answer, as the API writes it: `{cluster, reason}` per cluster that could not be
/// reached or none of whose nodes answered, then `{node, reason}` per node (`CLUSTER/NODE`).
pub fn failures_json(failures: &Failures) -> Value {
    let clusters = failures
        .clusters
        .iter()
        .map(|c| json!({"cluster": c.cluster, "reason": c.reason}));
    let nodes = failures
        .nodes
        .iter()
        .map(|f| json!({"node": f.node, "reason": f.reason}));
    clusters.chain(nodes).collect()
}

/// 502 naming every cluster and node when none answered (and some were asked).
pub fn none_answered(failures: &Failures) -> Option<ApiError> {
    let footers = failures.footers();
    (!failures.answered && !footers.is_empty()).then(|| {
        ApiError::new(
            axum::http::StatusCode::BAD_GATEWAY,
            format!("no node answered: {}", footers.join("; ")),
        )
    })
}
