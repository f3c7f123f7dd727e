//! Retention after a flood: a scan brings a new identity per packet; once it has aged out, its
//! identities and names are freed, the index gives its pages back, and a storage limit keeps
//! what was just written whatever the index weighs.

use std::path::Path;
use std::time::Duration;

use shark_store::{Entry, NodeWriter, Query, RawPacket, Store, StoreConfig};

use crate::util::{Traffic, udp_frame};

const START: i64 = 1_700_000_000_000_000_000;
const SECOND: i64 = 1_000_000_000;

/// Rows of `table` in the node's index.
fn rows(root: &Path, table: &str) -> i64 {
    let conn = rusqlite::Connection::open(root.join("n/index.sqlite")).unwrap();
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

fn index_bytes(root: &Path) -> u64 {
    Store::open(root).unwrap().status().unwrap()[0].index_bytes
}

/// Writes `count` one-packet entries from distinct scanning addresses, `step_ns` apart from `ts`.
fn flood(writer: &mut NodeWriter, ts: i64, count: u32, step_ns: i64) {
    let frame = udp_frame(1, 0, false);
    for i in 0..count {
        let ts = ts + i64::from(i) * step_ns;
        let stream = writer.alloc_stream();
        let packet = RawPacket {
            ts_ns: ts,
            orig_len: frame.len() as u32,
            linktype: 1,
            data: &frame,
        };
        let number = writer.write_packet(&packet, Some(stream)).unwrap();
        let mut e = Entry {
            timestamp: ts,
            stream,
            ..Entry::default()
        };
        e.node.name = "n".into();
        e.src.ip = format!("172.{}.{}.{}", 16 + (i >> 16), (i >> 8) & 255, i & 255);
        e.src.port = 40_000;
        e.dst.ip = "10.0.0.2".into();
        e.dst.port = 80;
        e.protocol.name = "tcp".into();
        e.packets.first = number;
        e.packets.last = number;
        writer.write_entry(e).unwrap();
    }
}

fn all(store: &Store, filter: Option<&str>) -> Vec<Entry> {
    let q = Query {
        filter: filter.map(|f| kfl::compile(f, &shark_store::entry_schema()).unwrap()),
        ..Query::default()
    };
    store.query(&q).unwrap().collect::<Result<_, _>>().unwrap()
}

#[test]
fn retention_after_a_flood_frees_its_identities_and_shrinks_the_index() {
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig {
        segment_age: Duration::from_secs(5),
        retention: Some(Duration::from_secs(30)),
        ..StoreConfig::default()
    };
    let mut writer = NodeWriter::open(dir.path(), "n", config).unwrap();
    flood(&mut writer, START, 60_000, 100_000);
    writer.flush().unwrap();
    let (parts_flooded, names_flooded) = (rows(dir.path(), "parts"), rows(dir.path(), "names"));
    let flooded_bytes = index_bytes(dir.path());
    assert!(parts_flooded > 60_000 && names_flooded > 60_000);
    // Then two minutes of ordinary traffic between two endpoints: the flood ages out.
    let mut traffic = Traffic::new(START + 10 * SECOND, 100_000_000, 4, 100);
    for _ in 0..1200 {
        traffic.write_next(&mut writer).unwrap();
    }
    writer.finish().unwrap();
    let (parts, names) = (rows(dir.path(), "parts"), rows(dir.path(), "names"));
    let bytes = index_bytes(dir.path());
    assert!(
        parts < 10 && names < 20,
        "identities {parts_flooded} → {parts}, names {names_flooded} → {names}"
    );
    assert!(
        bytes * 10 < flooded_bytes,
        "the index went from {flooded_bytes} to {bytes} bytes"
    );
    // What is kept still reads back whole, identities included, and filters on names.
    let store = Store::open(dir.path()).unwrap();
    let kept = all(&store, None);
    assert!(kept.len() > 250 && kept.iter().all(|e| e.src.ip == "10.0.0.1"));
    assert_eq!(
        all(&store, Some(r#"src.ip == "10.0.0.1""#)).len(),
        kept.len()
    );
    // A writer opened again numbers on and reads nothing it no longer needs.
    let mut writer = NodeWriter::open(dir.path(), "n", config).unwrap();
    let added = traffic.write_next(&mut writer).unwrap();
    writer.finish().unwrap();
    let again = all(&Store::open(dir.path()).unwrap(), None);
    assert_eq!(
        again.last().map(|e| (e.timestamp, e.src.ip.as_str())),
        Some((added.timestamp, "10.0.0.1"))
    );
}

#[test]
fn an_identity_freed_by_retention_and_seen_again_is_stored_again() {
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig {
        segment_age: Duration::from_secs(5),
        retention: Some(Duration::from_secs(20)),
        ..StoreConfig::default()
    };
    let mut writer = NodeWriter::open(dir.path(), "n", config).unwrap();
    // One scanner at the start, then 100 s without it (it ages out), then it comes back.
    flood(&mut writer, START, 1, 1);
    let mut traffic = Traffic::new(START + SECOND, 100_000_000, 4, 100);
    for _ in 0..1000 {
        traffic.write_next(&mut writer).unwrap();
    }
    writer.flush().unwrap();
    let scanner = r#"src.ip == "172.16.0.0""#;
    assert!(all(&Store::open(dir.path()).unwrap(), Some(scanner)).is_empty());
    flood(&mut writer, traffic.ts(traffic.next), 1, 1);
    writer.finish().unwrap();
    let back = all(&Store::open(dir.path()).unwrap(), Some(scanner));
    assert_eq!(
        back.len(),
        1,
        "found by its (freed, then stored again) name"
    );
    assert_eq!(back[0].src.ip, "172.16.0.0", "its identity reads back");
}

#[test]
fn a_storage_limit_below_the_index_keeps_the_newest_sealed_segment() {
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig {
        segment_size: 64 * 1024,
        // Less than the index alone weighs.
        storage_limit: Some(1024),
        ..StoreConfig::default()
    };
    let mut writer = NodeWriter::open(dir.path(), "n", config).unwrap();
    let mut traffic = Traffic::new(START, 1_000_000, 4, 1000);
    for _ in 0..500 {
        traffic.write_next(&mut writer).unwrap();
    }
    writer.finish().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let status = &store.status().unwrap()[0];
    assert_eq!(status.segments, 1, "the newest sealed segment stays");
    assert_eq!(status.newest_ns, Some(traffic.ts(traffic.next - 1) + 1000));
    let kept = all(&store, None);
    assert!(!kept.is_empty());
    assert_eq!(
        kept.last().map(|e| e.timestamp),
        Some(traffic.ts(traffic.next - 1))
    );
}
