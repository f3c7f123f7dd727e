//! Cluster maps: every agent of every cluster asked builds its node's map; they are merged here,
//! each cluster's peers named after it so the same namespace and name in two clusters stay two
//! peers, and an address one cluster could not name but another knows named as that cluster's
//! pod or service (or its box, by cluster).

use futures::AsyncReadExt;
use shark_store::{GroupBy, Query, ServiceMap};

use super::agents::{Agent, Agents};
use super::cluster_filter::for_cluster;
use super::fanout::NodeFailure;
use super::fleet::Fleet;

/// The map of `query` (filter `kfl`) grouped `by`, merged over every agent of every cluster of
/// `fleet`, and the nodes that failed (with their member's index).
pub async fn map_all(
    fleet: &Fleet,
    kfl: &str,
    query: &Query,
    by: GroupBy,
) -> (ServiceMap, Vec<(usize, NodeFailure)>) {
    let asks = fleet
        .members
        .iter()
        .enumerate()
        .flat_map(|(index, member)| {
            let request = serde_json::json!({"kfl": for_cluster(kfl, &member.name),
                "from": query.from, "to": query.to});
            member.agents.list.iter().map(move |agent| {
                let request = request.clone();
                async move {
                    let answer = node_map(&member.agents, agent, by, &request).await;
                    (index, member, agent, answer)
                }
            })
        });
    let (answers, directory) = futures::join!(futures::future::join_all(asks), fleet.directory());
    let mut map = ServiceMap::new(by);
    let mut failed = Vec::new();
    for (index, member, agent, answer) in answers {
        match answer {
            Ok(mut node_map) => {
                name_peers(&mut node_map, &member.name, fleet.labelled());
                directory.name_peers(&member.name, &mut node_map);
                map.merge(&node_map);
            }
            Err(reason) => failed.push((
                index,
                NodeFailure {
                    node: member.node_label(&agent.node),
                    reason,
                },
            )),
        }
    }
    (map, failed)
}

/// Names a cluster's peers after it: its `Cluster` box (by cluster), and, when several clusters
/// are merged (`apart`), every peer it knows, so the same namespace and name in two clusters stay
/// two peers. External peers stay as they are.
pub fn name_peers(map: &mut ServiceMap, cluster: &str, apart: bool) {
    if cluster.is_empty() {
        return;
    }
    for edge in &mut map.edges {
        for peer in [&mut edge.src, &mut edge.dst] {
            if peer.kind == "Cluster" {
                peer.name = cluster.to_string();
            }
            if apart && peer.kind != "External" {
                peer.cluster = cluster.to_string();
            }
        }
    }
}

/// One agent's map of the window.
async fn node_map(
    agents: &Agents,
    agent: &Agent,
    by: GroupBy,
    request: &serde_json::Value,
) -> Result<ServiceMap, String> {
    let mut body = Vec::new();
    let mut stream = agents
        .post(agent, &format!("/v1/map?by={by}"), request)
        .await?;
    stream
        .read_to_end(&mut body)
        .await
        .map_err(|e| format!("connection lost: {e}"))?;
    // An agent that refuses (bad request, store unavailable) answers a line of text, not a map.
    serde_json::from_slice(&body).map_err(|e| match String::from_utf8_lossy(&body).lines().next() {
        Some(line) if !line.trim_start().starts_with('{') => line.trim().to_string(),
        _ => format!("unreadable map: {e}"),
    })
}
