//! `capture`: deploy the node agents to each cluster asked, or with `--local` capture live on this
//! machine into a store until a duration, Ctrl-C or SIGTERM.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use std::collections::BTreeMap;
use std::io::IsTerminal;

use anyhow::{Context, Result, bail};
use shark_agent::capture_loop::run_capture;
use shark_agent::live::{LiveConfig, host_name};
use shark_pipeline::spec::parse_duration;
use shark_pipeline::{CaptureScope, Ingest};
use shark_store::StoreConfig;

use super::shared::{identities, runtime, store_config};
use crate::cli::CaptureArgs;
use crate::cluster;
use crate::cluster::contexts::context_targets;
use crate::cluster::credentials::Credentials;
use crate::cluster::failures::Failures;
use crate::cluster::fleet::{ClusterDown, Reach};
use crate::cluster::manifests::{AgentTuning, DeployOptions, build};

/// Runs `capture`.
pub fn run(args: &CaptureArgs) -> Result<()> {
    match (&args.store, args.local) {
        (Some(store), true) => local(args, store),
        (_, false) => deploy(args),
        (None, true) => bail!("capture --local needs --store DIR"),
    }
}

/// The capture tuning flags, checked the same way for `--local` and for the agents.
struct Tuning {
    /// Kernel capture buffer, bytes.
    buffer_size: i32,
    /// Queue between capture and pipeline, bytes.
    queue_size: usize,
    /// Segment rotation, retention and disk budget.
    store: StoreConfig,
    /// Bytes of each body the index keeps.
    index_body: usize,
    /// Most bytes of each body kept.
    max_body: usize,
    /// The pipeline's memory budget, bytes.
    memory_limit: usize,
}

/// Reads every tuning flag, with its default when not given; a bad value is refused here, before
/// anything is captured or applied.
fn checked_tuning(args: &CaptureArgs) -> Result<Tuning> {
    Ok(Tuning {
        buffer_size: args.buffer_size()?,
        queue_size: args.queue_size()?,
        store: store_config(&args.retention)?,
        index_body: args.retention.index_body()?,
        max_body: args.retention.max_body()?,
        memory_limit: args.retention.memory_limit()?,
    })
}

/// The capture filter and tuning flags the user gave, for the agents' DaemonSet args.
fn agent_tuning(args: &CaptureArgs, checked: &Tuning) -> Result<AgentTuning> {
    let buffers_given = args.buffer_size.is_some() || args.queue_size.is_some();
    let capture_buffers = u64::try_from(checked.queue_size)
        .unwrap_or(u64::MAX)
        .saturating_add(checked.buffer_size.unsigned_abs().into());
    Ok(AgentTuning {
        bpf: args.agent_bpf()?.map(str::to_string),
        buffer_size: args.buffer_size.clone(),
        queue_size: args.queue_size.clone(),
        segment_size: args.retention.segment_size.clone(),
        segment_age: args.retention.segment_age.clone(),
        index_body: args
            .retention
            .index_body
            .is_some()
            .then_some(checked.index_body),
        max_body: args.retention.max_body.clone(),
        memory_limit: args.retention.memory_limit.clone(),
        capture_buffers: buffers_given.then_some(capture_buffers),
        pipeline_memory: args
            .retention
            .memory_limit
            .is_some()
            .then_some(checked.memory_limit as u64),
        no_promiscuous: args.no_promiscuous,
    })
}

/// Applies the agents' objects (or prints them with --dry-run) and waits for the rollout.
fn deploy(args: &CaptureArgs) -> Result<()> {
    let mut node_selector = BTreeMap::new();
    for pair in &args.node_selector {
        let (key, value) = pair
            .split_once('=')
            .with_context(|| format!("--node-selector `{pair}` is not KEY=VALUE"))?;
        node_selector.insert(key.to_string(), value.to_string());
    }
    CaptureScope::new(args.pods.as_deref(), &args.namespaces)?;
    let tuning = agent_tuning(args, &checked_tuning(args)?)?;
    let options = DeployOptions {
        namespace: args.cluster.namespace.clone(),
        image: args.image.clone(),
        storage_limit: args
            .retention
            .storage_limit
            .clone()
            .unwrap_or_else(|| "10GiB".into()),
        retention: args
            .retention
            .retention
            .clone()
            .unwrap_or_else(|| "24h".into()),
        node_selector,
        pods: args.pods.clone(),
        namespaces: args.namespaces.clone(),
        tuning,
    };
    if args.dry_run {
        // A dry run shows the objects as they would be applied, with a new token and certificate:
        // `kubectl apply -f` of it deploys working agents.
        let yaml = build(&options, &Credentials::generate()?)?.to_yaml()?;
        print!("{yaml}");
        return Ok(());
    }
    let timeout = parse_duration(&args.timeout).context("--timeout")?;
    let cluster = &args.cluster;
    let targets = context_targets(
        cluster.kubeconfig.as_deref(),
        &cluster.context,
        cluster.all_contexts,
    )?;
    let runtime = runtime()?;
    let several = targets.len() > 1;
    let mut failures = Failures::default();
    // One cluster after the other: each rollout shows its own progress.
    for target in targets {
        let Reach::Context(context) = &target.reach else {
            continue;
        };
        let prefix = if target.name.is_empty() {
            String::new()
        } else {
            format!("cluster {}: ", target.name)
        };
        let report = runtime.block_on(async {
            let client = cluster::client(cluster.kubeconfig.as_deref(), context.as_deref()).await?;
            let bar = rollout_bar();
            let report = cluster::deploy::deploy(client, &options, timeout, |ready, desired| {
                bar.set_message(format!(
                    "{prefix}waiting for the agents: ready {ready}/{desired} nodes"
                ));
            })
            .await;
            bar.finish_and_clear();
            anyhow::Ok(report?)
        });
        let report = match report {
            Ok(report) => report,
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
        for object in &report.applied {
            println!("{prefix}applied {object}");
        }
        println!(
            "{prefix}{} agents ready; try `kubectl shark status`",
            report.ready
        );
    }
    for line in failures.footers() {
        println!("{line}");
    }
    failures.outcome()
}

/// A spinner with the rollout's progress on a terminal.
fn rollout_bar() -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// Captures on this machine into `store`.
fn local(args: &CaptureArgs, store_dir: &std::path::Path) -> Result<()> {
    let duration = args
        .duration
        .as_deref()
        .map(parse_duration)
        .transpose()
        .context("--duration")?;
    let checked = checked_tuning(args)?;
    let node = match &args.node {
        Some(node) => node.clone(),
        None => host_name(),
    };
    let live = LiveConfig {
        interfaces: args.interface.clone(),
        bpf: args.bpf.clone(),
        snaplen: args.snaplen,
        buffer_size: checked.buffer_size,
        queue_bytes: checked.queue_size,
        promiscuous: !args.no_promiscuous,
    };
    let scope = CaptureScope::new(args.pods.as_deref(), &args.namespaces)?;
    if scope.is_some() && args.identities.is_none() {
        bail!("--pods and --namespaces need to know the pods: add --identities FILE");
    }
    let identities = identities(args.identities.as_deref())?;
    let ingest = Ingest::open(
        store_dir,
        &node,
        checked.store,
        identities,
        checked.index_body,
        checked.max_body,
    )?
    .with_memory_limit(checked.memory_limit)?
    .with_scope(scope);
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .context("cannot install the signal handler")?;
    }
    let interfaces = args.interface.join(",");
    let store = store_dir.display();
    let report = run_capture(
        &live,
        ingest,
        &stop,
        duration,
        |_| eprintln!("capturing on {interfaces} into {store} (node {node}); Ctrl-C to stop"),
        |_| {},
    )?;
    let c = &report.counters;
    eprintln!(
        "captured {} packets, {} entries in {:.1} s into {store} (node {node}); dropped {} (queue {}, kernel {}, interface {})",
        report.stats.packets,
        report.stats.entries,
        report.elapsed.as_secs_f64(),
        c.total_dropped(),
        c.queue_dropped.load(Ordering::Relaxed),
        c.kernel_dropped.load(Ordering::Relaxed),
        c.interface_dropped.load(Ordering::Relaxed),
    );
    if let Some(hint) = report.hint(&live) {
        eprintln!("{hint}");
    }
    Ok(())
}
