//! Ingest benchmark: entries per second into the index, and index size against PCAP size per
//! protocol mix.
//!
//! `cargo run --release -p shark-store --example bench_ingest [ENTRIES] [INDEX_BODY]` (defaults
//! 1,000,000 entries; 32 bytes of each body kept in the index, as `--index-body`, the rest left in
//! the packets).
//! Synthetic but realistic traffic (see `common/synth.rs`). Figures are noisy on a shared machine.

#[path = "common/synth.rs"]
#[allow(dead_code)]
mod synth;

use std::time::Instant;

use shark_store::{NodeWriter, Store, StoreConfig};
use synth::{Mix, Synth};

const T0: i64 = 1_795_000_000_000_000_000;

/// CPU time this process has used (user + system, all threads), from /proc/self/stat.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may contain spaces) start at the last ')'.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let entries: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let index_body: usize = std::env::args()
        .nth(2)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(32);
    let temp = tempfile::tempdir()?;
    // SHARK_BENCH_DIR=DIR keeps the stores there for inspection (emptied first).
    let dir = match std::env::var_os("SHARK_BENCH_DIR") {
        Some(d) => {
            let _ = std::fs::remove_dir_all(&d);
            std::fs::create_dir_all(&d)?;
            std::path::PathBuf::from(d)
        }
        None => temp.path().to_path_buf(),
    };

    // 1. Entries into the index (no packets): what the pipeline hands the store per exchange.
    let mixed = Mix {
        http: 60,
        dns: 20,
        redis: 20,
    };
    let mut synth = Synth::new(7, mixed, "node-a");
    synth.index_body = index_body;
    let distinct: Vec<_> = (0..50_000)
        .map(|i| synth.exchange(T0 + i * 720_000).entry)
        .collect();
    // The pipeline hands over entries it built; building (here: cloning) them is not timed.
    let mut writer = NodeWriter::open(&dir, "node-a", StoreConfig::default())?;
    let (mut secs, mut cpu) = (0.0, 0.0);
    let mut written = 0;
    while written < entries {
        let batch: Vec<_> = (written..entries.min(written + distinct.len()))
            .map(|i| {
                let mut entry = distinct[i % distinct.len()].clone();
                entry.timestamp = T0 + i as i64 * 720_000;
                entry
            })
            .collect();
        written += batch.len();
        let (started, cpu_started) = (Instant::now(), cpu_seconds());
        for entry in batch {
            writer.write_entry(entry)?;
        }
        writer.flush()?;
        secs += started.elapsed().as_secs_f64();
        cpu += cpu_seconds() - cpu_started;
    }
    writer.finish()?;

    println!(
        "ingest: {entries} entries (60% HTTP, 20% DNS, 20% Redis), write_entry to committed: {secs:.2} s wall = {:.0} entries/s; \
         {cpu:.2} s CPU (caller + index thread) = {:.0} entries per CPU-second",
        entries as f64 / secs,
        entries as f64 / cpu
    );

    if std::env::var_os("SHARK_BENCH_INGEST_ONLY").is_some() {
        return Ok(());
    }
    // 2. Index bytes against PCAP bytes, per protocol mix.
    println!(
        "index size / PCAP size (100k exchanges with their packets each; {index_body} bytes of each body in the index):"
    );
    let mixes = [
        (
            "HTTP only",
            Mix {
                http: 100,
                dns: 0,
                redis: 0,
            },
        ),
        ("mixed 60/20/20", mixed),
        (
            "DNS only",
            Mix {
                http: 0,
                dns: 100,
                redis: 0,
            },
        ),
        (
            "Redis only",
            Mix {
                http: 0,
                dns: 0,
                redis: 100,
            },
        ),
    ];
    for (name, mix) in mixes {
        let node = name.replace([' ', '/'], "-").to_ascii_lowercase();
        let mut synth = Synth::new(11, mix, &node);
        synth.index_body = index_body;
        let mut writer = NodeWriter::open(&dir, &node, StoreConfig::default())?;
        let started = Instant::now();
        for i in 0..100_000 {
            synth::write(&mut writer, synth.exchange(T0 + i * 720_000), true)?;
        }
        writer.finish()?;
        let secs = started.elapsed().as_secs_f64();
        let store = Store::open(&dir)?;
        let status = store
            .status()?
            .into_iter()
            .find(|s| s.node == node)
            .ok_or("node missing")?;
        println!(
            "  {name:<15} pcap {:>7.1} MB  index {:>6.1} MB  ratio {:>5.1}%  ({:.0} B/entry; {:.0} exchanges/s with packets)",
            status.pcap_bytes as f64 / 1e6,
            status.index_bytes as f64 / 1e6,
            100.0 * status.index_bytes as f64 / status.pcap_bytes as f64,
            status.index_bytes as f64 / status.entries as f64,
            100_000.0 / secs
        );
    }
    Ok(())
}
