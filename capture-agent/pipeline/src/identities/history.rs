//! Per-address validity intervals, and the shared handle the pipeline resolves through.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, RwLock};

use crate::{Identity, IdentityResolver};

/// One identity holding an address from `from_ns` until `until_ns` (exclusive; `None`: still holds it).
#[derive(Debug, Clone)]
struct Tenure {
    from_ns: i64,
    until_ns: Option<i64>,
    identity: Arc<Identity>,
}

/// The identity history of every known address, plus names learned from DNS answers.
#[derive(Debug, Default)]
pub struct IdentityHistory {
    tenures: HashMap<IpAddr, Vec<Tenure>>,
    dns_names: HashMap<IpAddr, Vec<(i64, String)>>,
}

/// Most DNS names remembered per address (the newest are kept).
const MAX_DNS_NAMES_PER_IP: usize = 8;

impl IdentityHistory {
    /// An empty history.
    pub fn new() -> Self {
        Self::default()
    }

    /// `identity` holds `ip` from `from_ns` on; whoever held it before stops holding it then.
    pub fn assign(&mut self, ip: IpAddr, from_ns: i64, identity: Identity) {
        let tenures = self.tenures.entry(ip).or_default();
        if let Some(open) = tenures.iter_mut().rev().find(|t| t.until_ns.is_none()) {
            if *open.identity == identity {
                return;
            }
            open.until_ns = Some(from_ns.max(open.from_ns));
        }
        tenures.push(Tenure {
            from_ns,
            until_ns: None,
            identity: Arc::new(identity),
        });
    }

    /// Whoever holds `ip` stops holding it at `at_ns` (the pod was deleted, the service removed).
    pub fn release(&mut self, ip: IpAddr, at_ns: i64) {
        if let Some(open) = self
            .tenures
            .get_mut(&ip)
            .and_then(|t| t.iter_mut().rev().find(|t| t.until_ns.is_none()))
        {
            open.until_ns = Some(at_ns.max(open.from_ns));
        }
    }

    /// Forgets tenures that ended before `before_ns` (older than anything still stored).
    pub fn prune(&mut self, before_ns: i64) {
        self.tenures.retain(|_, tenures| {
            tenures.retain(|t| t.until_ns.is_none_or(|until| until > before_ns));
            !tenures.is_empty()
        });
    }

    /// A DNS answer seen at `ts_ns` said `name` resolves to `ip`.
    pub fn learn_dns(&mut self, ip: IpAddr, name: &str, ts_ns: i64) {
        let names = self.dns_names.entry(ip).or_default();
        if names.last().is_some_and(|(_, last)| last == name) {
            return;
        }
        names.push((ts_ns, name.to_string()));
        if names.len() > MAX_DNS_NAMES_PER_IP {
            names.remove(0);
        }
    }

    /// Who `ip` was at `ts_ns`: the identity holding it then, else the name DNS last gave it before then.
    pub fn lookup(&self, ip: IpAddr, ts_ns: i64) -> Option<Identity> {
        let held = self.tenures.get(&ip).and_then(|tenures| {
            tenures
                .iter()
                .rev()
                .find(|t| t.from_ns <= ts_ns && t.until_ns.is_none_or(|until| ts_ns < until))
        });
        if let Some(tenure) = held {
            return Some((*tenure.identity).clone());
        }
        let names = self.dns_names.get(&ip)?;
        let (_, name) = names.iter().rev().find(|(seen, _)| *seen <= ts_ns)?;
        Some(Identity {
            name: name.clone(),
            kind: "External".into(),
            ..Identity::default()
        })
    }
}

/// A history shared between its sources (which write) and the pipeline (which reads once per entry side).
#[derive(Debug, Clone, Default)]
pub struct SharedIdentities(Arc<RwLock<IdentityHistory>>);

impl SharedIdentities {
    /// Shares `history`.
    pub fn new(history: IdentityHistory) -> Self {
        SharedIdentities(Arc::new(RwLock::new(history)))
    }

    /// Changes the history (a source's update). A writer that panicked left it usable, so poison is ignored.
    pub fn update<R>(&self, change: impl FnOnce(&mut IdentityHistory) -> R) -> R {
        let mut guard = self
            .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        change(&mut guard)
    }
}

impl IdentityResolver for SharedIdentities {
    fn resolve(&self, ip: IpAddr, ts_ns: i64) -> Option<Identity> {
        let guard = self
            .0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        guard.lookup(ip, ts_ns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str) -> Identity {
        Identity {
            name: name.into(),
            namespace: "shop".into(),
            kind: "Pod".into(),
            pod: name.into(),
            ..Identity::default()
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn a_reused_ip_names_each_pod_during_its_own_tenure() {
        let mut h = IdentityHistory::new();
        h.assign(ip("10.0.0.7"), 100, pod("checkout-1"));
        h.release(ip("10.0.0.7"), 200);
        h.assign(ip("10.0.0.7"), 300, pod("payments-9"));
        assert_eq!(
            h.lookup(ip("10.0.0.7"), 150).map(|i| i.name),
            Some("checkout-1".into())
        );
        assert_eq!(
            h.lookup(ip("10.0.0.7"), 250),
            None,
            "nobody held it between the two pods"
        );
        assert_eq!(
            h.lookup(ip("10.0.0.7"), 350).map(|i| i.name),
            Some("payments-9".into())
        );
        assert_eq!(h.lookup(ip("10.0.0.7"), 50), None, "before the first pod");
    }

    #[test]
    fn a_tenure_ends_at_its_release_time_exactly() {
        let mut h = IdentityHistory::new();
        h.assign(ip("10.0.0.7"), 100, pod("checkout-1"));
        h.release(ip("10.0.0.7"), 200);
        assert_eq!(
            h.lookup(ip("10.0.0.7"), 199).map(|i| i.name),
            Some("checkout-1".into()),
            "held until its last nanosecond"
        );
        assert_eq!(
            h.lookup(ip("10.0.0.7"), 200),
            None,
            "released at 200: no longer held then"
        );
    }

    #[test]
    fn assigning_a_new_owner_ends_the_previous_tenure() {
        let mut h = IdentityHistory::new();
        h.assign(ip("10.0.0.8"), 0, pod("a"));
        h.assign(ip("10.0.0.8"), 10, pod("b"));
        assert_eq!(
            h.lookup(ip("10.0.0.8"), 5).map(|i| i.name),
            Some("a".into())
        );
        assert_eq!(
            h.lookup(ip("10.0.0.8"), 10).map(|i| i.name),
            Some("b".into())
        );
    }

    #[test]
    fn dns_names_external_peers_from_the_moment_they_were_answered() {
        let mut h = IdentityHistory::new();
        h.learn_dns(ip("93.184.216.34"), "example.com", 1_000);
        assert_eq!(h.lookup(ip("93.184.216.34"), 999), None);
        let id = h.lookup(ip("93.184.216.34"), 1_000).expect("named");
        assert_eq!(
            (id.name.as_str(), id.kind.as_str()),
            ("example.com", "External")
        );
    }

    #[test]
    fn kubernetes_identity_wins_over_dns() {
        let mut h = IdentityHistory::new();
        h.assign(ip("10.0.0.9"), 0, pod("web"));
        h.learn_dns(ip("10.0.0.9"), "web.shop.svc.cluster.local", 5);
        assert_eq!(
            h.lookup(ip("10.0.0.9"), 10).map(|i| i.name),
            Some("web".into())
        );
    }

    #[test]
    fn prune_forgets_only_ended_tenures() {
        let mut h = IdentityHistory::new();
        h.assign(ip("10.0.0.1"), 0, pod("old"));
        h.release(ip("10.0.0.1"), 10);
        h.assign(ip("10.0.0.2"), 0, pod("alive"));
        h.prune(100);
        assert_eq!(h.lookup(ip("10.0.0.1"), 5), None);
        assert_eq!(
            h.lookup(ip("10.0.0.2"), 500).map(|i| i.name),
            Some("alive".into())
        );
    }
}
