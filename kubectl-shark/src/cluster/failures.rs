//! What did not answer a command over several clusters: clusters that could not be reached or
//! none of whose nodes answered, nodes that did not, and the exit status that follows.

use super::fanout::{NodeFailure, footer};
use super::fleet::{ClusterDown, Fleet};

impl Fleet {
    /// Sorts the node failures of an answer (`(member index, failure)`): a cluster none of whose
    /// nodes answered is down as a whole (with its first node's reason); the other failures stay
    /// per node. Returns every failure line (clusters first) and whether any cluster is down.
    pub fn failures(&self, nodes: Vec<(usize, NodeFailure)>) -> Failures {
        let mut down = self.down.clone();
        let mut failed_nodes = Vec::new();
        for (index, member) in self.members.iter().enumerate() {
            let mine: Vec<NodeFailure> = nodes
                .iter()
                .filter(|(i, _)| *i == index)
                .map(|(_, f)| f.clone())
                .collect();
            if !member.name.is_empty() && mine.len() >= member.agents.list.len() && !mine.is_empty()
            {
                down.push(ClusterDown {
                    cluster: member.name.clone(),
                    reason: format!("no node answered ({})", footer(&mine[0])),
                });
            } else {
                failed_nodes.extend(mine);
            }
        }
        let answered = self.members.iter().enumerate().any(|(index, member)| {
            nodes.iter().filter(|(i, _)| *i == index).count() < member.agents.list.len()
        });
        Failures {
            clusters: down,
            nodes: failed_nodes,
            answered,
        }
    }
}

/// What did not answer a command.
#[derive(Debug, Default)]
pub struct Failures {
    /// Clusters that did not answer at all.
    pub clusters: Vec<ClusterDown>,
    /// Nodes that did not answer, in clusters that did.
    pub nodes: Vec<NodeFailure>,
    /// Whether any node answered.
    pub answered: bool,
}

impl Failures {
    /// The footer lines: unreachable clusters, then nodes.
    pub fn footers(&self) -> Vec<String> {
        self.clusters
            .iter()
            .map(ClusterDown::footer)
            .chain(self.nodes.iter().map(footer))
            .collect()
    }

    /// Fails when nothing answered (exit status 2); else [`Partial`] when a cluster did not
    /// answer (exit status 3); else fine.
    pub fn outcome(&self) -> anyhow::Result<()> {
        if !self.answered {
            let what = if self.nodes.is_empty() {
                "cluster"
            } else {
                "node"
            };
            anyhow::bail!("no {what} answered: {}", self.footers().join("; "));
        }
        if !self.clusters.is_empty() {
            return Err(Partial(self.clusters.iter().map(|c| c.cluster.clone()).collect()).into());
        }
        Ok(())
    }
}

/// The answer was printed but lacks the clusters named: `kubectl-shark` exits with status 3.
#[derive(Debug, thiserror::Error)]
#[error("partial answer: cluster {} did not answer", .0.join(", "))]
pub struct Partial(pub Vec<String>);
