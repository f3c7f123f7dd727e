//! Query benchmark: a store of ≥ 5 million entries over one hour on three nodes; a one-minute
//! window with an identity and status filter, timed cold and warm, next to `tshark -r -Y` with the
//! equivalent display filter over the packets of that minute only (tshark would have to read the
//! whole hour; giving it just the minute makes the comparison a lower bound).
//!
//! `cargo run --release -p shark-store --example bench_query [ENTRIES]` (default 5,000,000).
//! `SHARK_BENCH_STORE=DIR` keeps the store there and reuses it on the next run. Synthetic but
//! realistic traffic (`common/synth.rs`); figures are noisy on a shared machine.

#[path = "common/synth.rs"]
#[allow(dead_code)]
mod synth;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use shark_store::{Query, Store, entry_schema};
use synth::{NODES, T0};

const MINUTE: i64 = 60_000_000_000;
/// The window queried: minute 30 of the hour; only its exchanges are stored with packets.
const WINDOW: (i64, i64) = (T0 + 30 * MINUTE, T0 + 31 * MINUTE);
const FILTER: &str = "dst.service == \"payments\" and response.status >= 500";
/// The same question for tshark: responses of 500 and up sent by the payments pods.
const TSHARK_FILTER: &str =
    "http.response.code >= 500 && ip.src in {10.244.3.10, 10.244.3.11, 10.244.3.12}";

fn build(root: &Path, entries: usize) -> Result<(), Box<dyn std::error::Error>> {
    let started = Instant::now();
    synth::fill_cluster_hour(root, entries, 100, |ts| ts >= WINDOW.0 && ts < WINDOW.1)?;
    eprintln!(
        "built {entries} entries in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn run_query(root: &Path) -> Result<(f64, usize), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let store = Store::open(root)?;
    let filter = kfl::compile(FILTER, &entry_schema())?;
    let q = Query {
        from: Some(WINDOW.0),
        to: Some(WINDOW.1),
        filter: Some(filter),
        limit: None,
    };
    let mut found = 0;
    for entry in store.query(&q)? {
        entry?;
        found += 1;
    }
    Ok((started.elapsed().as_secs_f64() * 1000.0, found))
}

fn segments(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for node in NODES {
        if let Ok(dir) = std::fs::read_dir(root.join(node).join("segments")) {
            files.extend(dir.filter_map(|e| e.ok().map(|e| e.path())));
        }
    }
    files.sort();
    files
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let entries: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(5_000_000);
    let temp = tempfile::tempdir()?;
    let root = std::env::var_os("SHARK_BENCH_STORE")
        .map_or_else(|| temp.path().to_path_buf(), PathBuf::from);
    let store = Store::open(&root).ok();
    let stored: u64 = store
        .map(|s| {
            s.status()
                .map(|v| v.iter().map(|n| n.entries).sum())
                .unwrap_or(0)
        })
        .unwrap_or(0);
    if stored < entries as u64 {
        std::fs::create_dir_all(&root)?;
        for node in NODES {
            let _ = std::fs::remove_dir_all(root.join(node));
        }
        build(&root, entries)?;
    }
    let status = Store::open(&root)?.status()?;
    let total: u64 = status.iter().map(|s| s.entries).sum();
    let index: u64 = status.iter().map(|s| s.index_bytes).sum();
    let span = status.iter().filter_map(|s| s.newest_ns).max().unwrap_or(0)
        - status.iter().filter_map(|s| s.oldest_ns).min().unwrap_or(0);
    println!(
        "store: {total} entries on {} nodes over 1 h, index {:.0} MB ({:.0} B/entry); packets kept for minute 30 ({:.1} s of packets)",
        status.len(),
        index as f64 / 1e6,
        index as f64 / total as f64,
        span as f64 / 1e9
    );

    let (cold, found) = run_query(&root)?;
    let mut warm: Vec<f64> = (0..10)
        .map(|_| run_query(&root).map(|(ms, _)| ms))
        .collect::<Result<_, _>>()?;
    warm.sort_by(f64::total_cmp);
    let median = warm[warm.len() / 2];
    println!(
        "query `{FILTER}` over a 1-minute window: {found} entries; first run {cold:.1} ms, median of 10 {median:.1} ms (opening the store included)"
    );

    let files = segments(&root);
    let started = Instant::now();
    let mut tshark_found = 0;
    for f in &files {
        let out = Command::new("tshark")
            .arg("-n")
            .arg("-r")
            .arg(f)
            .args(["-Y", TSHARK_FILTER, "-T", "fields", "-e", "frame.number"])
            .output()?;
        tshark_found += String::from_utf8_lossy(&out.stdout).lines().count();
    }
    let tshark_ms = started.elapsed().as_secs_f64() * 1000.0;
    println!(
        "tshark -r <that minute's {} segment files> -Y '{TSHARK_FILTER}': {tshark_found} responses in {tshark_ms:.0} ms = {:.0}x the store's median (tshark given only the minute; over the whole hour it would read ~60x more)",
        files.len(),
        tshark_ms / median
    );
    Ok(())
}
