//! Ingest into a store: the file read ahead on a thread of its own (as `import` reads it) writes
//! the same store as the file read on the pipeline's thread, the same segment files byte for byte
//! and the same index rows, entry ids and order included; and a packet the store refuses fails
//! the ingest with the store's error.

use std::collections::BTreeMap;
use std::path::Path;

use crate::common::{demo_capture, index_rows};
use shark_pipeline::identities::{IdentityHistory, SharedIdentities};
use shark_pipeline::{FileSource, Ingest, OwnedPacket, Packet, ReadAhead};
use shark_store::{StoreConfig, StoreError};

/// Segments of a few KiB, so segments rotate and flows span several of them.
fn small_segments() -> StoreConfig {
    StoreConfig {
        segment_size: 16 << 10,
        ..StoreConfig::default()
    }
}

fn open(root: &Path) -> Ingest {
    let identities = SharedIdentities::new(IdentityHistory::new());
    Ingest::open(root, "n", small_segments(), identities, 16, 4096).expect("store opens")
}

/// Imports the demo capture `times` times over (later copies shifted a day, as new traffic) into a
/// new store: the file read on the pipeline's thread, or read ahead on a thread of its own.
fn import(read_ahead: bool, times: i64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut ingest = open(dir.path());
    for day in 0..times {
        let shift = day * 86_400_000_000_000;
        let mut source = FileSource::open(demo_capture()).expect("capture opens");
        if !read_ahead {
            let mut packet = OwnedPacket::default();
            while source.next_into(&mut packet).expect("packet reads") {
                packet.ts_ns += shift;
                ingest
                    .push_packet(packet.as_packet())
                    .expect("packet stored");
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
fn the_file_read_ahead_writes_the_same_segments_and_index_as_read_in_line() {
    // Enough packets for many of the reader's batches (each holds at most 1024 packets or 256 KiB).
    let (line, ahead) = (import(false, 12), import(true, 12));
    let (line_segments, ahead_segments) = (segments(line.path()), segments(ahead.path()));
    let written = line_segments.len();
    assert!(written > 100, "{written} segments");
    assert_eq!(
        line_segments.keys().collect::<Vec<_>>(),
        ahead_segments.keys().collect::<Vec<_>>()
    );
    assert!(line_segments == ahead_segments, "segment bytes differ");
    let (line_index, ahead_index) = (index_rows(line.path()), index_rows(ahead.path()));
    let entries = line_index
        .iter()
        .find(|(table, _)| table == "entries")
        .map_or(0, |(_, rows)| rows.len());
    assert!(entries > 300, "{entries} entries");
    for ((table, line_rows), (_, ahead_rows)) in line_index.iter().zip(&ahead_index) {
        assert!(line_rows == ahead_rows, "table {table} differs");
    }
    assert_eq!(line_index.len(), ahead_index.len());
    // Written in the same order too (the index file's bytes follow it).
    for table in ["blocks", "flows", "segments", "state_packets", "parts"] {
        assert!(
            as_written(line.path(), table) == as_written(ahead.path(), table),
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
fn a_packet_the_store_refuses_fails_the_ingest_with_the_stores_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut ingest = open(dir.path());
    // Classic PCAP cannot hold a timestamp before 1970: the writer refuses the packet.
    let before_1970 = OwnedPacket {
        ts_ns: -1,
        orig_len: 60,
        linktype: 1,
        data: vec![0; 60],
    };
    let pushed = ingest.push_packet(before_1970.as_packet());
    assert!(
        matches!(pushed, Err(StoreError::BadPacket { ts_ns: -1, .. })),
        "{pushed:?}"
    );
}
