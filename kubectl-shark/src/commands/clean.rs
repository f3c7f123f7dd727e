//! `clean`: delete every object `capture` made in each cluster asked, and say what was deleted.

use anyhow::Result;

use super::shared::runtime;
use crate::cli::ClusterArgs;
use crate::cluster;
use crate::cluster::contexts::context_targets;
use crate::cluster::failures::Failures;
use crate::cluster::fleet::{ClusterDown, Reach};

/// Runs `clean` in every cluster of `--context`/`--all-contexts` (else the current one); a
/// cluster that fails is named and the others are still cleaned.
pub fn run(args: &ClusterArgs) -> Result<()> {
    let targets = context_targets(args.kubeconfig.as_deref(), &args.context, args.all_contexts)?;
    let runtime = runtime()?;
    let mut failures = Failures::default();
    let several = targets.len() > 1;
    for target in targets {
        let Reach::Context(context) = &target.reach else {
            continue;
        };
        let deleted = runtime.block_on(async {
            let client = cluster::client(args.kubeconfig.as_deref(), context.as_deref()).await?;
            anyhow::Ok(cluster::clean::clean(client).await?)
        });
        let deleted = match deleted {
            Ok(deleted) => deleted,
            Err(err) if !several => return Err(err),
            Err(err) => {
                failures.clusters.push(ClusterDown {
                    cluster: target.name,
                    reason: format!("{err:#}").replace('\n', " "),
                });
                continue;
            }
        };
        failures.answered = true;
        let prefix = if target.name.is_empty() {
            String::new()
        } else {
            format!("cluster {}: ", target.name)
        };
        if deleted.is_empty() {
            println!("{prefix}nothing to clean: no objects made by kubectl-shark");
        }
        for object in deleted {
            println!("{prefix}deleted {object}");
        }
    }
    for line in failures.footers() {
        println!("{line}");
    }
    failures.outcome()
}
