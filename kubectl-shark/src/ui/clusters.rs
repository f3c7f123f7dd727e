//! The clusters the dashboard asks, as they stand: one that could not be reached when the
//! dashboard started (expired credentials, an API server restarting, agents not deployed yet) is
//! looked for again every [`RETRY_EVERY`] and joins every view once its agents are found.
//! A Live stream already open keeps the clusters it started with.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::cluster::fleet::{ContextReach, Fleet};

/// How often clusters that are down are looked for again.
pub const RETRY_EVERY: Duration = Duration::from_secs(10);

/// The clusters found so far and how to look for those still down.
pub struct Clusters {
    now: RwLock<Arc<Fleet>>,
    reach: ContextReach,
}

impl Clusters {
    /// `fleet` as discovered, and how its clusters reached through contexts were found
    /// (clusters reached at `--agents` URLs are never down as a whole at the start).
    pub fn new(fleet: Fleet, reach: ContextReach) -> Self {
        Clusters {
            now: RwLock::new(Arc::new(fleet)),
            reach,
        }
    }

    /// The clusters as they stand now; one view uses one snapshot throughout.
    pub fn fleet(&self) -> Arc<Fleet> {
        match self.now.read() {
            Ok(now) => now.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Looks for the agents of every down cluster again: those found become members, in the
    /// order the clusters were given; the others keep their latest reason. Returns whether any
    /// cluster is still down.
    pub async fn retry_down(&self) -> bool {
        let before = self.fleet();
        let reach = self.reach.of(&before.down);
        if reach.contexts.is_empty() {
            return false;
        }
        let found = reach.discover().await;
        let mut next = Fleet::clone(&before);
        for down in found.down {
            if let Some(known) = next.down.iter_mut().find(|d| d.cluster == down.cluster) {
                known.reason = down.reason;
            }
        }
        for member in found.members {
            next.down.retain(|d| d.cluster != member.name);
            next.members.push(member);
        }
        let given = |name: &str| self.reach.contexts.iter().position(|(n, _)| n == name);
        next.members.sort_by_key(|m| given(&m.name));
        let still_down = !next.down.is_empty();
        match self.now.write() {
            Ok(mut now) => *now = Arc::new(next),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(next),
        }
        still_down
    }

    /// Looks for the down clusters again every [`RETRY_EVERY`] until none is left.
    pub async fn keep_looking(&self) {
        while !self.fleet().down.is_empty() {
            tokio::time::sleep(RETRY_EVERY).await;
            if !self.retry_down().await {
                return;
            }
        }
    }
}
