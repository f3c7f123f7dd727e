//! Ingest with the store's writer on a thread of its own (`import --threads 2`), and the file
//! read ahead on another, writes the same store as with the writer on the pipeline's thread: the same segment files byte for
//! byte and the same index rows, entry ids and order included; and a store error on the writer
//! thread still reaches the caller.

use std::collections::BTreeMap;
use std::path::Path;

use crate::common::{demo_capture, index_rows};
use shark_pipeline::identities::{IdentityHistory, SharedIdentities};
use shark_pipeline::{FileSource, Ingest, OwnedPacket, Packet, ReadAhead};
use shark_store::{StoreConfig, StoreError};

/// Segments of a few KiB, so segments rotate and flows span several of them while batches are
/// handed from one thread to the other.
fn small_segments() -> StoreConfig {
    StoreConfig {
        segment_size: 16 << 10,
        ..StoreConfig::default()
    }
}

fn open(root: &Path, one_thread: bool) -> Ingest {
    let identities = SharedIdentities::new(IdentityHistory::new());
    let ingest =
        Ingest::open(root, "n", small_segments(), identities, 16, 4096).expect("store opens");
    if one_thread {
        ingest
    } else {
        ingest.with_store_thread().expect("writer thread starts")
    }
}

/// Imports the demo capture `times` times over (later copies shifted a day, as new traffic) into a
/// new store: all on one thread, or with the writer on its own and the file read ahead on another.
fn import(one_thread: bool, times: i64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut ingest = open(dir.path(), one_thread);
    for day in 0..times {
        let shift = day * 86_400_000_000_000;
        let mut source = FileSource::open(demo_capture()).expect("capture opens");
        if one_thread {
            let mut packet = OwnedPacket::default();
            while source.next_into(&mut packet).expect("packet reads") {
                packet.ts_ns += shift;
                ingest.push(&packet).expect("packet stored");
            }
            continue;
        }
        let mut ahead = ReadAhead::start(source).expect("reader starts");
        while let Some(packet) = ahead.next_packet().expect("packet reads") {
            let packet = Packet {
                ts_ns: packet.ts_ns + shift,
                ..packet
            };
            ingest.push_packet(packet).expect("packet stored");
        }
    }
    ingest.finish().expect("import finishes");
    dir
}

/// Every segment file of node `n`, by name, with its bytes.
fn segments(root: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(root.join("n").join("segments"))
        .expect("segments dir")
        .map(|file| {
            let path = file.expect("segment").path();
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            (name, std::fs::read(&path).expect("segment reads"))
        })
        .collect()
}

#[test]
fn two_threads_write_the_same_segments_and_index_as_one() {
    // Enough packets for many batches (each holds at most 1024 operations or 256 KiB).
    let (one, two) = (import(true, 12), import(false, 12));
    let (one_segments, two_segments) = (segments(one.path()), segments(two.path()));
    assert!(one_segments.len() > 100, "{} segments", one_segments.len());
    assert_eq!(
        one_segments.keys().collect::<Vec<_>>(),
        two_segments.keys().collect::<Vec<_>>()
    );
    assert!(one_segments == two_segments, "segment bytes differ");
    let (one_index, two_index) = (index_rows(one.path()), index_rows(two.path()));
    let entries = one_index
        .iter()
        .find(|(table, _)| table == "entries")
        .map_or(0, |(_, rows)| rows.len());
    assert!(entries > 300, "{entries} entries");
    for ((table, one_rows), (_, two_rows)) in one_index.iter().zip(&two_index) {
        assert!(one_rows == two_rows, "table {table} differs");
    }
    assert_eq!(one_index.len(), two_index.len());
    // Written in the same order too (the index file's bytes follow it).
    for table in ["blocks", "flows", "segments", "state_packets", "parts"] {
        assert!(
            as_written(one.path(), table) == as_written(two.path(), table),
            "table {table} written in another order"
        );
    }
}

/// The rows of `table` of node `n`'s index in the order they were inserted, as text.
fn as_written(root: &Path, table: &str) -> Vec<String> {
    let conn = rusqlite::Connection::open(root.join("n").join("index.sqlite")).expect("index");
    let mut statement = conn
        .prepare(&format!("SELECT * FROM {table} ORDER BY rowid"))
        .expect("table");
    let columns = statement.column_count();
    statement
        .query_map([], |row| {
            let values: Vec<String> = (0..columns)
                .map(|i| format!("{:?}", row.get_ref(i)))
                .collect();
            Ok(values.join("|"))
        })
        .and_then(Iterator::collect)
        .expect("rows")
}

#[test]
fn a_store_error_on_the_writer_thread_reaches_the_caller() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut ingest = open(dir.path(), false);
    // Classic PCAP cannot hold a timestamp before 1970: the writer refuses the packet.
    let before_1970 = OwnedPacket {
        ts_ns: -1,
        orig_len: 60,
        linktype: 1,
        data: vec![0; 60],
    };
    let pushed = ingest.push(&before_1970);
    let outcome = pushed.and_then(|()| ingest.finish().map(|_| ()));
    assert!(
        matches!(outcome, Err(StoreError::BadPacket { ts_ns: -1, .. })),
        "{outcome:?}"
    );
}
