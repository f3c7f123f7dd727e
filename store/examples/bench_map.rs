//! Service-map benchmark: `Store::map` over a store of synthetic cluster traffic on three nodes
//! (HTTP, DNS, Redis), grouped by workload and by pod; prints entries aggregated per second and
//! the edges found. Memory stays with the edges, so the figure is about reading and decoding.
//!
//! `cargo run --release -p shark-store --example bench_map [ENTRIES]` (default 1,000,000).
//! `SHARK_BENCH_STORE=DIR` keeps the store there and reuses it. Figures are noisy on a shared machine.

#[path = "common/synth.rs"]
#[allow(dead_code)]
mod synth;

use std::path::{Path, PathBuf};
use std::time::Instant;

use shark_store::{GroupBy, Query, Store};

fn build(root: &Path, entries: usize) -> Result<(), Box<dyn std::error::Error>> {
    Ok(synth::fill_cluster_hour(root, entries, 200, |_| false)?)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let entries: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let temp = tempfile::tempdir()?;
    let root = std::env::var_os("SHARK_BENCH_STORE")
        .map_or_else(|| temp.path().to_path_buf(), PathBuf::from);
    let stored: u64 = Store::open(&root)
        .and_then(|s| s.status())
        .map(|v| v.iter().map(|n| n.entries).sum())
        .unwrap_or(0);
    if stored < entries as u64 {
        std::fs::create_dir_all(&root)?;
        build(&root, entries)?;
    }
    let store = Store::open(&root)?;
    let total: u64 = store.status()?.iter().map(|s| s.entries).sum();
    let started = Instant::now();
    let mut read = 0u64;
    for entry in store.query(&Query::default())? {
        entry?;
        read += 1;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "query alone (read and decode, no map) over {read} entries: {secs:.2} s ({:.0} entries/s)",
        read as f64 / secs
    );
    for by in [GroupBy::Workload, GroupBy::Pod] {
        let started = Instant::now();
        let map = store.map(&Query::default(), by)?;
        let secs = started.elapsed().as_secs_f64();
        let requests: u64 = map.edges.iter().map(|e| e.requests).sum();
        println!(
            "map --by {by} over {total} entries: {} edges, {requests} requests in {secs:.2} s ({:.0} entries/s)",
            map.edges.len(),
            total as f64 / secs
        );
    }
    Ok(())
}
