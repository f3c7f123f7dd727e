//! `capture --local`: live capture on this machine into a store, until a duration, Ctrl-C or SIGTERM.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use shark_agent::Ingest;
use shark_agent::live::{LiveCapture, LiveConfig};

use super::{identities, store_config};
use crate::cli::CaptureArgs;
use crate::timespec::{parse_duration, parse_size};

/// How long the loop waits for a packet before it checks the clock and the stop flag.
const POLL: Duration = Duration::from_millis(100);

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
    let config = LiveConfig {
        interfaces: args.interface.clone(),
        bpf: args.bpf.clone(),
        snaplen: args.snaplen,
        buffer_size: i32::try_from(buffer_size).context("--buffer-size is larger than 2 GiB")?,
        promiscuous: args.promiscuous,
        ..LiveConfig::default()
    };
    let identities = identities(args.identities.as_deref())?;
    let mut ingest = Ingest::open(&args.store.store, &node, store_config(&args.retention)?, identities)?;
    let capture = LiveCapture::start(&config)?;
    let stop = capture.stop_flag();
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, stop.clone()).context("cannot install the signal handler")?;
    }
    let started = Instant::now();
    eprintln!(
        "capturing on {} into {} (node {node}); Ctrl-C to stop",
        args.interface.join(","),
        args.store.store.display()
    );
    while !stop.load(Ordering::Relaxed) && duration.is_none_or(|d| started.elapsed() < d) {
        if let Some(packet) = capture.next_packet(POLL) {
            ingest.push(&packet)?;
        }
    }
    let counters = capture.counters();
    for packet in capture.stop() {
        ingest.push(&packet)?;
    }
    let stats = ingest.finish()?;
    eprintln!(
        "captured {} packets, {} entries in {:.1} s into {} (node {node}); dropped {} (queue {}, kernel {}, interface {})",
        stats.packets,
        stats.entries,
        started.elapsed().as_secs_f64(),
        args.store.store.display(),
        counters.total_dropped(),
        counters.queue_dropped.load(Ordering::Relaxed),
        counters.kernel_dropped.load(Ordering::Relaxed),
        counters.interface_dropped.load(Ordering::Relaxed),
    );
    Ok(())
}

/// This machine's host name, the default node name.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_string())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "local".to_string())
}
