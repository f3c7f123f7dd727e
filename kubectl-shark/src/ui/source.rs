//! Where the dashboard's entries come from: a local store, or the cluster's agents.

use std::path::PathBuf;

use shark_store::Store;

use crate::cluster::agents::Agents;

/// A local store (`--store DIR`) or every node's agent (the same fan-out as `query`).
pub enum Source {
    /// A store directory read in-process.
    Local {
        /// The store, with its body loader.
        store: Store,
        /// Where it lives, for the status view.
        dir: PathBuf,
    },
    /// The agents, found through the API server or at `--agents` URLs.
    Cluster(Agents),
}

impl Source {
    /// The local store, or the answer a cluster gives for what only a store can do yet.
    pub fn store(&self) -> Result<&Store, super::api::ApiError> {
        match self {
            Source::Local { store, .. } => Ok(store),
            Source::Cluster(_) => Err(super::api::ApiError::new(
                axum::http::StatusCode::NOT_IMPLEMENTED,
                "this view reads a local store only so far: run `kubectl shark ui --store DIR`",
            )),
        }
    }
}
