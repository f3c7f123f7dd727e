//! Identities from the Kubernetes API: watchers on pods, services, nodes and endpointslices feed
//! the pipeline's [`IdentityHistory`](shark_pipeline::identities::IdentityHistory), so every
//! entry names its peers as they were at its own timestamp.
//!
//! `ClusterView` turns each watched object into identity changes;
//! [`watch_cluster`] runs the watchers for the agent's lifetime.

mod cluster_view;
mod kube;

pub use kube::watch_cluster;
