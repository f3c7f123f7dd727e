//! Several clusters at once: which clusters a command asks (`--context a,b`, `--all-contexts`,
//! `--agents CLUSTER=URL,…`), the agents found in each, and the clusters that could not be reached.
//!
//! Identities never cross clusters: each cluster's agents name their own traffic, and what a
//! command prints says which cluster an entry, node or peer belongs to.

use std::path::PathBuf;
use std::time::Duration;

use kube::Client;

use super::agents::Agents;

/// A cluster to ask and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Its name in entries and tables (`cluster`): the context's cluster name, or the name given
    /// with `--context NAME=CONTEXT` or `--agents NAME=URL`; "" when one cluster is asked
    /// without naming it (then nothing is labelled).
    pub name: String,
    /// How to reach its agents.
    pub reach: Reach,
}

/// How to reach one cluster's agents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// Through the API server of this kubeconfig context (`None`: the current one).
    Context(Option<String>),
    /// At these URLs directly.
    Urls(Vec<String>),
}

/// `--agents` values grouped by cluster: `NAME=URL` entries per name, in first-seen order; plain
/// URLs make one unnamed cluster (and may not be mixed with named ones).
pub fn direct_targets(values: &[String]) -> anyhow::Result<Vec<Target>> {
    let mut targets: Vec<Target> = Vec::new();
    for value in values {
        let (name, url) = match value.split_once('=') {
            Some((name, url)) if !name.contains("://") => (name.trim().to_string(), url),
            _ => (String::new(), value.as_str()),
        };
        anyhow::ensure!(
            !name.is_empty() || targets.iter().all(|t| t.name.is_empty()),
            "--agents: `{value}` names no cluster while others do: write CLUSTER=URL for each"
        );
        anyhow::ensure!(
            name.is_empty() || targets.iter().all(|t| !t.name.is_empty()),
            "--agents: `{value}` names a cluster while others do not: write CLUSTER=URL for each"
        );
        match targets.iter_mut().find(|t| t.name == name) {
            Some(Target {
                reach: Reach::Urls(urls),
                ..
            }) => urls.push(url.to_string()),
            _ => targets.push(Target {
                name,
                reach: Reach::Urls(vec![url.to_string()]),
            }),
        }
    }
    Ok(targets)
}

/// Splits `targets` into those to ask and those `filter`'s top-level `cluster` conditions exclude
/// (never contacted: the filter is pushed down to the choice of clusters).
pub fn split_asked(
    targets: Vec<Target>,
    filter: Option<&kfl::Filter>,
) -> (Vec<Target>, Vec<Target>) {
    targets
        .into_iter()
        .partition(|t| super::cluster_filter::may_match(filter, &t.name))
}

/// How the clusters reached through kubeconfig contexts are found: their agents can be looked
/// for again (the dashboard asks a cluster that was down once more while it runs).
#[derive(Debug, Clone, Default)]
pub struct ContextReach {
    /// `--kubeconfig`, when given.
    pub kubeconfig: Option<PathBuf>,
    /// The agents' namespace.
    pub namespace: String,
    /// How long a cluster may take to answer.
    pub timeout: Duration,
    /// Each cluster's name and its context (`None`: the current one).
    pub contexts: Vec<(String, Option<String>)>,
}

impl ContextReach {
    /// Finds the agents of every cluster, all at once.
    pub async fn discover(&self) -> Fleet {
        let kubeconfig = self.kubeconfig.as_deref();
        let clients =
            futures::future::join_all(self.contexts.iter().map(|(name, context)| async move {
                let client = super::client(kubeconfig, context.as_deref()).await;
                (name.clone(), client)
            }))
            .await;
        Fleet::discover(clients, &self.namespace, self.timeout).await
    }

    /// The same reach, narrowed to the clusters `down` names.
    pub fn of(&self, down: &[ClusterDown]) -> ContextReach {
        ContextReach {
            contexts: self
                .contexts
                .iter()
                .filter(|(name, _)| down.iter().any(|d| &d.cluster == name))
                .cloned()
                .collect(),
            ..self.clone()
        }
    }
}

/// One cluster whose agents were found.
#[derive(Clone)]
pub struct Member {
    /// The cluster's name ("" when unnamed).
    pub name: String,
    /// Its agents.
    pub agents: Agents,
    /// Its API server (none with `--agents`).
    pub api: Option<Client>,
}

impl Member {
    /// How a node of this cluster is named in footers: `CLUSTER/NODE` (just `NODE` when unnamed).
    pub fn node_label(&self, node: &str) -> String {
        if self.name.is_empty() {
            node.to_string()
        } else {
            format!("{}/{node}", self.name)
        }
    }
}

/// A cluster that did not answer, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterDown {
    /// The cluster's name.
    pub cluster: String,
    /// Why (expired credentials, no agents deployed, API server down, every node failed).
    pub reason: String,
}

impl ClusterDown {
    /// Its footer line.
    pub fn footer(&self) -> String {
        format!("cluster {} unreachable: {}", self.cluster, self.reason)
    }
}

/// The clusters a command asks: those whose agents were found, and those that could not be reached.
#[derive(Clone, Default)]
pub struct Fleet {
    /// Clusters whose agents were found, in the order given.
    pub members: Vec<Member>,
    /// Clusters that could not be reached.
    pub down: Vec<ClusterDown>,
}

impl Fleet {
    /// Finds the agents in `namespace` of each cluster, all at once; a cluster whose client could
    /// not be made or whose agents could not be found is down, with its reason.
    pub async fn discover(
        clusters: Vec<(String, anyhow::Result<Client>)>,
        namespace: &str,
        timeout: Duration,
    ) -> Fleet {
        let found = futures::future::join_all(clusters.into_iter().map(|(name, client)| async {
            let (api, agents) = match client {
                Ok(client) => {
                    let found = Agents::discover(client.clone(), namespace, timeout);
                    let agents = tokio::time::timeout(timeout, found)
                        .await
                        .map_err(|_| format!("no answer within {}s", timeout.as_secs()))
                        .and_then(|found| found.map_err(|e| one_line(&e.to_string())));
                    (Some(client), agents)
                }
                Err(e) => (None, Err(one_line(&format!("{e:#}")))),
            };
            (name, api, agents)
        }))
        .await;
        let mut fleet = Fleet::default();
        for (name, api, agents) in found {
            fleet.add(name, api, agents);
        }
        fleet
    }

    /// Adds a cluster (and its API server, when reached through one): a member when its agents
    /// were found, else down with the reason.
    pub fn add(&mut self, name: String, api: Option<Client>, agents: Result<Agents, String>) {
        match agents {
            Ok(agents) => self.members.push(Member { name, api, agents }),
            Err(reason) => self.down.push(ClusterDown {
                cluster: name,
                reason,
            }),
        }
    }

    /// Whether answers are labelled with their cluster (a table's CLUSTER column): more than
    /// one cluster answers.
    pub fn labelled(&self) -> bool {
        self.members.len() > 1
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agents_urls_are_grouped_by_the_cluster_they_name() {
        let values: Vec<String> = [
            "prod=http://10.0.0.1:8898",
            "staging=http://10.1.0.1:8898",
            "prod=http://10.0.0.2:8898",
        ]
        .map(String::from)
        .to_vec();
        let targets = direct_targets(&values).expect("parses");
        assert_eq!(
            targets,
            [
                Target {
                    name: "prod".into(),
                    reach: Reach::Urls(vec![
                        "http://10.0.0.1:8898".into(),
                        "http://10.0.0.2:8898".into()
                    ])
                },
                Target {
                    name: "staging".into(),
                    reach: Reach::Urls(vec!["http://10.1.0.1:8898".into()])
                },
            ]
        );
        let plain = direct_targets(&["http://a:1".into(), "http://b:1".into()]).expect("parses");
        assert_eq!(plain.len(), 1);
        assert_eq!(plain[0].name, "");
        let mixed = direct_targets(&["prod=http://a:1".into(), "http://b:1".into()]);
        assert!(mixed.is_err());
    }
}
