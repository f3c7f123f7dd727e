//! `ui`: the dashboard on a local store or on the cluster's agents.

use anyhow::Result;
use shark_pipeline::open_store;

use super::shared::{agents_for, runtime};
use crate::cli::UiArgs;
use crate::ui::{Listen, Source};

/// Runs `ui` until Ctrl-C or SIGTERM.
pub fn run(args: &UiArgs) -> Result<()> {
    let runtime = runtime()?;
    let source = match &args.target.store {
        Some(dir) => Source::Local {
            store: open_store(dir)?,
            dir: dir.clone(),
        },
        None => Source::Cluster(agents_for(&runtime, &args.target)?),
    };
    let listen = Listen {
        address: args.address,
        port: args.port,
        open: args.open,
    };
    crate::ui::serve(&runtime, source, &listen)
}
