//! `clean`: delete every object `capture` made in the cluster, and say what was deleted.

use anyhow::Result;

use super::shared::runtime;
use crate::cli::ClusterArgs;
use crate::cluster;

/// Runs `clean`.
pub fn run(args: &ClusterArgs) -> Result<()> {
    let deleted = runtime()?.block_on(async {
        let client = cluster::client(args.kubeconfig.as_deref(), args.context.as_deref()).await?;
        anyhow::Ok(cluster::clean::clean(client).await?)
    })?;
    if deleted.is_empty() {
        println!("nothing to clean: no objects made by kubectl-shark");
    }
    for object in deleted {
        println!("deleted {object}");
    }
    Ok(())
}
