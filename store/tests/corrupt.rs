//! Damaged sealed segments are skipped with a warning naming them; the rest still answers.

use shark_store::{Query, Store, StoreConfig};

use crate::util::{self, capture_logs, fixture, segment_files, tshark_count};

#[test]
fn damaged_segments_are_skipped_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig {
        segment_size: 100_000,
        ..StoreConfig::default()
    };
    let entries = util::import(
        dir.path(),
        "n",
        &fixture("deepflow/redis__redis.pcap"),
        config,
    );
    util::import(
        dir.path(),
        "m",
        &fixture("deepflow/http__sw8.pcap"),
        StoreConfig::default(),
    );
    let files = segment_files(dir.path(), "n");
    assert!(files.len() >= 3, "{files:?}");
    let counts: Vec<usize> = files.iter().map(|f| tshark_count(f, "")).collect();
    // One segment loses its header, another is cut in the middle of a record.
    std::fs::write(&files[0], b"this is not a pcap").unwrap();
    let len = std::fs::metadata(&files[1]).unwrap().len();
    let cut = std::fs::OpenOptions::new()
        .write(true)
        .open(&files[1])
        .unwrap();
    cut.set_len(len / 2).unwrap();
    drop(cut);
    let kept_of_cut = tshark_count_lenient(&files[1]);

    let store = Store::open(dir.path()).unwrap();
    let found = store.query(&Query::default()).unwrap().count();
    assert_eq!(
        found,
        entries.len() + 3,
        "the index still answers for every entry"
    );

    let (exported, logs) = capture_logs(|| {
        let mut out = Vec::new();
        store
            .export(&Query::default(), false, &mut out)
            .map(|s| (s, out))
    });
    let (summary, _) = exported.unwrap();
    let expected = counts[2..].iter().sum::<usize>()
        + kept_of_cut
        + tshark_count(&fixture("deepflow/http__sw8.pcap"), "");
    assert_eq!(summary.packets as usize, expected);
    for damaged in &files[..2] {
        assert!(
            logs.contains(&damaged.display().to_string()),
            "no warning names {}: {logs}",
            damaged.display()
        );
    }
}

/// Packets tshark reads from a file cut mid-record (it reads the whole ones, then complains).
fn tshark_count_lenient(path: &std::path::Path) -> usize {
    let out = std::process::Command::new("tshark")
        .arg("-r")
        .arg(path)
        .args(["-T", "fields", "-e", "frame.number"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).lines().count()
}
