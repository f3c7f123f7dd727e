//! A writer killed with SIGKILL mid-import: reopening recovers a consistent store.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use shark_store::{NodeWriter, Query, Store, StoreConfig};

use crate::util::{Traffic, segment_files, tshark_count};

const ROOT_VAR: &str = "SHARK_STORE_CRASH_ROOT";
const START_NS: i64 = 1_700_000_000_000_000_000;
const FLUSHED_AT: u64 = 3_000;

fn config() -> StoreConfig {
    StoreConfig {
        segment_size: 1024 * 1024,
        ..StoreConfig::default()
    }
}

/// The writer process the crash test kills; it only writes when the crash test starts it (with
/// the store root in its environment) and does nothing in a normal test run.
#[test]
fn crash_child_writer() {
    let Ok(root) = std::env::var(ROOT_VAR) else {
        return;
    };
    let mut writer = NodeWriter::open(root.as_ref(), "n", config()).unwrap();
    let mut traffic = Traffic::new(START_NS, 1_000_000, 16, 200);
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        traffic.write_next(&mut writer).unwrap();
        if traffic.next == FLUSHED_AT {
            writer.flush().unwrap();
            println!("flushed");
        }
    }
}

#[test]
fn sigkill_mid_import_loses_nothing_sealed_and_writing_continues() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "crash::crash_child_writer",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ROOT_VAR, dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let flushed = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .any(|l| l.ends_with("flushed"));
    assert!(flushed, "the writer never reported its flush");
    // Let it seal a few segments, then kill it while one is open.
    std::thread::sleep(Duration::from_millis(300));
    let part_open = || {
        segment_files(dir.path(), "n")
            .iter()
            .any(|f| f.to_string_lossy().ends_with(".part"))
    };
    while !part_open() {
        std::thread::yield_now();
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let parts = segment_files(dir.path(), "n")
        .iter()
        .filter(|f| f.to_string_lossy().ends_with(".part"))
        .count();
    // One being written, and any closed ones whose sync and rename still waited on the index
    // thread (several when the disk is slow); recovery below must seal every one of them.
    assert!(parts >= 1, "killed while a segment was open: {parts}");

    // Readers work on the crashed store as it is.
    let store = Store::open(dir.path()).unwrap();
    assert!(store.query(&Query::default()).unwrap().count() as u64 >= FLUSHED_AT);

    // Reopening for writing recovers: the .part is cut, sealed and indexed.
    let mut writer = NodeWriter::open(dir.path(), "n", config()).unwrap();
    let files = segment_files(dir.path(), "n");
    assert!(
        files
            .iter()
            .all(|f| f.extension().is_some_and(|e| e == "pcap")),
        "{files:?}"
    );
    let in_files: usize = files.iter().map(|f| tshark_count(f, "")).sum();
    let walked: Vec<u64> = store.packets("n").unwrap().map(|p| p.number).collect();
    assert_eq!(walked.len(), in_files);
    assert!(
        walked.windows(2).all(|w| w[1] == w[0] + 1),
        "packet numbers are contiguous"
    );

    let entries: Vec<_> = store
        .query(&Query::default())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut ids: Vec<u64> = entries.iter().map(|e| e.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), entries.len(), "no duplicate rows");
    // Everything flushed before the kill is there with its packets.
    let last_walked = walked.last().copied().unwrap_or(0);
    for e in entries.iter().filter(|e| e.id <= FLUSHED_AT) {
        assert!(
            e.packets.last <= last_walked,
            "entry {} lost its packets",
            e.id
        );
    }
    assert_eq!(
        entries.iter().filter(|e| e.id <= FLUSHED_AT).count() as u64,
        FLUSHED_AT
    );

    // Writing continues after the recovered data.
    let mut traffic = Traffic::new(START_NS + 3_600_000_000_000, 1_000_000, 4, 200);
    let more: Vec<_> = (0..100)
        .map(|_| traffic.write_next(&mut writer).unwrap())
        .collect();
    writer.finish().unwrap();
    assert!(more.iter().all(|e| e.packets.first > last_walked));
    let after = store.query(&Query::default()).unwrap().count();
    assert_eq!(after, entries.len() + 100);
}
