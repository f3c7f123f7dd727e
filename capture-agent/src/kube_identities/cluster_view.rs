//! The cluster as the watchers last saw it, turned into identity history changes.
//!
//! Each watched object asserts identities for some addresses: a pod for its pod IPs, a service for
//! its ClusterIPs, a node for its InternalIPs. An EndpointSlice names the service in front of a
//! pod. After every change the view recomputes the affected addresses and tells the history who
//! holds each from now on (or that nobody does), so the history keeps the past intact.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;

use k8s_openapi::api::core::v1::{Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;

use shark_pipeline::Identity;
use shark_pipeline::identities::IdentityHistory;

/// `namespace/name` of an object.
pub type Key = (String, String);

/// The kinds of object the view tracks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Pods: pod IPs.
    Pod,
    /// Services: ClusterIPs.
    Service,
    /// Nodes: InternalIPs.
    Node,
    /// EndpointSlices: which service fronts which pod.
    EndpointSlice,
}

/// What one object asserts.
#[derive(Debug, Clone, PartialEq)]
pub enum Fact {
    /// The object holds these addresses as this identity.
    Holds(Vec<IpAddr>, Identity),
    /// Pods (by namespace/name) that a service selects.
    Fronts {
        /// The service's name.
        service: String,
        /// The pods behind it.
        pods: Vec<Key>,
    },
}

/// The current objects of every kind, and the relists in progress.
#[derive(Debug, Default)]
pub struct ClusterView {
    objects: HashMap<Kind, HashMap<Key, Fact>>,
    relisting: HashMap<Kind, HashMap<Key, Fact>>,
}

/// One watch event, already decoded.
#[derive(Debug, Clone)]
pub enum Change<K> {
    /// Added or modified.
    Apply(K),
    /// Deleted.
    Delete(K),
    /// A relist starts (the watch was restarted, e.g. its resourceVersion expired).
    RelistStart,
    /// An object of the relist.
    RelistItem(K),
    /// The relist is complete: objects not in it are gone.
    RelistDone,
}

/// Objects the view can learn from.
pub trait Watched {
    /// Its kind.
    const KIND: Kind;
    /// Its namespace/name.
    fn key(&self) -> Key;
    /// What it asserts, if anything (a pod without an IP asserts nothing).
    fn fact(&self) -> Option<Fact>;
}

impl ClusterView {
    /// An empty view.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies one change at `at_ns`, recording the consequences in `history`.
    pub fn apply<K: Watched>(
        &mut self,
        change: Change<K>,
        at_ns: i64,
        history: &mut IdentityHistory,
    ) {
        let before = self.snapshot_ips();
        match change {
            Change::Apply(obj) => {
                let objects = self.objects.entry(K::KIND).or_default();
                match obj.fact() {
                    Some(fact) => objects.insert(obj.key(), fact),
                    None => objects.remove(&obj.key()),
                };
            }
            Change::Delete(obj) => {
                self.objects.entry(K::KIND).or_default().remove(&obj.key());
            }
            Change::RelistStart => {
                self.relisting.insert(K::KIND, HashMap::new());
            }
            Change::RelistItem(obj) => {
                if let Some(fact) = obj.fact() {
                    self.relisting
                        .entry(K::KIND)
                        .or_default()
                        .insert(obj.key(), fact);
                }
            }
            Change::RelistDone => {
                let listed = self.relisting.remove(&K::KIND).unwrap_or_default();
                self.objects.insert(K::KIND, listed);
            }
        }
        let after = self.desired();
        let mut affected: HashSet<IpAddr> = before;
        affected.extend(after.keys().copied());
        for ip in affected {
            match after.get(&ip) {
                Some(identity) => history.assign(ip, at_ns, identity.clone()),
                None => history.release(ip, at_ns),
            }
        }
    }

    fn snapshot_ips(&self) -> HashSet<IpAddr> {
        self.desired().into_keys().collect()
    }

    /// Who should hold each address now: pods (with the service fronting them), then services, then nodes.
    fn desired(&self) -> HashMap<IpAddr, Identity> {
        let mut fronted: HashMap<&Key, &str> = HashMap::new();
        for fact in self
            .objects
            .get(&Kind::EndpointSlice)
            .into_iter()
            .flat_map(HashMap::values)
        {
            if let Fact::Fronts { service, pods } = fact {
                for pod in pods {
                    fronted.insert(pod, service);
                }
            }
        }
        let mut out = HashMap::new();
        for kind in [Kind::Node, Kind::Service, Kind::Pod] {
            for (key, fact) in self.objects.get(&kind).into_iter().flatten() {
                if let Fact::Holds(ips, identity) = fact {
                    let mut identity = identity.clone();
                    if let Some(service) = fronted.get(key) {
                        identity.service = service.to_string();
                    }
                    for ip in ips {
                        out.insert(*ip, identity.clone());
                    }
                }
            }
        }
        out
    }
}

fn key_of(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> Key {
    (
        meta.namespace.clone().unwrap_or_default(),
        meta.name.clone().unwrap_or_default(),
    )
}

fn parse_ips<'a>(texts: impl Iterator<Item = &'a str>) -> Vec<IpAddr> {
    texts.filter_map(|t| t.parse().ok()).collect()
}

impl Watched for Pod {
    const KIND: Kind = Kind::Pod;

    fn key(&self) -> Key {
        key_of(&self.metadata)
    }

    fn fact(&self) -> Option<Fact> {
        let spec = self.spec.as_ref()?;
        // A host-network pod shares its node's address; the node keeps it.
        if spec.host_network == Some(true) {
            return None;
        }
        let status = self.status.as_ref()?;
        let mut ips: Vec<IpAddr> =
            parse_ips(status.pod_ips.iter().flatten().map(|p| p.ip.as_str()));
        if ips.is_empty() {
            ips = parse_ips(status.pod_ip.as_deref().into_iter());
        }
        if ips.is_empty() {
            return None;
        }
        let (namespace, name) = self.key();
        let identity = Identity {
            name: name.clone(),
            namespace,
            kind: "Pod".into(),
            pod: name,
            service: String::new(),
            workload: workload_of(self),
            node: self
                .spec
                .as_ref()
                .and_then(|s| s.node_name.clone())
                .unwrap_or_default(),
            labels: self.metadata.labels.clone().unwrap_or_default(),
        };
        Some(Fact::Holds(ips, identity))
    }
}

/// The owning Deployment, StatefulSet, DaemonSet or Job name: a ReplicaSet owner loses its
/// pod-template-hash suffix to name the Deployment.
fn workload_of(pod: &Pod) -> String {
    let Some(owner) = pod
        .metadata
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true))
    else {
        return String::new();
    };
    if owner.kind == "ReplicaSet" {
        let labels: BTreeMap<String, String> = pod.metadata.labels.clone().unwrap_or_default();
        if let Some(hash) = labels.get("pod-template-hash")
            && let Some(deployment) = owner.name.strip_suffix(&format!("-{hash}"))
        {
            return deployment.to_string();
        }
    }
    owner.name.clone()
}

impl Watched for Service {
    const KIND: Kind = Kind::Service;

    fn key(&self) -> Key {
        key_of(&self.metadata)
    }

    fn fact(&self) -> Option<Fact> {
        let spec = self.spec.as_ref()?;
        let mut texts: Vec<&str> = spec
            .cluster_ips
            .iter()
            .flatten()
            .map(String::as_str)
            .collect();
        texts.extend(spec.cluster_ip.as_deref());
        let mut ips = parse_ips(texts.into_iter());
        ips.dedup();
        if ips.is_empty() {
            return None; // headless or ExternalName: no address of its own
        }
        let (namespace, name) = self.key();
        let identity = Identity {
            name: name.clone(),
            namespace,
            kind: "Service".into(),
            service: name,
            labels: self.metadata.labels.clone().unwrap_or_default(),
            ..Identity::default()
        };
        Some(Fact::Holds(ips, identity))
    }
}

impl Watched for Node {
    const KIND: Kind = Kind::Node;

    fn key(&self) -> Key {
        key_of(&self.metadata)
    }

    fn fact(&self) -> Option<Fact> {
        let addresses = self.status.as_ref()?.addresses.as_ref()?;
        let ips = parse_ips(
            addresses
                .iter()
                .filter(|a| a.type_ == "InternalIP")
                .map(|a| a.address.as_str()),
        );
        if ips.is_empty() {
            return None;
        }
        let (_, name) = self.key();
        let identity = Identity {
            node: name.clone(),
            name,
            kind: "Node".into(),
            labels: self.metadata.labels.clone().unwrap_or_default(),
            ..Identity::default()
        };
        Some(Fact::Holds(ips, identity))
    }
}

impl Watched for EndpointSlice {
    const KIND: Kind = Kind::EndpointSlice;

    fn key(&self) -> Key {
        key_of(&self.metadata)
    }

    fn fact(&self) -> Option<Fact> {
        let service = self
            .metadata
            .labels
            .as_ref()?
            .get("kubernetes.io/service-name")?
            .clone();
        let namespace = self.metadata.namespace.clone().unwrap_or_default();
        let pods = self
            .endpoints
            .iter()
            .filter_map(|e| e.target_ref.as_ref())
            .filter(|r| r.kind.as_deref() == Some("Pod"))
            .filter_map(|r| {
                Some((
                    r.namespace.clone().unwrap_or_else(|| namespace.clone()),
                    r.name.clone()?,
                ))
            })
            .collect();
        Some(Fact::Fronts { service, pods })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(name: &str, ip: &str) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "shop", "labels": {"app": "web", "pod-template-hash": "6d4cf56db6"},
                          "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-6d4cf56db6",
                                               "uid": "u1", "controller": true}]},
            "spec": {"containers": []},
            "status": {"podIP": ip, "podIPs": [{"ip": ip}]}
        }))
        .expect("pod json")
    }

    fn service(name: &str, ip: &str) -> Service {
        serde_json::from_value(json!({"metadata": {"name": name, "namespace": "shop"}, "spec": {"clusterIP": ip, "clusterIPs": [ip]}}))
            .expect("service json")
    }

    fn slice(service: &str, pods: &[&str]) -> EndpointSlice {
        let endpoints: Vec<_> = pods
            .iter()
            .map(|p| json!({"addresses": ["10.0.0.1"], "targetRef": {"kind": "Pod", "name": p, "namespace": "shop"}}))
            .collect();
        serde_json::from_value(json!({"metadata": {"name": format!("{service}-abc"), "namespace": "shop",
                                                  "labels": {"kubernetes.io/service-name": service}},
                                     "addressType": "IPv4", "endpoints": endpoints}))
        .expect("slice json")
    }

    fn name_at(h: &IdentityHistory, ip: &str, t: i64) -> Option<String> {
        h.lookup(ip.parse().expect("ip"), t).map(|i| i.name)
    }

    #[test]
    fn an_added_pod_is_named_with_namespace_labels_and_deployment() {
        let (mut view, mut h) = (ClusterView::new(), IdentityHistory::new());
        view.apply(
            Change::Apply(pod("web-6d4cf56db6-x7k2p", "10.1.0.5")),
            100,
            &mut h,
        );
        let id = h
            .lookup("10.1.0.5".parse().expect("ip"), 150)
            .expect("named");
        assert_eq!(id.name, "web-6d4cf56db6-x7k2p");
        assert_eq!(
            (
                id.namespace.as_str(),
                id.kind.as_str(),
                id.workload.as_str()
            ),
            ("shop", "Pod", "web")
        );
        assert_eq!(id.labels.get("app").map(String::as_str), Some("web"));
        assert_eq!(name_at(&h, "10.1.0.5", 50), None, "not before it was seen");
    }

    #[test]
    fn an_ip_reused_after_deletion_keeps_each_pods_name_in_its_own_time() {
        let (mut view, mut h) = (ClusterView::new(), IdentityHistory::new());
        view.apply(Change::Apply(pod("checkout-1", "10.1.0.9")), 100, &mut h);
        view.apply(Change::Delete(pod("checkout-1", "10.1.0.9")), 200, &mut h);
        view.apply(Change::Apply(pod("payments-1", "10.1.0.9")), 300, &mut h);
        assert_eq!(name_at(&h, "10.1.0.9", 150).as_deref(), Some("checkout-1"));
        assert_eq!(name_at(&h, "10.1.0.9", 250), None);
        assert_eq!(name_at(&h, "10.1.0.9", 350).as_deref(), Some("payments-1"));
    }

    #[test]
    fn a_service_cluster_ip_is_the_service_and_endpointslices_name_the_pods_service() {
        let (mut view, mut h) = (ClusterView::new(), IdentityHistory::new());
        view.apply(Change::Apply(service("web", "10.96.0.20")), 10, &mut h);
        view.apply(Change::Apply(pod("web-1", "10.1.0.5")), 10, &mut h);
        view.apply(Change::Apply(slice("web", &["web-1"])), 20, &mut h);
        let svc = h
            .lookup("10.96.0.20".parse().expect("ip"), 30)
            .expect("service");
        assert_eq!(
            (svc.kind.as_str(), svc.service.as_str()),
            ("Service", "web")
        );
        let p = h.lookup("10.1.0.5".parse().expect("ip"), 30).expect("pod");
        assert_eq!(p.service, "web");
        let before_slice = h.lookup("10.1.0.5".parse().expect("ip"), 15).expect("pod");
        assert_eq!(before_slice.service, "", "the past is not rewritten");
    }

    #[test]
    fn a_relist_releases_pods_deleted_while_the_watch_was_down() {
        let (mut view, mut h) = (ClusterView::new(), IdentityHistory::new());
        view.apply(Change::Apply(pod("a", "10.1.0.1")), 0, &mut h);
        view.apply(Change::Apply(pod("b", "10.1.0.2")), 0, &mut h);
        view.apply(Change::<Pod>::RelistStart, 100, &mut h);
        view.apply(Change::RelistItem(pod("b", "10.1.0.2")), 100, &mut h);
        assert_eq!(
            name_at(&h, "10.1.0.1", 110).as_deref(),
            Some("a"),
            "nothing changes until the relist is done"
        );
        view.apply(Change::<Pod>::RelistDone, 120, &mut h);
        assert_eq!(name_at(&h, "10.1.0.1", 130), None);
        assert_eq!(name_at(&h, "10.1.0.1", 50).as_deref(), Some("a"));
        assert_eq!(name_at(&h, "10.1.0.2", 130).as_deref(), Some("b"));
    }

    #[test]
    fn host_network_pods_leave_the_node_address_to_the_node() {
        let (mut view, mut h) = (ClusterView::new(), IdentityHistory::new());
        let node: Node = serde_json::from_value(json!({"metadata": {"name": "worker-2"},
            "status": {"addresses": [{"type": "InternalIP", "address": "192.0.2.10"}, {"type": "Hostname", "address": "worker-2"}]}}))
            .expect("node json");
        view.apply(Change::Apply(node), 0, &mut h);
        let mut agent = pod("shark-agent-x", "192.0.2.10");
        agent.spec.as_mut().expect("spec").host_network = Some(true);
        view.apply(Change::Apply(agent), 5, &mut h);
        let id = h
            .lookup("192.0.2.10".parse().expect("ip"), 10)
            .expect("node");
        assert_eq!((id.name.as_str(), id.kind.as_str()), ("worker-2", "Node"));
    }
}
