//! Flood benchmark: what a scan leaves in a node's index, what retention frees once it has aged
//! out, and what reopening the writer (an agent restart) costs.
//!
//! ```text
//! cargo run --release -p shark-store --example bench_flood -- flood DIR [ENTRIES]
//! cargo run --release -p shark-store --example bench_flood -- open DIR
//! cargo run --release -p shark-store --example bench_flood -- age DIR
//! cargo run --release -p shark-store --example bench_flood -- open DIR
//! ```
//!
//! `flood` writes ENTRIES (default 1,000,000) one-packet entries into node `n` of DIR, each from a
//! new address (a SYN scan as the pipeline stores it); `age` opens the writer with a 60 s
//! retention and writes two minutes of ordinary traffic (2,000 entries between two pods), so the
//! flood ages out; `open` opens the writer and closes it. Each prints the `parts` (identities) and
//! `names` rows and the index bytes; `open` also the time it took and the process's peak RSS.

use std::path::Path;
use std::time::{Duration, Instant};

use shark_store::{Entry, NodeWriter, RawPacket, Store, StoreConfig};

const T0: i64 = 1_795_000_000_000_000_000;
const NODE: &str = "n";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mode, dir) = match args.as_slice() {
        [mode, dir, ..] => (mode.as_str(), Path::new(dir)),
        _ => return Err("usage: bench_flood flood|age|open DIR [ENTRIES]".into()),
    };
    match mode {
        "flood" => {
            let count: u32 = args.get(2).map_or(Ok(1_000_000), |n| n.parse())?;
            let started = Instant::now();
            let mut writer = NodeWriter::open(dir, NODE, StoreConfig::default())?;
            for i in 0..count {
                let ts = T0 + i64::from(i) * 10_000;
                let src = format!("172.{}.{}.{}", 16 + (i >> 16), (i >> 8) & 255, i & 255);
                write(&mut writer, ts, &src, "", 80)?;
            }
            writer.finish()?;
            println!(
                "flood: {count} entries from as many addresses in {:.1} s",
                started.elapsed().as_secs_f64()
            );
        }
        "age" => {
            let config = StoreConfig {
                segment_age: Duration::from_secs(5),
                retention: Some(Duration::from_secs(60)),
                ..StoreConfig::default()
            };
            let started = Instant::now();
            let mut writer = NodeWriter::open(dir, NODE, config)?;
            let newest = Store::open(dir)?
                .status()?
                .first()
                .and_then(|s| s.newest_ns)
                .unwrap_or(T0);
            for i in 0..2_000 {
                let ts = newest + 1_000_000_000 + i * 60_000_000;
                write(&mut writer, ts, "10.244.1.7", "checkout-7d9f", 8080)?;
            }
            writer.finish()?;
            println!(
                "age: 2000 entries over 120 s with a 60 s retention in {:.1} s",
                started.elapsed().as_secs_f64()
            );
        }
        "open" => {
            let started = Instant::now();
            let writer = NodeWriter::open(dir, NODE, StoreConfig::default())?;
            let opened = started.elapsed();
            writer.finish()?;
            println!(
                "open: the writer opened in {:.3} s; peak RSS {} MiB",
                opened.as_secs_f64(),
                peak_rss_kib() / 1024
            );
        }
        other => return Err(format!("unknown mode {other}").into()),
    }
    report(dir)
}

/// One entry from `src` to a service, with its one packet.
fn write(
    w: &mut NodeWriter,
    ts: i64,
    src: &str,
    pod: &str,
    port: u16,
) -> Result<(), shark_store::StoreError> {
    let frame = [0u8; 60];
    let stream = w.alloc_stream();
    let packet = RawPacket {
        ts_ns: ts,
        orig_len: 60,
        linktype: 1,
        data: &frame,
    };
    let number = w.write_packet(&packet, Some(stream))?;
    let mut e = Entry {
        timestamp: ts,
        stream,
        ..Entry::default()
    };
    e.node.name = NODE.into();
    e.src.ip = src.into();
    e.src.port = 40_000;
    e.src.kind = if pod.is_empty() {
        "External".into()
    } else {
        "Pod".into()
    };
    e.src.pod = pod.into();
    e.src.name = pod.into();
    e.src.namespace = if pod.is_empty() {
        String::new()
    } else {
        "shop".into()
    };
    e.dst.ip = "10.96.0.20".into();
    e.dst.port = port;
    e.dst.kind = "Service".into();
    e.dst.service = "payments".into();
    e.dst.name = "payments".into();
    e.dst.namespace = "shop".into();
    e.protocol.name = "tcp".into();
    e.packets.first = number;
    e.packets.last = number;
    w.write_entry(e)
}

/// Prints the identity and name rows, entries and index bytes of the node.
fn report(dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let conn = rusqlite::Connection::open(dir.join(NODE).join("index.sqlite"))?;
    let rows = |table: &str| -> Result<i64, rusqlite::Error> {
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
    };
    let status = Store::open(dir)?.status()?;
    let node = status.first().ok_or("no node")?;
    println!(
        "  identities (parts) {}  names {}  entries {}  segments {}  index {:.1} MB",
        rows("parts")?,
        rows("names")?,
        node.entries,
        node.segments,
        node.index_bytes as f64 / 1e6
    );
    Ok(())
}

/// The process's peak resident set (VmHWM), KiB.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
