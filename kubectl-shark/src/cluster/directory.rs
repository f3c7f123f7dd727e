//! Who an address is in each cluster asked, from its API server (pods, and services' load
//! balancer addresses): a peer one cluster's agents could not name (traffic to another cluster)
//! is named as the one other cluster that knows its address has it, `CLUSTER:namespace/name`.
//! An address a cluster's own agents named is never renamed: identities do not cross.

use std::collections::HashMap;

use k8s_openapi::api::core::v1::{Pod, Service};
use kube::Client;
use kube::api::{Api, ListParams};
use shark_store::{Endpoint, Peer, ServiceMap};

use super::fleet::Fleet;

/// Who an address is in one cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Known {
    /// The cluster that knows it.
    pub cluster: String,
    /// Its namespace.
    pub namespace: String,
    /// The pod or service name.
    pub name: String,
    /// `Pod` or `Service`.
    pub kind: String,
}

/// Addresses known by each cluster.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    by_ip: HashMap<String, Vec<Known>>,
}

impl Fleet {
    /// The addresses each cluster's API server knows, when several clusters answer (one cluster
    /// has nobody else to name its peers).
    pub async fn directory(&self) -> Directory {
        if !self.labelled() {
            return Directory::default();
        }
        let clusters: Vec<(String, Client)> = self
            .members
            .iter()
            .filter_map(|m| Some((m.name.clone(), m.api.clone()?)))
            .collect();
        Directory::list(&clusters).await
    }
}

impl Directory {
    /// Lists the pods and load-balanced services of each `(cluster, client)`; a cluster whose API
    /// server refuses (no right to list pods everywhere) adds nothing.
    pub async fn list(clusters: &[(String, Client)]) -> Directory {
        let lists =
            futures::future::join_all(clusters.iter().map(|(cluster, client)| async move {
                let pods = Api::<Pod>::all(client.clone())
                    .list(&ListParams::default())
                    .await
                    .map(|l| l.items)
                    .unwrap_or_default();
                let services = Api::<Service>::all(client.clone())
                    .list(&ListParams::default())
                    .await
                    .map(|l| l.items)
                    .unwrap_or_default();
                (cluster, pods, services)
            }))
            .await;
        let mut directory = Directory::default();
        for (cluster, pods, services) in lists {
            for pod in pods {
                let ips = pod
                    .status
                    .and_then(|s| s.pod_ips)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|ip| ip.ip);
                directory.add(cluster, &pod.metadata, "Pod", ips);
            }
            for service in services {
                let ips = service
                    .status
                    .and_then(|s| s.load_balancer)
                    .and_then(|lb| lb.ingress)
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|ingress| ingress.ip);
                directory.add(cluster, &service.metadata, "Service", ips);
            }
        }
        directory
    }

    fn add(
        &mut self,
        cluster: &str,
        meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
        kind: &str,
        ips: impl Iterator<Item = String>,
    ) {
        for ip in ips {
            let known = Known {
                cluster: cluster.to_string(),
                namespace: meta.namespace.clone().unwrap_or_default(),
                name: meta.name.clone().unwrap_or_default(),
                kind: kind.to_string(),
            };
            let all = self.by_ip.entry(ip).or_default();
            if !all.contains(&known) {
                all.push(known);
            }
        }
    }

    /// Who `ip`, seen but not named in cluster `from`, is: the one other cluster that knows it
    /// (none when no other cluster or several do).
    pub fn other(&self, from: &str, ip: &str) -> Option<&Known> {
        match self.by_ip.get(ip)?.as_slice() {
            [one] if one.cluster != from => Some(one),
            _ => None,
        }
    }

    /// Names `endpoint`, seen in cluster `from` without a name, after the other cluster that knows
    /// its address; returns that cluster.
    pub fn name_endpoint(&self, from: &str, endpoint: &mut Endpoint) -> Option<String> {
        if !endpoint.name.is_empty() {
            return None;
        }
        let known = self.other(from, &endpoint.ip)?;
        endpoint.name.clone_from(&known.name);
        endpoint.namespace.clone_from(&known.namespace);
        endpoint.kind.clone_from(&known.kind);
        if known.kind == "Pod" {
            endpoint.pod.clone_from(&known.name);
        } else {
            endpoint.service.clone_from(&known.name);
        }
        Some(known.cluster.clone())
    }

    /// Names `entry`'s unnamed sides (seen in cluster `from`) after the other cluster that knows
    /// their address; returns, per side (src, dst), that cluster.
    pub fn name_entry(&self, from: &str, entry: &mut shark_store::Entry) -> [Option<String>; 2] {
        [
            self.name_endpoint(from, &mut entry.src),
            self.name_endpoint(from, &mut entry.dst),
        ]
    }

    /// Renames the external peers of cluster `from`'s map that are a bare address another
    /// cluster knows: its cluster's box when the map is `by cluster`, else the pod or service.
    pub fn name_peers(&self, from: &str, map: &mut ServiceMap) {
        let by_cluster = map.by == shark_store::GroupBy::Cluster;
        for edge in &mut map.edges {
            for peer in [&mut edge.src, &mut edge.dst] {
                if peer.kind != "External" {
                    continue;
                }
                let Some(known) = self.other(from, &peer.name) else {
                    continue;
                };
                *peer = if by_cluster {
                    Peer {
                        cluster: known.cluster.clone(),
                        name: known.cluster.clone(),
                        kind: "Cluster".into(),
                        ..Peer::default()
                    }
                } else {
                    Peer {
                        cluster: known.cluster.clone(),
                        namespace: known.namespace.clone(),
                        name: known.name.clone(),
                        kind: known.kind.clone(),
                    }
                };
            }
        }
    }
}
