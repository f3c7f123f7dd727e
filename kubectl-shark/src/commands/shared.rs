//! What several subcommands share: store settings and time windows from their flags, the filter
//! compiled against the store's schema, identities, the async runtime and the clusters and
//! agents to ask.

use std::path::Path;

use anyhow::{Context, Result};
use shark_pipeline::identities::{IdentityHistory, SharedIdentities, load_identities_file};
use shark_store::{Query, StoreConfig};

use crate::cli::{RetentionArgs, TargetArgs, WindowArgs};
use crate::cluster::agents::Agents;
use crate::cluster::contexts::context_targets;
use crate::cluster::direct::Tokens;
use crate::cluster::fleet::{ContextReach, Fleet, Reach, Target, direct_targets, split_asked};
use crate::render::RedactPath;
use shark_pipeline::spec::{parse_duration, parse_size, parse_time};

/// The store settings from the retention flags.
pub(super) fn store_config(args: &RetentionArgs) -> Result<StoreConfig> {
    Ok(StoreConfig {
        segment_size: args.segment_size()?,
        segment_age: args.segment_age()?,
        storage_limit: args
            .storage_limit
            .as_deref()
            .map(parse_size)
            .transpose()
            .context("--storage-limit")?,
        retention: args
            .retention
            .as_deref()
            .map(parse_duration)
            .transpose()
            .context("--retention")?,
    })
}

/// The store query for a window and filter: times resolved now, the filter compiled against the entry schema.
pub(super) fn window_query(window: &WindowArgs, limit: Option<usize>) -> Result<Query> {
    let now = chrono::Utc::now();
    let from = window
        .from
        .as_deref()
        .map(|t| parse_time(t, now))
        .transpose()
        .context("--from")?;
    let to = window
        .to
        .as_deref()
        .map(|t| parse_time(t, now))
        .transpose()
        .context("--to")?;
    if let (Some(f), Some(t)) = (from, to) {
        anyhow::ensure!(f < t, "--from must be earlier than --to");
    }
    let filter = if window.filter.trim().is_empty() {
        None
    } else {
        Some(compile_filter(&window.filter)?)
    };
    Ok(Query {
        from,
        to,
        filter,
        limit,
    })
}

/// Compiles a KFL filter against the entry schema; a mistake comes back as the rendered diagnostic,
/// and warnings (a word another dialect reads differently) go to stderr.
pub(super) fn compile_filter(source: &str) -> Result<kfl::Filter> {
    let filter = kfl::compile(source, &shark_store::entry_schema())
        .map_err(|diag| anyhow::anyhow!("{diag}"))?;
    if let Some(warnings) = filter.warnings() {
        eprintln!("{warnings}");
    }
    Ok(filter)
}

/// What to hide in printed entries: the `--redact` paths and the filter's `redact("…")` ones.
pub(super) fn redactions(flags: &[String], query: &Query) -> Result<Vec<RedactPath>> {
    flags
        .iter()
        .map(String::as_str)
        .chain(
            query
                .filter
                .iter()
                .flat_map(|f| f.redactions().iter().map(String::as_str)),
        )
        .map(RedactPath::parse)
        .collect::<Result<Vec<_>, String>>()
        .map_err(|e| anyhow::anyhow!(e))
}

/// The identity history to name endpoints with: from `--identities FILE`, else empty (DNS answers still name peers).
pub(super) fn identities(file: Option<&Path>) -> Result<SharedIdentities> {
    let history = match file {
        Some(path) => load_identities_file(path)?,
        None => IdentityHistory::new(),
    };
    Ok(SharedIdentities::new(history))
}

/// A runtime for the cluster commands' network calls.
pub(super) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// The clusters `target` names: those of `--agents` (grouped by `CLUSTER=`), else the contexts.
pub(super) fn targets(target: &TargetArgs) -> Result<Vec<Target>> {
    if target.agents.is_empty() {
        let cluster = &target.cluster;
        context_targets(
            cluster.kubeconfig.as_deref(),
            &cluster.context,
            cluster.all_contexts,
        )
    } else {
        anyhow::ensure!(
            target.cluster.context.is_empty() && !target.cluster.all_contexts,
            "--agents reaches agents directly: drop --context and --all-contexts"
        );
        direct_targets(&target.agents)
    }
}

/// The clusters to ask for `filter`: every cluster `target` names but those the filter's
/// `cluster` conditions exclude (not asked at all), each with its agents found, or down with the
/// reason; and how those reached through contexts were found, to look for them again. Their
/// clients live on `runtime`, so every call to them must run there too.
pub(super) fn fleet_for(
    runtime: &tokio::runtime::Runtime,
    target: &TargetArgs,
    filter: Option<&kfl::Filter>,
) -> Result<(Fleet, ContextReach)> {
    let timeout = parse_duration(&target.node_timeout).context("--node-timeout")?;
    let (asked, _) = split_asked(targets(target)?, filter);
    let mut direct = Vec::new();
    let mut reach = ContextReach {
        kubeconfig: target.cluster.kubeconfig.clone(),
        namespace: target.cluster.namespace.clone(),
        timeout,
        contexts: Vec::new(),
    };
    for Target { name, reach: how } in asked {
        match how {
            Reach::Urls(urls) => direct.push((name, urls)),
            Reach::Context(context) => reach.contexts.push((name, context)),
        }
    }
    let mut fleet = Fleet::default();
    if !direct.is_empty() {
        let names: Vec<&str> = direct.iter().map(|(name, _)| name.as_str()).collect();
        let tokens = Tokens::parse(&target.token, &names)?;
        let ca = target
            .agent_ca
            .as_deref()
            .map(|path| {
                std::fs::read(path)
                    .with_context(|| format!("cannot read --agent-ca {}", path.display()))
            })
            .transpose()?;
        let _entered = runtime.enter();
        let mut found = Vec::new();
        for (name, urls) in direct {
            let token = tokens.of(&name)?;
            found.push((name, Agents::direct(&urls, token, ca.as_deref(), timeout)?));
        }
        // Named after the nodes they report, not their URLs.
        runtime.block_on(futures::future::join_all(
            found.iter_mut().map(|(_, agents)| agents.name_by_status()),
        ));
        for (name, agents) in found {
            fleet.add(name, None, Ok(agents));
        }
    }
    if !reach.contexts.is_empty() {
        let found = runtime.block_on(reach.discover());
        // One unnamed cluster keeps its own errors: there is nothing else to answer.
        if let ([], [down]) = (found.members.as_slice(), found.down.as_slice())
            && down.cluster.is_empty()
            && fleet.members.is_empty()
        {
            anyhow::bail!("{}", down.reason);
        }
        fleet.members.extend(found.members);
        fleet.down.extend(found.down);
    }
    Ok((fleet, reach))
}
