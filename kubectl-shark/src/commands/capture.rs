//! `capture --local`: live capture on this machine into a store, until a duration, Ctrl-C or SIGTERM.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result, bail};
use shark_agent::Ingest;
use shark_agent::capture_loop::run_capture;
use shark_agent::live::{LiveConfig, host_name};
use shark_agent::spec::{parse_duration, parse_size};

use super::{identities, store_config};
use crate::cli::CaptureArgs;

/// Runs `capture`.
pub fn run(args: &CaptureArgs) -> Result<()> {
    if !args.local {
        bail!("cluster capture is not available yet: use `capture --local` to capture on this machine");
    }
    let duration = args.duration.as_deref().map(parse_duration).transpose().context("--duration")?;
    let buffer_size = parse_size(&args.buffer_size).context("--buffer-size")?;
    let node = match &args.node {
        Some(node) => node.clone(),
        None => host_name(),
    };
    let live = LiveConfig {
        interfaces: args.interface.clone(),
        bpf: args.bpf.clone(),
        snaplen: args.snaplen,
        buffer_size: i32::try_from(buffer_size).context("--buffer-size is larger than 2 GiB")?,
        promiscuous: args.promiscuous,
        ..LiveConfig::default()
    };
    let identities = identities(args.identities.as_deref())?;
    let ingest = Ingest::open(&args.store.store, &node, store_config(&args.retention)?, identities)?;
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop)).context("cannot install the signal handler")?;
    }
    let interfaces = args.interface.join(",");
    let store = args.store.store.display();
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
    Ok(())
}
