//! The service map: who talks to whom over a window, per protocol, with requests, errors,
//! latency quantiles and bytes, aggregated while streaming a query's entries.
//!
//! Memory is bounded by the number of distinct edges (one accumulator each, with a
//! [`LatencySketch`] of at most a few kilobytes), never by the number of entries, and
//! [`Store::map`] bounds the edges too: it keeps the [`MAP_EDGES`] busiest (by requests) and sums
//! the rest into [`ServiceMap::other`], so a window of a million peers (a scan) costs megabytes,
//! not gigabytes. Maps built on different nodes merge exactly ([`ServiceMap::merge`]): counts add
//! and sketches merge. Bytes come from connection records only (the `tcp`/`udp` entry every
//! connection gets, on the edge of the protocol found on it), requests, errors and latency from
//! the exchanges: a connection nothing was dissected on still draws its edge (one request per
//! record, with its bytes), the bytes of a TLS connection are all it carried, not its handshake's,
//! and no byte is counted twice. A store written before connection records has none: `kubectl
//! shark reindex` adds them.

mod sketch;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use sketch::{LatencySketch, RELATIVE_ERROR};

use crate::entry::{Endpoint, Entry};
use crate::error::StoreError;
use crate::plan::Query;
use crate::store::Store;

/// What one box of the map stands for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupBy {
    /// Each pod (else service, else DNS name, else IP).
    Pod,
    /// Each owner workload (Deployment, StatefulSet, DaemonSet), else the pod.
    #[default]
    Workload,
    /// Each service, else the workload, else the pod.
    Service,
    /// Each namespace.
    Namespace,
    /// Each node: a pod folds into the node it ran on, a node is itself; an address on no known
    /// node (a service, an external peer) keeps its own box.
    Node,
    /// Each cluster: every peer the cluster knows folds into one box (kind `Cluster`, named
    /// `cluster` until `kubectl-shark` names it after the cluster it asked); external peers keep
    /// their own box.
    Cluster,
}

/// `--by` named something that is not a grouping.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot group the map by `{0}`: use pod, workload, service, namespace, node or cluster")]
pub struct UnknownGroupBy(pub String);

impl FromStr for GroupBy {
    type Err = UnknownGroupBy;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pod" => Ok(GroupBy::Pod),
            "workload" => Ok(GroupBy::Workload),
            "service" => Ok(GroupBy::Service),
            "namespace" => Ok(GroupBy::Namespace),
            "node" => Ok(GroupBy::Node),
            "cluster" => Ok(GroupBy::Cluster),
            other => Err(UnknownGroupBy(other.to_string())),
        }
    }
}

impl fmt::Display for GroupBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GroupBy::Pod => "pod",
            GroupBy::Workload => "workload",
            GroupBy::Service => "service",
            GroupBy::Namespace => "namespace",
            GroupBy::Node => "node",
            GroupBy::Cluster => "cluster",
        })
    }
}

/// One box of the map: a pod, workload, service, namespace or node, or an external peer.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Peer {
    /// The cluster it is in, when a map merges several clusters (else "").
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cluster: String,
    /// Namespace, or "" (namespaces, nodes and external peers).
    pub namespace: String,
    /// The name: pod, workload, service, namespace or node name; an external peer's DNS name or IP.
    pub name: String,
    /// `Pod`, `Workload`, `Service`, `Namespace`, `Node` or `External`.
    pub kind: String,
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.cluster.is_empty() && self.kind != "Cluster" {
            write!(f, "{}:", self.cluster)?;
        }
        if self.namespace.is_empty() {
            f.write_str(&self.name)
        } else {
            write!(f, "{}/{}", self.namespace, self.name)
        }
    }
}

/// Traffic from one peer to another over one protocol.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Edge {
    /// The side that sent the requests.
    pub src: Peer,
    /// The side that answered.
    pub dst: Peer,
    /// Protocol name (`http`, `grpc`, `dns`, …).
    pub protocol: String,
    /// Exchanges.
    pub requests: u64,
    /// Failed exchanges ([`Entry::failed`]): HTTP status ≥ 500; a non-zero gRPC status, DNS rcode,
    /// Kafka error code or Redis/Postgres error flag; or an exchange cut short (reset, timeout,
    /// unanswered).
    pub errors: u64,
    /// Payload bytes the clients sent, from the connection records alone (an exchange's own
    /// `request.size` is not added), so nothing is counted twice.
    pub request_bytes: u64,
    /// Payload bytes the servers sent, likewise.
    pub response_bytes: u64,
    /// Latency of the answered exchanges (`elapsedTime`, ms).
    pub latency: LatencySketch,
}

impl Edge {
    /// Latency at quantile `q` in milliseconds (within [`RELATIVE_ERROR`]); `None` when nothing was answered.
    pub fn latency_ms(&self, q: f64) -> Option<f64> {
        self.latency.quantile(q)
    }

    fn merge(&mut self, other: &Edge) {
        self.requests += other.requests;
        self.errors += other.errors;
        self.request_bytes += other.request_bytes;
        self.response_bytes += other.response_bytes;
        self.latency.merge(&other.latency);
    }
}

/// A peer's totals over every edge it is an end of.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerTotals {
    /// The peer.
    pub peer: Peer,
    /// Requests it answered.
    pub requests_in: u64,
    /// Requests it sent.
    pub requests_out: u64,
    /// Failed requests it answered.
    pub errors_in: u64,
    /// Failed requests it sent.
    pub errors_out: u64,
    /// Bytes it received (requests in, responses to its requests).
    pub bytes_in: u64,
    /// Bytes it sent (its requests, its responses).
    pub bytes_out: u64,
}

/// The edges a map keeps at most ([`Store::map`]): the busiest, by requests.
pub const MAP_EDGES: usize = 2000;

/// The traffic of the edges a bounded map left out, summed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OtherEdges {
    /// Edges left out (an edge left out, seen again and left out again counts twice).
    pub edges: u64,
    /// Their exchanges.
    pub requests: u64,
    /// Their failed exchanges.
    pub errors: u64,
    /// Their request bytes.
    pub request_bytes: u64,
    /// Their response bytes.
    pub response_bytes: u64,
}

impl OtherEdges {
    fn add_edge(&mut self, edge: &Edge) {
        self.edges += 1;
        self.requests += edge.requests;
        self.errors += edge.errors;
        self.request_bytes += edge.request_bytes;
        self.response_bytes += edge.response_bytes;
    }

    fn add(&mut self, other: &OtherEdges) {
        self.edges += other.edges;
        self.requests += other.requests;
        self.errors += other.errors;
        self.request_bytes += other.request_bytes;
        self.response_bytes += other.response_bytes;
    }
}

/// Who talks to whom: edges sorted by (src, dst, protocol), and per-peer totals.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceMap {
    /// What a peer stands for.
    pub by: GroupBy,
    /// Edges, sorted by source, destination and protocol.
    pub edges: Vec<Edge>,
    /// What a bounded map left out (absent when nothing was).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other: Option<OtherEdges>,
}

impl ServiceMap {
    /// An empty map grouped `by`.
    pub fn new(by: GroupBy) -> Self {
        ServiceMap {
            by,
            edges: Vec::new(),
            other: None,
        }
    }

    /// Totals per peer, sorted by peer.
    pub fn peers(&self) -> Vec<PeerTotals> {
        let mut totals: BTreeMap<&Peer, PeerTotals> = BTreeMap::new();
        for edge in &self.edges {
            let src = totals.entry(&edge.src).or_insert_with(|| PeerTotals {
                peer: edge.src.clone(),
                ..PeerTotals::default()
            });
            src.requests_out += edge.requests;
            src.errors_out += edge.errors;
            src.bytes_out += edge.request_bytes;
            src.bytes_in += edge.response_bytes;
            let dst = totals.entry(&edge.dst).or_insert_with(|| PeerTotals {
                peer: edge.dst.clone(),
                ..PeerTotals::default()
            });
            dst.requests_in += edge.requests;
            dst.errors_in += edge.errors;
            dst.bytes_in += edge.request_bytes;
            dst.bytes_out += edge.response_bytes;
        }
        totals.into_values().collect()
    }

    /// Adds `other`'s edges (a map of the same grouping built elsewhere, e.g. on another node),
    /// and what it left out; the merged map keeps at most as many edges as the larger of the two
    /// did when either was bounded, summing the rest.
    pub fn merge(&mut self, other: &ServiceMap) {
        let bounded = self.other.is_some() || other.other.is_some();
        let limit = bounded.then(|| self.edges.len().max(other.edges.len()).max(MAP_EDGES));
        let mut builder = MapBuilder::from_map(std::mem::take(self));
        builder.limit = limit;
        for edge in &other.edges {
            builder
                .edge(edge.src.clone(), edge.dst.clone(), &edge.protocol)
                .merge(edge);
        }
        if let Some(left_out) = &other.other {
            builder.other.get_or_insert_default().add(left_out);
        }
        *self = builder.finish();
    }
}

/// Accumulates entries into a [`ServiceMap`], one edge accumulator per (src, dst, protocol).
#[derive(Debug, Clone, Default)]
pub struct MapBuilder {
    by: GroupBy,
    edges: HashMap<(Peer, Peer, String), Edge>,
    /// Keep at most this many edges: see [`with_limit`](Self::with_limit).
    limit: Option<usize>,
    other: Option<OtherEdges>,
}

impl MapBuilder {
    /// An empty map grouped `by`.
    pub fn new(by: GroupBy) -> Self {
        MapBuilder {
            by,
            ..MapBuilder::default()
        }
    }

    /// Keeps the `limit` busiest edges (by requests) and sums the rest into
    /// [`ServiceMap::other`]. While building it holds up to twice as many, then folds the less
    /// busy half: an edge folded early that comes back later starts again from zero, so the kept
    /// edges' counts are exact unless they were once folded, and the totals always are.
    pub fn with_limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit.max(1));
        self
    }

    fn from_map(map: ServiceMap) -> Self {
        let edges = map
            .edges
            .into_iter()
            .map(|e| ((e.src.clone(), e.dst.clone(), e.protocol.clone()), e))
            .collect();
        MapBuilder {
            by: map.by,
            edges,
            limit: None,
            other: map.other,
        }
    }

    /// Past twice the limit, folds all but the `limit` busiest edges into `other`.
    fn fold_to(&mut self, keep: usize) {
        if self.edges.len() <= keep {
            return;
        }
        let mut edges: Vec<((Peer, Peer, String), Edge)> = self.edges.drain().collect();
        // Busiest first; ties in a fixed order, so the same entries give the same map.
        edges.sort_by(|(ka, a), (kb, b)| b.requests.cmp(&a.requests).then_with(|| ka.cmp(kb)));
        let other = self.other.get_or_insert_default();
        for (_, edge) in edges.drain(keep..) {
            other.add_edge(&edge);
        }
        self.edges = edges.into_iter().collect();
    }

    fn edge(&mut self, src: Peer, dst: Peer, protocol: &str) -> &mut Edge {
        match self.edges.entry((src, dst, protocol.to_string())) {
            std::collections::hash_map::Entry::Occupied(edge) => edge.into_mut(),
            std::collections::hash_map::Entry::Vacant(slot) => {
                let (src, dst, protocol) = slot.key().clone();
                slot.insert(Edge {
                    src,
                    dst,
                    protocol,
                    ..Edge::default()
                })
            }
        }
    }

    /// Counts one entry on its edge.
    pub fn add(&mut self, entry: &Entry) {
        if let Some(limit) = self.limit
            && self.edges.len() >= limit.saturating_mul(2)
        {
            self.fold_to(limit);
        }
        let src = peer(&entry.src, self.by);
        let dst = peer(&entry.dst, self.by);
        match connection_l7(entry) {
            // A connection record: its bytes, on the edge of the protocol found on it; a
            // connection nothing was found on is its `tcp`/`udp` edge's request.
            Some(found) => {
                let edge = self.edge(src, dst, found.unwrap_or(&entry.protocol.name));
                if found.is_none() {
                    edge.requests += 1;
                    edge.errors += u64::from(entry.failed());
                }
                edge.request_bytes += size(&entry.request);
                edge.response_bytes += size(&entry.response);
            }
            // An exchange: its count, failure and latency (its bytes are its connection's).
            None => {
                let edge = self.edge(src, dst, &entry.protocol.name);
                edge.requests += 1;
                edge.errors += u64::from(entry.failed());
                if !entry.response.is_empty() {
                    edge.latency.add(entry.elapsed_time);
                }
            }
        }
    }

    /// The map, edges sorted by (src, dst, protocol).
    pub fn finish(mut self) -> ServiceMap {
        if let Some(limit) = self.limit {
            self.fold_to(limit);
        }
        let mut edges: Vec<Edge> = self.edges.into_values().collect();
        edges.sort_by(|a, b| (&a.src, &a.dst, &a.protocol).cmp(&(&b.src, &b.dst, &b.protocol)));
        ServiceMap {
            by: self.by,
            edges,
            other: self.other,
        }
    }
}

impl Store {
    /// The service map of the entries matching `q`, grouped `by`: its [`MAP_EDGES`] busiest
    /// edges and the rest summed. Streams the entries, so memory grows with the edges kept only.
    ///
    /// A filter picks exchanges, and the bytes of their connections come along: the window's
    /// connection records are read beside what the filter matches (`(FILTER) or conn`), and one
    /// counts when it matches the filter itself or an exchange of its connection did. A record
    /// is stamped after its connection's exchanges, so each is met after them; the connections
    /// remembered are those with a matched exchange and no final record yet.
    pub fn map(&self, q: &Query, by: GroupBy) -> Result<ServiceMap, StoreError> {
        let mut builder = MapBuilder::new(by).with_limit(MAP_EDGES);
        let widened = q.filter.as_ref().and_then(|f| {
            let source = format!("({}) or conn", f.source());
            kfl::compile(&source, &crate::schema::entry_schema()).ok()
        });
        let Some(widened) = widened else {
            for entry in self.query(q)? {
                builder.add(&entry?);
            }
            return Ok(builder.finish());
        };
        let filter = q.filter.as_ref();
        let wide = Query {
            filter: Some(widened),
            ..q.clone()
        };
        let mut matched: std::collections::HashSet<(String, u64)> = Default::default();
        for entry in self.query(&wide)? {
            let entry = entry?;
            let connection = (entry.node.name.clone(), entry.stream);
            if connection_l7(&entry).is_none() {
                matched.insert(connection);
                builder.add(&entry);
                continue;
            }
            let last = entry.response.get("state").and_then(|s| s.as_str()) != Some("open");
            let of_matched = if last {
                matched.remove(&connection)
            } else {
                matched.contains(&connection)
            };
            if of_matched || filter.is_none_or(|f| f.matches(&entry)) {
                builder.add(&entry);
            }
        }
        Ok(builder.finish())
    }
}

/// The first non-empty of `names`.
fn first<'a>(names: &[&'a str]) -> &'a str {
    names.iter().copied().find(|n| !n.is_empty()).unwrap_or("")
}

/// The box `endpoint` belongs in when grouping `by` (by node: the node its pod ran on; an endpoint
/// on no known node, such as a service address, keeps its own box).
fn peer(endpoint: &Endpoint, by: GroupBy) -> Peer {
    let external = endpoint.kind.is_empty() || endpoint.kind == "External";
    if external {
        return Peer {
            name: first(&[&endpoint.name, &endpoint.ip]).to_string(),
            kind: "External".into(),
            ..Peer::default()
        };
    }
    let namespaced = |name: &str, kind: &str| Peer {
        cluster: String::new(),
        namespace: endpoint.namespace.clone(),
        name: first(&[name, &endpoint.name, &endpoint.ip]).to_string(),
        kind: if name.is_empty() {
            endpoint.kind.clone()
        } else {
            kind.to_string()
        },
    };
    match by {
        GroupBy::Pod => namespaced(&endpoint.pod, "Pod"),
        GroupBy::Workload => namespaced(&endpoint.workload, "Workload"),
        GroupBy::Service => namespaced(first(&[&endpoint.service, &endpoint.workload]), "Service"),
        GroupBy::Namespace if endpoint.namespace.is_empty() => namespaced("", ""),
        GroupBy::Namespace => Peer {
            name: endpoint.namespace.clone(),
            kind: "Namespace".into(),
            ..Peer::default()
        },
        GroupBy::Node if endpoint.node.is_empty() => namespaced("", ""),
        GroupBy::Node => Peer {
            name: endpoint.node.clone(),
            kind: "Node".into(),
            ..Peer::default()
        },
        GroupBy::Cluster => Peer {
            name: "cluster".into(),
            kind: "Cluster".into(),
            ..Peer::default()
        },
    }
}

/// Whether the exchange failed, by its protocol's rule (see [`Edge::errors`]): what the map counts
/// as an error, and a dashboard colours as one ([`Entry::failed`]).
pub fn failed(entry: &Entry) -> bool {
    entry.failed()
}

/// For a connection record (a `tcp`/`udp` entry with a `response.state`), the first protocol
/// found on it (`Some(None)` when none was); `None` for any other entry.
fn connection_l7(entry: &Entry) -> Option<Option<&str>> {
    if !matches!(entry.protocol.name.as_str(), "tcp" | "udp")
        || !entry.response.contains_key("state")
    {
        return None;
    }
    Some(
        entry
            .response
            .get("l7")
            .and_then(|l7| l7.get(0))
            .and_then(serde_json::Value::as_str),
    )
}

/// A message's `size` field, or 0.
fn size(message: &crate::entry::Message) -> u64 {
    message
        .get("size")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::{Node, Protocol};

    fn pod(ip: &str, name: &str, workload: &str, service: &str) -> Endpoint {
        Endpoint {
            ip: ip.into(),
            port: 80,
            name: name.into(),
            namespace: "shop".into(),
            kind: "Pod".into(),
            pod: name.into(),
            service: service.into(),
            workload: workload.into(),
            ..Endpoint::default()
        }
    }

    fn exchange(src: Endpoint, dst: Endpoint, protocol: &str, status: i64, ms: f64) -> Entry {
        let mut response = crate::entry::Message::new();
        response.insert("status".into(), status.into());
        response.insert("size".into(), 100.into());
        let mut request = crate::entry::Message::new();
        request.insert("size".into(), 10.into());
        Entry {
            node: Node {
                name: "worker-1".into(),
                ip: String::new(),
            },
            src,
            dst,
            protocol: Protocol {
                name: protocol.into(),
                version: String::new(),
            },
            request,
            response,
            elapsed_time: ms,
            ..Entry::default()
        }
    }

    #[test]
    fn by_cluster_every_known_peer_is_one_box_and_external_peers_keep_theirs() {
        let client = pod("10.0.0.1", "checkout-1", "checkout", "");
        let web = pod("10.0.0.2", "web-1", "web", "web");
        let outside = Endpoint {
            ip: "93.184.216.34".into(),
            port: 443,
            ..Endpoint::default()
        };
        let mut b = MapBuilder::new(GroupBy::Cluster);
        b.add(&exchange(client.clone(), web, "http", 200, 2.0));
        b.add(&exchange(client, outside, "tls", 0, 2.0));
        let map = b.finish();
        let edges: Vec<(String, String, u64)> = map
            .edges
            .iter()
            .map(|e| (e.src.to_string(), e.dst.to_string(), e.requests))
            .collect();
        assert_eq!(
            edges,
            [
                ("cluster".into(), "93.184.216.34".into(), 1),
                ("cluster".into(), "cluster".into(), 1)
            ]
        );
    }

    /// The connection record of a connection that carried `l7` (none: nothing found).
    fn record(src: Endpoint, dst: Endpoint, l7: Option<&str>) -> Entry {
        let mut entry = exchange(src, dst, "tcp", 0, 9.0);
        entry.response.remove("status");
        entry.request.insert("size".into(), 15.into());
        entry.response.insert("size".into(), 150.into());
        entry.response.insert("state".into(), "fin".into());
        if let Some(l7) = l7 {
            entry.response.insert("l7".into(), vec![l7].into());
        }
        entry
    }

    #[test]
    fn edges_count_requests_errors_bytes_per_protocol() {
        let client = pod("10.0.0.1", "checkout-1", "checkout", "");
        let web = pod("10.0.0.2", "web-1", "web", "web");
        let mut b = MapBuilder::new(GroupBy::Workload);
        b.add(&exchange(client.clone(), web.clone(), "http", 200, 2.0));
        b.add(&exchange(client.clone(), web.clone(), "http", 503, 4.0));
        b.add(&exchange(client.clone(), web.clone(), "http", 404, 6.0));
        b.add(&record(client.clone(), web.clone(), Some("http")));
        b.add(&record(client.clone(), web.clone(), Some("http")));
        b.add(&exchange(client.clone(), web.clone(), "grpc", 5, 1.0));
        b.add(&record(client.clone(), web.clone(), Some("grpc")));
        b.add(&record(client.clone(), web, None));
        let map = b.finish();
        assert_eq!(
            map.edges.len(),
            3,
            "dissected connections' records add no edge"
        );
        let tcp = map.edges.iter().find(|e| e.protocol == "tcp").cloned();
        let tcp = tcp.unwrap_or_default();
        assert_eq!(
            (tcp.requests, tcp.request_bytes, tcp.response_bytes),
            (1, 15, 150),
            "a connection nothing was found on is an edge with its bytes"
        );
        assert!(tcp.latency_ms(0.5).is_none(), "a connection is no exchange");
        let http = map
            .edges
            .iter()
            .find(|e| e.protocol == "http")
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            (http.src.to_string(), http.dst.to_string()),
            ("shop/checkout".into(), "shop/web".into())
        );
        assert_eq!(
            (
                http.requests,
                http.errors,
                http.request_bytes,
                http.response_bytes
            ),
            (3, 1, 30, 300),
            "the bytes of its two connections, not the exchanges' sizes"
        );
        let p50 = http.latency_ms(0.5).unwrap_or_default();
        assert!((p50 - 4.0).abs() <= 4.0 * RELATIVE_ERROR, "{p50}");
        let grpc = map
            .edges
            .iter()
            .find(|e| e.protocol == "grpc")
            .cloned()
            .unwrap_or_default();
        assert_eq!(grpc.errors, 1, "gRPC status 5 is an error");
        let peers = map.peers();
        let web_totals = peers
            .iter()
            .find(|p| p.peer.name == "web")
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            (
                web_totals.requests_in,
                web_totals.errors_in,
                web_totals.bytes_out
            ),
            (5, 2, 600)
        );
    }

    #[test]
    fn external_peers_show_dns_name_or_ip_and_maps_merge() {
        let client = pod("10.0.0.1", "checkout-1", "checkout", "");
        let named = Endpoint {
            ip: "93.184.216.34".into(),
            name: "example.com".into(),
            kind: "External".into(),
            ..Endpoint::default()
        };
        let bare = Endpoint {
            ip: "1.1.1.1".into(),
            ..Endpoint::default()
        };
        let mut a = MapBuilder::new(GroupBy::Namespace);
        a.add(&exchange(client.clone(), named, "tls", 0, 1.0));
        let mut b = MapBuilder::new(GroupBy::Namespace);
        b.add(&exchange(client.clone(), bare.clone(), "dns", 3, 1.0));
        b.add(&exchange(client, bare, "dns", 0, 1.0));
        let mut map = a.finish();
        map.merge(&b.finish());
        let names: Vec<(String, String, u64, u64)> = map
            .edges
            .iter()
            .map(|e| (e.src.to_string(), e.dst.to_string(), e.requests, e.errors))
            .collect();
        assert_eq!(
            names,
            vec![
                ("shop".into(), "1.1.1.1".into(), 2, 1),
                ("shop".into(), "example.com".into(), 1, 0)
            ]
        );
    }

    #[test]
    fn edges_come_sorted_whatever_order_the_entries_came_in() {
        let client = pod("10.0.0.1", "checkout-1", "checkout", "");
        let mut b = MapBuilder::new(GroupBy::Pod);
        for n in (0..40).rev() {
            let dst = Endpoint {
                ip: format!("192.0.2.{n}"),
                ..Endpoint::default()
            };
            b.add(&exchange(client.clone(), dst, "http", 200, 1.0));
        }
        let names: Vec<String> = b
            .finish()
            .edges
            .iter()
            .map(|e| e.dst.name.clone())
            .collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
    }

    #[test]
    fn group_by_parses_and_says_what_is_allowed() {
        assert_eq!("service".parse::<GroupBy>(), Ok(GroupBy::Service));
        let err = "team"
            .parse::<GroupBy>()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("pod, workload, service, namespace, node or cluster"),
            "{err}"
        );
    }

    #[test]
    fn a_bounded_map_keeps_the_busiest_edges_and_sums_the_rest() {
        let client = pod("10.0.0.1", "client", "client", "");
        let mut builder = MapBuilder::new(GroupBy::Pod).with_limit(3);
        // Three busy servers, then a scan of 100 one-request peers, then the busy ones again.
        let busy: Vec<Endpoint> = (0..3)
            .map(|n| pod(&format!("10.0.1.{n}"), &format!("busy-{n}"), "busy", ""))
            .collect();
        for server in &busy {
            for _ in 0..5 {
                builder.add(&exchange(client.clone(), server.clone(), "http", 200, 1.0));
            }
        }
        for n in 0..100 {
            let peer = pod(
                &format!("10.0.2.{n}"),
                &format!("scanned-{n}"),
                "scanned",
                "",
            );
            builder.add(&exchange(client.clone(), peer, "http", 500, 1.0));
        }
        assert!(builder.edges.len() <= 6, "held {}", builder.edges.len());
        let map = builder.finish();
        let names: Vec<&str> = map.edges.iter().map(|e| e.dst.name.as_str()).collect();
        assert_eq!(names, ["busy-0", "busy-1", "busy-2"]);
        assert!(map.edges.iter().all(|e| e.requests == 5));
        let other = map.other.clone().expect("the scan was summed");
        assert_eq!((other.edges, other.requests, other.errors), (100, 100, 100));
        // Merging keeps the bound and adds what both left out.
        let mut merged = map.clone();
        merged.merge(&map);
        assert_eq!(merged.edges.len(), 3);
        assert_eq!(merged.other.map(|o| o.requests), Some(200));
    }
}
