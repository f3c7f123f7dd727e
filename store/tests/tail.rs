//! Following a store: every matching entry indexed after the tail started comes out once, whatever
//! its timestamp, in a bounded cursor that retention and new nodes do not disturb.

use std::collections::BTreeSet;

use shark_store::{Entry, NodeWriter, Query, Store, StoreConfig, Tail, entry_schema};

use crate::util::Traffic;

const MINUTE: i64 = 60_000_000_000;

/// The wall clock in ns: follow is about entries of now.
fn now_ns() -> i64 {
    chrono::Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX)
}

/// An HTTP exchange `path` → `status` at `ts`.
fn exchange(ts: i64, path: &str, status: i64) -> Entry {
    let mut e = Entry {
        timestamp: ts,
        stream: 1,
        ..Entry::default()
    };
    e.node.name = "n".into();
    e.src.name = "checkout".into();
    e.dst.name = "web".into();
    e.dst.port = 80;
    e.protocol.name = "http".into();
    e.protocol.version = "1.1".into();
    e.request.insert("method".into(), "GET".into());
    e.request.insert("path".into(), path.into());
    e.response.insert("status".into(), status.into());
    e
}

fn filter(src: &str) -> Option<kfl::Filter> {
    Some(kfl::compile(src, &entry_schema()).unwrap_or_else(|d| panic!("{src}: {d}")))
}

/// Everything the tail has now.
fn drain(tail: &mut Tail) -> Vec<Entry> {
    std::iter::from_fn(|| tail.next_entry().unwrap()).collect()
}

fn paths(entries: &[Entry]) -> Vec<String> {
    entries
        .iter()
        .map(|e| {
            e.request
                .get("path")
                .and_then(|p| p.as_str())
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

#[test]
fn an_exchange_stored_five_minutes_after_it_started_is_shown_once() {
    let dir = tempfile::tempdir().unwrap();
    let now = now_ns();
    let mut writer = NodeWriter::open(dir.path(), "n", StoreConfig::default()).unwrap();
    writer
        .write_entry(exchange(now - 2 * MINUTE, "/before", 200))
        .unwrap();
    writer.flush().unwrap();

    let store = Store::open(dir.path()).unwrap();
    let mut tail = store.tail(None, None).unwrap();
    assert!(
        drain(&mut tail).is_empty(),
        "what was stored before the tail started is not new"
    );

    // A long poll answered now, started five minutes ago; then a quick exchange.
    writer
        .write_entry(exchange(now - 5 * MINUTE, "/long-poll", 200))
        .unwrap();
    writer.write_entry(exchange(now, "/quick", 200)).unwrap();
    writer.flush().unwrap();
    assert_eq!(paths(&drain(&mut tail)), ["/long-poll", "/quick"]);
    // Polling again finds nothing twice.
    assert!(drain(&mut tail).is_empty());
    writer
        .write_entry(exchange(now - 3 * MINUTE, "/slow", 504))
        .unwrap();
    writer.flush().unwrap();
    assert_eq!(paths(&drain(&mut tail)), ["/slow"]);
    assert!(drain(&mut tail).is_empty());
    writer.finish().unwrap();
}

#[test]
fn with_a_start_time_stored_entries_come_first_then_new_ones_none_twice() {
    let dir = tempfile::tempdir().unwrap();
    let now = now_ns();
    let mut writer = NodeWriter::open(dir.path(), "n", StoreConfig::default()).unwrap();
    for (i, path) in ["/old", "/a", "/b"].iter().enumerate() {
        writer
            .write_entry(exchange(now - (10 - i as i64) * MINUTE, path, 200))
            .unwrap();
    }
    writer.flush().unwrap();

    let store = Store::open(dir.path()).unwrap();
    let mut tail = store.tail(None, Some(now - 9 * MINUTE)).unwrap();
    // Written after the tail started but before its backlog was read: shown once, after it.
    writer
        .write_entry(exchange(now - 9 * MINUTE + 1, "/late", 200))
        .unwrap();
    writer.flush().unwrap();
    assert_eq!(paths(&drain(&mut tail)), ["/a", "/b", "/late"]);
    assert!(drain(&mut tail).is_empty());
    writer.finish().unwrap();
}

#[test]
fn the_filter_is_applied_in_the_index_and_on_each_entry() {
    let dir = tempfile::tempdir().unwrap();
    let now = now_ns();
    let store = Store::open(dir.path()).unwrap();
    // `response.status` is pushed down; `request.path.startsWith` is residual.
    let kfl = r#"http and response.status >= 500 and request.path.startsWith("/api")"#;
    let mut tail = store.tail(filter(kfl), None).unwrap();
    // The node appears while the tail runs: all of it is new.
    let mut writer = NodeWriter::open(dir.path(), "n", StoreConfig::default()).unwrap();
    let written = [
        ("/api/pay", 503),
        ("/api/cart", 200),
        ("/health", 500),
        ("/api/refund", 500),
    ];
    for (i, (path, status)) in written.iter().enumerate() {
        writer
            .write_entry(exchange(now - 4 * MINUTE + i as i64, path, *status))
            .unwrap();
    }
    writer.flush().unwrap();
    let shown = drain(&mut tail);
    assert_eq!(paths(&shown), ["/api/pay", "/api/refund"]);
    // The same as a query of the same filter.
    let queried: Vec<Entry> = Store::open(dir.path())
        .unwrap()
        .query(&Query {
            filter: filter(kfl),
            ..Query::default()
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(shown, queried);
    writer.finish().unwrap();
}

#[test]
fn bursts_larger_than_a_page_and_retention_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig {
        segment_size: 256 * 1024,
        storage_limit: Some(4 * 1024 * 1024),
        ..StoreConfig::default()
    };
    let mut writer = NodeWriter::open(dir.path(), "n", config).unwrap();
    let mut traffic = Traffic::new(now_ns() - 60 * MINUTE, 1_000_000, 8, 200);
    traffic.write_next(&mut writer).unwrap();
    writer.flush().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut tail = store.tail(None, None).unwrap();
    let mut shown = Vec::new();
    let mut written = 0;
    // 40 rounds of 1500 exchanges: more than a page of blocks per round, and retention deletes
    // old segments (and their entries and blocks) many times over.
    for _ in 0..40 {
        for _ in 0..1500 {
            traffic.write_next(&mut writer).unwrap();
            written += 1;
        }
        writer.flush().unwrap();
        shown.extend(drain(&mut tail).into_iter().map(|e| e.timestamp));
    }
    writer.finish().unwrap();
    let oldest_kept = Store::open(dir.path()).unwrap().status().unwrap()[0]
        .oldest_ns
        .unwrap();
    assert!(oldest_kept > traffic.ts(1), "retention ran");
    assert_eq!(shown.len(), written, "every exchange once");
    let want: Vec<i64> = (1..=written as u64).map(|i| traffic.ts(i)).collect();
    assert_eq!(shown, want, "in the order they were stored");
    assert_eq!(shown.iter().collect::<BTreeSet<_>>().len(), written);
}

#[test]
fn nodes_whose_index_is_being_created_never_fail_a_tail() {
    // A follower polls while writers of new nodes create their indexes: a node's index file is
    // only ever found whole (schema and all), so no poll fails on a half-made one.
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut tail = store.tail(None, None).unwrap();
    let root = dir.path().to_path_buf();
    let creator = std::thread::spawn(move || {
        for n in 0..40 {
            let mut writer =
                NodeWriter::open(&root, &format!("node-{n}"), StoreConfig::default()).unwrap();
            writer
                .write_entry(exchange(now_ns(), &format!("/from-{n}"), 200))
                .unwrap();
            writer.flush().unwrap();
        }
    });
    let mut seen = Vec::new();
    while !creator.is_finished() {
        while let Some(entry) = tail.next_entry().expect("a poll never fails") {
            seen.push(entry);
        }
    }
    creator.join().unwrap();
    seen.extend(drain(&mut tail));
    let mut shown = paths(&seen);
    shown.sort();
    let mut want: Vec<String> = (0..40).map(|n| format!("/from-{n}")).collect();
    want.sort();
    assert_eq!(shown, want, "every new node's entry, once");
}

#[test]
fn a_follower_resuming_after_the_last_entry_it_showed_misses_nothing_and_repeats_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let now = now_ns();
    let mut n = NodeWriter::open(dir.path(), "n", StoreConfig::default()).unwrap();
    n.write_entry(exchange(now - 10 * MINUTE, "/before", 200))
        .unwrap();
    n.flush().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let started = now - MINUTE;
    let mut first = store.tail(None, Some(started)).unwrap();
    n.write_entry(exchange(now, "/one", 200)).unwrap();
    n.write_entry(exchange(now, "/two", 200)).unwrap();
    n.flush().unwrap();
    let shown = drain(&mut first);
    assert_eq!(paths(&shown), ["/one", "/two"]);
    let newest = shown.iter().map(|e| e.id as i64).max().unwrap();
    drop(first);
    // The connection is gone; meanwhile more is stored, on `n` (one exchange that started long
    // ago) and on a node that appeared, `m`, whose entries the follower has not seen yet.
    n.write_entry(exchange(now - 5 * MINUTE, "/three", 200))
        .unwrap();
    n.write_entry(exchange(now, "/four", 200)).unwrap();
    n.flush().unwrap();
    let mut m = NodeWriter::open(dir.path(), "m", StoreConfig::default()).unwrap();
    let mut on_m = exchange(now, "/on-m", 200);
    on_m.node.name = "m".into();
    m.write_entry(on_m).unwrap();
    m.flush().unwrap();
    let mut resumed = store.tail(None, Some(started)).unwrap();
    resumed.resume_after(&[("n".to_string(), newest)].into_iter().collect());
    let mut again = paths(&drain(&mut resumed));
    again.sort();
    assert_eq!(again, ["/four", "/on-m", "/three"]);
}
