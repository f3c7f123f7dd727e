//! Where the dashboard's entries come from: a local store, or the agents of one or more clusters.

use std::path::PathBuf;

use shark_store::Store;

use super::clusters::Clusters;

/// A local store (`--store DIR`) or every node's agent of every cluster asked (the same fan-out
/// as `query --context a,b`).
pub enum Source {
    /// A store directory read in-process.
    Local {
        /// The store, with its body loader.
        store: Store,
        /// Where it lives, for the status view.
        dir: PathBuf,
    },
    /// The clusters: those whose agents were found (through the API server or at `--agents`
    /// URLs), and those that could not be reached, with why (looked for again while it runs).
    Cluster(Clusters),
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
