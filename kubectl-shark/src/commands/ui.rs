//! `ui`: the dashboard on a local store or on the agents of one or more clusters.

use anyhow::Result;
use shark_pipeline::open_store;

use super::shared::{fleet_for, runtime};
use crate::cli::UiArgs;
use crate::ui::{Clusters, Listen, Source};

/// Runs `ui` until Ctrl-C or SIGTERM.
pub fn run(args: &UiArgs) -> Result<()> {
    let runtime = runtime()?;
    let source = match &args.target.store {
        Some(dir) => Source::Local {
            store: open_store(dir)?,
            dir: dir.clone(),
        },
        // Every cluster named is asked: a filter's `cluster` conditions choose among them per view.
        None => {
            let (fleet, reach) = fleet_for(&runtime, &args.target, None)?;
            Source::Cluster(Clusters::new(fleet, reach))
        }
    };
    let listen = Listen {
        address: args.address,
        port: args.port,
        open: args.open,
    };
    crate::ui::serve(&runtime, source, &listen)
}
