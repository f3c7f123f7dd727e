//! Cluster mode: deploying the node agents, reaching them through the API server, and merging
//! their answers.

pub mod agents;
pub mod clean;
pub mod cluster_filter;
pub mod contexts;
pub mod credentials;
pub mod deploy;
mod deploy_error;
pub mod direct;
pub mod directory;
pub mod failures;
pub mod fanout;
pub mod fleet;
pub mod follow;
pub mod manifests;
pub mod maps;
#[cfg(test)]
mod mock_api;
#[cfg(test)]
mod multi_tests;
pub mod pcap_merge;
pub mod rollout;

use std::path::Path;

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

/// A client for the cluster of `--kubeconfig`/`KUBECONFIG` (else ~/.kube/config, else in-cluster)
/// and `--context` (else the current one).
pub async fn client(kubeconfig: Option<&Path>, context: Option<&str>) -> anyhow::Result<Client> {
    let options = KubeConfigOptions {
        context: context.map(str::to_string),
        ..KubeConfigOptions::default()
    };
    let config = match kubeconfig {
        Some(path) => {
            let file = Kubeconfig::read_from(path)
                .map_err(|e| anyhow::anyhow!("cannot read kubeconfig {}: {e}", path.display()))?;
            Config::from_custom_kubeconfig(file, &options).await?
        }
        None if context.is_some() => Config::from_kubeconfig(&options).await?,
        None => Config::infer().await.map_err(|e| {
            anyhow::anyhow!("no cluster configured ({e}); use --store DIR for a local store")
        })?,
    };
    Ok(Client::try_from(config)?)
}
