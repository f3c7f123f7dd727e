//! Capture scope (`--pods REGEX`, `--namespaces a,b`): keep only the traffic of chosen pods.
//!
//! The scope is applied to each packet before it reaches the pipeline and the store, from the
//! watched pod IPs as they were at the packet's own time: a packet is kept when either of its
//! addresses belonged to a pod in scope. Everything else (other pods, nodes, ARP, traffic
//! between external peers) is neither stored nor indexed.

use std::net::IpAddr;

use regex::Regex;

use crate::decode::{link_payload, parse_ip};
use crate::identities::SharedIdentities;
use crate::{IdentityResolver, Packet};

/// Which pods' traffic to keep.
#[derive(Debug, Clone)]
pub struct CaptureScope {
    /// Pod names must match this (anchored at both ends).
    pods: Option<Regex>,
    /// Pods must be in one of these namespaces (empty: any).
    namespaces: Vec<String>,
}

/// A `--pods` pattern that is not a regular expression.
#[derive(Debug, thiserror::Error)]
#[error("--pods `{pattern}` is not a regular expression: {source}")]
pub struct ScopeError {
    pattern: String,
    #[source]
    source: regex::Error,
}

impl CaptureScope {
    /// The scope of `--pods` and `--namespaces`; `None` when neither narrows anything.
    pub fn new(pods: Option<&str>, namespaces: &[String]) -> Result<Option<Self>, ScopeError> {
        if pods.is_none() && namespaces.is_empty() {
            return Ok(None);
        }
        let pods = pods
            .map(|p| {
                Regex::new(&format!("^(?:{p})$")).map_err(|source| ScopeError {
                    pattern: p.to_string(),
                    source,
                })
            })
            .transpose()?;
        Ok(Some(CaptureScope {
            pods,
            namespaces: namespaces.to_vec(),
        }))
    }

    /// Whether `ip` was a pod in scope at `ts_ns`.
    fn in_scope(&self, ip: IpAddr, ts_ns: i64, identities: &SharedIdentities) -> bool {
        let Some(who) = identities.resolve(ip, ts_ns) else {
            return false;
        };
        who.kind == "Pod"
            && (self.namespaces.is_empty() || self.namespaces.contains(&who.namespace))
            && self.pods.as_ref().is_none_or(|re| re.is_match(&who.pod))
    }

    /// Whether to keep `packet`: one of its addresses was a pod in scope when it was captured.
    pub fn keeps(&self, packet: &Packet<'_>, identities: &SharedIdentities) -> bool {
        let Ok((network, payload)) = link_payload(packet.linktype, packet.data) else {
            return false;
        };
        let Ok(ip) = parse_ip(network, payload) else {
            return false;
        };
        self.in_scope(ip.src, packet.ts_ns, identities)
            || self.in_scope(ip.dst, packet.ts_ns, identities)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Identity;
    use crate::identities::IdentityHistory;

    fn pod(name: &str, namespace: &str) -> Identity {
        Identity {
            name: name.into(),
            pod: name.into(),
            namespace: namespace.into(),
            kind: "Pod".into(),
            ..Identity::default()
        }
    }

    /// An Ethernet/IPv4/UDP frame from `src` to `dst`.
    fn frame(src: [u8; 4], dst: [u8; 4]) -> Vec<u8> {
        let mut f = vec![0u8; 14];
        f[12] = 0x08;
        let mut ip = vec![0x45, 0, 0, 28, 0, 0, 0x40, 0, 64, 17, 0, 0];
        ip.extend_from_slice(&src);
        ip.extend_from_slice(&dst);
        f.extend_from_slice(&ip);
        f.extend_from_slice(&[0x30, 0x39, 0x00, 0x35, 0, 8, 0, 0]);
        f
    }

    fn identities() -> SharedIdentities {
        let mut h = IdentityHistory::new();
        h.assign(
            "10.0.0.1".parse().expect("ip"),
            0,
            pod("checkout-1", "shop"),
        );
        h.assign(
            "10.0.0.2".parse().expect("ip"),
            0,
            pod("payments-1", "shop"),
        );
        h.assign(
            "10.0.0.3".parse().expect("ip"),
            0,
            pod("coredns-1", "kube-system"),
        );
        h.assign(
            "10.0.0.9".parse().expect("ip"),
            0,
            Identity {
                name: "worker-1".into(),
                kind: "Node".into(),
                ..Identity::default()
            },
        );
        SharedIdentities::new(h)
    }

    fn keeps(scope: &CaptureScope, src: [u8; 4], dst: [u8; 4]) -> bool {
        let data = frame(src, dst);
        scope.keeps(
            &Packet {
                ts_ns: 10,
                orig_len: data.len() as u32,
                linktype: 1,
                data: &data,
            },
            &identities(),
        )
    }

    #[test]
    fn pods_and_namespaces_narrow_what_is_kept() {
        let by_name = CaptureScope::new(Some("payments-.*"), &[])
            .expect("valid")
            .expect("narrows");
        assert!(
            keeps(&by_name, [10, 0, 0, 1], [10, 0, 0, 2]),
            "traffic to a matching pod"
        );
        assert!(
            !keeps(&by_name, [10, 0, 0, 1], [10, 0, 0, 3]),
            "neither side matches"
        );
        let by_ns = CaptureScope::new(None, &["kube-system".to_string()])
            .expect("valid")
            .expect("narrows");
        assert!(keeps(&by_ns, [10, 0, 0, 1], [10, 0, 0, 3]));
        assert!(
            !keeps(&by_ns, [10, 0, 0, 1], [10, 0, 0, 9]),
            "a node is not a pod"
        );
        assert!(
            !keeps(&by_ns, [192, 0, 2, 1], [192, 0, 2, 2]),
            "unknown addresses are not kept"
        );
    }

    #[test]
    fn no_flags_mean_no_scope_and_a_bad_regex_is_named() {
        assert!(CaptureScope::new(None, &[]).expect("valid").is_none());
        let err = CaptureScope::new(Some("pay(ments"), &[])
            .expect_err("bad regex")
            .to_string();
        assert!(err.contains("pay(ments"), "{err}");
    }
}
