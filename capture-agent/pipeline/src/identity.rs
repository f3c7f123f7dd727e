//! Who an IP address was at a moment: the hook through which Kubernetes identities reach entries.

use std::net::IpAddr;

/// What is known about an address at a moment (Kubernetes pod, service or node).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// Pod name, else service name, else DNS name.
    pub name: String,
    /// Kubernetes namespace.
    pub namespace: String,
    /// `Pod`, `Service`, `Node` or `External`.
    pub kind: String,
    /// Pod name, or "".
    pub pod: String,
    /// Service name, or "".
    pub service: String,
    /// Owner workload name, or "".
    pub workload: String,
    /// The node a pod runs on (a node's own name for a `Node`), or "".
    pub node: String,
    /// Pod labels.
    pub labels: std::collections::BTreeMap<String, String>,
}

/// Maps an address to who it was at `ts_ns`. The pipeline asks once per entry side.
pub trait IdentityResolver: Send {
    /// The identity of `ip` at `ts_ns`, or `None` when unknown (the endpoint is then `External`).
    fn resolve(&self, ip: IpAddr, ts_ns: i64) -> Option<Identity>;
}

/// Resolves nothing: every endpoint is `External`. The default until Kubernetes watching is wired in.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoIdentity;

impl IdentityResolver for NoIdentity {
    fn resolve(&self, _ip: IpAddr, _ts_ns: i64) -> Option<Identity> {
        None
    }
}
