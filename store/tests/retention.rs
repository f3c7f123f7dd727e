//! Retention by size and by age: the oldest segments and their entries go first.

use std::time::Duration;

use shark_store::{NodeWriter, Query, Store, StoreConfig};

use crate::util::{Traffic, node_bytes};

const START: i64 = 1_700_000_000_000_000_000;

#[test]
fn a_storage_limit_is_never_exceeded_by_more_than_one_segment() {
    let dir = tempfile::tempdir().unwrap();
    let segment = 256 * 1024;
    let limit = 2 * 1024 * 1024;
    let config = StoreConfig {
        segment_size: segment,
        storage_limit: Some(limit),
        ..StoreConfig::default()
    };
    let mut writer = NodeWriter::open(dir.path(), "n", config).unwrap();
    let mut traffic = Traffic::new(START, 1_000_000, 8, 1400);
    let mut peak = 0;
    for round in 0..40 {
        for _ in 0..100 {
            traffic.write_next(&mut writer).unwrap();
        }
        writer.flush().unwrap();
        let used = node_bytes(dir.path(), "n");
        peak = peak.max(used);
        assert!(
            used <= limit + segment,
            "round {round}: {used} bytes on disk, limit {limit}"
        );
    }
    writer.finish().unwrap();
    assert!(
        peak > limit / 2,
        "the test wrote enough to need retention ({peak})"
    );
    let store = Store::open(dir.path()).unwrap();
    let status = &store.status().unwrap()[0];
    // The newest data is kept; the oldest is gone, with its entries.
    assert_eq!(status.newest_ns, Some(traffic.ts(traffic.next - 1) + 1000));
    let oldest = status.oldest_ns.unwrap();
    assert!(oldest > START);
    let entries: Vec<_> = store
        .query(&Query::default())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(entries.iter().all(|e| e.timestamp >= oldest));
    assert_eq!(
        entries.last().map(|e| e.timestamp),
        Some(traffic.ts(traffic.next - 1))
    );
    assert_eq!(status.entries as usize, entries.len());
}

/// Index blocks whose newest entry is older than the oldest entry kept: blocks of entries gone,
/// which retention must have deleted with them.
fn stale_blocks(root: &std::path::Path) -> i64 {
    let conn = rusqlite::Connection::open(root.join("n/index.sqlite")).unwrap();
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |row| row.get(0)).unwrap() };
    assert!(count("SELECT count(*) FROM blocks") > 0, "blocks are kept");
    count("SELECT count(*) FROM blocks WHERE max_ts < (SELECT min(ts) FROM entries)")
}

/// A store keeping 20 s of history in 5 s segments, written `count` exchanges `every_ns` apart.
fn twenty_seconds_kept_of(count: usize, every_ns: i64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig {
        segment_age: Duration::from_secs(5),
        retention: Some(Duration::from_secs(20)),
        ..StoreConfig::default()
    };
    let mut writer = NodeWriter::open(dir.path(), "n", config).unwrap();
    let mut traffic = Traffic::new(START, every_ns, 4, 100);
    for _ in 0..count {
        traffic.write_next(&mut writer).unwrap();
    }
    writer.finish().unwrap();
    dir
}

#[test]
fn retention_by_age_keeps_the_newest_window() {
    // 120 s of traffic, one exchange every 100 ms.
    let dir = twenty_seconds_kept_of(1200, 100_000_000);
    let store = Store::open(dir.path()).unwrap();
    let status = &store.status().unwrap()[0];
    let newest = status.newest_ns.unwrap();
    let oldest = status.oldest_ns.unwrap();
    let kept = Duration::from_nanos((newest - oldest) as u64);
    assert!(
        kept >= Duration::from_secs(20) && kept <= Duration::from_secs(25),
        "kept {kept:?}"
    );
    let first = store
        .query(&Query::default())
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    assert!(first.timestamp >= oldest);
    assert_eq!(stale_blocks(dir.path()), 0, "blocks left of entries gone");
}

#[test]
fn retention_deletes_a_block_of_one_entry_the_last_to_go() {
    // One exchange every 3 s: each commit (a second of capture time) hands over a block of one
    // entry, so the newest entry going is alone in its block and starts it.
    let dir = twenty_seconds_kept_of(60, 3_000_000_000);
    assert_eq!(stale_blocks(dir.path()), 0, "blocks left of entries gone");
}
