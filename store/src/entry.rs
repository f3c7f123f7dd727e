//! The `Entry` model: one protocol message exchange, with KFL's field names.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Per-protocol request or response fields (`method`, `path`, `headers`, `questions`, `command`, …),
/// kept as JSON so each dissector can say what its protocol has. Header maps keep the names as
/// seen on the wire; KFL looks them up case-insensitively.
pub type Message = serde_json::Map<String, serde_json::Value>;

/// One protocol message exchange (request and its response), stamped with who was on each side.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// Unique within a node's store; assigned by the index (0 before it is written).
    #[serde(default)]
    pub id: u64,
    /// Request start, nanoseconds since the Unix epoch (UTC).
    pub timestamp: i64,
    /// Time from the first request packet to the last response packet, in milliseconds.
    pub elapsed_time: f64,
    /// The node whose agent captured the exchange.
    pub node: Node,
    /// The side that sent the request (the client).
    pub src: Endpoint,
    /// The side that answered (the server).
    pub dst: Endpoint,
    /// Which protocol and version.
    pub protocol: Protocol,
    /// Request fields, per protocol.
    #[serde(default)]
    pub request: Message,
    /// Response fields, per protocol (empty when no response arrived).
    #[serde(default)]
    pub response: Message,
    /// Why the exchange failed (reset, timeout, unpaired, dissection error); absent when it did not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The flow (TCP connection or UDP conversation) the exchange travelled on, unique in the node's store.
    pub stream: u64,
    /// Which packets of the node's packet series carry the exchange.
    pub packets: PacketSpan,
}

/// The capturing node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    /// Node name (`--node`, or the Kubernetes node name).
    pub name: String,
    /// Node InternalIP, or "" when unknown.
    #[serde(default)]
    pub ip: String,
}

/// One side of an exchange and who it was at that moment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// IP address in its usual text form.
    pub ip: String,
    /// TCP or UDP port.
    pub port: u16,
    /// Pod name, else service name, else DNS name, else "".
    #[serde(default)]
    pub name: String,
    /// Kubernetes namespace, or "".
    #[serde(default)]
    pub namespace: String,
    /// `Pod`, `Service`, `Node` or `External`.
    #[serde(default)]
    pub kind: String,
    /// Pod name, or "".
    #[serde(default)]
    pub pod: String,
    /// Service name, or "".
    #[serde(default)]
    pub service: String,
    /// Owner workload (Deployment, StatefulSet, DaemonSet) name, or "".
    #[serde(default)]
    pub workload: String,
    /// The node the pod ran on (a node's own name for a `Node`), or "".
    #[serde(default)]
    pub node: String,
    /// Pod labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// Protocol name and version, e.g. `http` `1.1`, `grpc` `2`, `dns` ``.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Protocol {
    /// `http`, `grpc`, `dns`, `redis`, `postgres`, `kafka`, `tls`, `tcp`, `udp`.
    pub name: String,
    /// `1.0`, `1.1`, `2` for HTTP and gRPC; "" where a protocol has no version.
    #[serde(default)]
    pub version: String,
}

/// The packets of an exchange: numbers in the node's packet series (assigned by the store as packets
/// are written), first and last inclusive, all on the entry's `stream`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PacketSpan {
    /// Number of the first packet of the request.
    pub first: u64,
    /// Number of the last packet of the response (or of the request when unanswered).
    pub last: u64,
}
