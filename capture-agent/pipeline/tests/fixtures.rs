//! Runs the pipeline over every public fixture capture and compares one summary line per entry
//! with `tests/expected/<folder>__<file>.txt` (derived from tshark and checked in). Also checks
//! that every packet tshark counts reaches the sink, and that hostile captures are survived.
//!
//! `SHARK_BLESS=1 cargo test -p shark-agent --test fixtures` rewrites the expected files; check
//! every rewritten file against tshark before committing it.

use std::fs;
use std::path::{Path, PathBuf};

use crate::common::{fixtures_dir, run_file};
use shark_pipeline::{SourceError, summary_line};

/// Every capture under the fixtures folder, as (`folder/file`, path), sorted.
fn captures() -> Vec<(String, PathBuf)> {
    let root = fixtures_dir();
    let mut found = Vec::new();
    for folder in
        fs::read_dir(&root).unwrap_or_else(|e| panic!("cannot list {}: {e}", root.display()))
    {
        let folder = folder.expect("fixture folder entry").path();
        if !folder.is_dir() {
            continue;
        }
        for file in fs::read_dir(&folder).expect("fixture folder") {
            let path = file.expect("fixture file").path();
            let folder_name = folder
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let file_name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            if file_name.starts_with("LICENSE") {
                continue; // each folder's license text sits beside its captures
            }
            found.push((format!("{folder_name}/{file_name}"), path));
        }
    }
    found.sort();
    found
}

/// The summary the pipeline gives for a capture: one line per entry, then the source error if any.
fn summarize(path: &Path) -> (String, crate::common::Run) {
    let run = run_file(path);
    let mut text = String::new();
    for entry in &run.sink.entries {
        text.push_str(&summary_line(entry));
        text.push('\n');
    }
    if let Some(error) = &run.error {
        let message = error
            .to_string()
            .replace(&fixtures_dir().display().to_string(), "<fixtures>");
        text.push_str(&format!("source error: {message}\n"));
    }
    (text, run)
}

fn expected_path(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/expected"))
        .join(format!("{}.txt", name.replace('/', "__")))
}

/// Packet counts from the fixtures' inventory (counted by tshark), by `folder/file`.
fn tshark_packet_counts() -> Vec<(String, u64)> {
    let inventory =
        fs::read_to_string(fixtures_dir().join("inventory.tsv")).expect("fixtures inventory.tsv");
    inventory
        .lines()
        .filter_map(|line| {
            let mut cols = line.split('\t');
            let name = cols.next()?.to_string();
            let packets = cols.nth(1)?.parse().ok()?;
            Some((name, packets))
        })
        .collect()
}

#[test]
fn every_fixture_gives_the_entries_tshark_finds() {
    let bless = std::env::var_os("SHARK_BLESS").is_some_and(|v| v == "1");
    let mut failures = Vec::new();
    let captures = captures();
    assert!(
        captures.len() > 50,
        "expected the public fixtures, found {} files",
        captures.len()
    );
    for (name, path) in captures
        .iter()
        .filter(|(name, _)| !name.ends_with(".md") && !name.ends_with(".tsv"))
    {
        let (actual, _) = summarize(path);
        let expected_file = expected_path(name);
        if bless {
            fs::create_dir_all(expected_file.parent().expect("expected dir"))
                .expect("create expected dir");
            fs::write(&expected_file, &actual).expect("write expected file");
            continue;
        }
        match fs::read_to_string(&expected_file) {
            Ok(expected) if expected == actual => {}
            Ok(expected) => failures.push(format!(
                "{name}:\n--- expected\n{expected}--- actual\n{actual}"
            )),
            Err(_) => failures.push(format!(
                "{name}: no expected file {}; actual:\n{actual}",
                expected_file.display()
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} fixture(s) differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_packet_tshark_counts_reaches_the_sink() {
    for (name, packets) in tshark_packet_counts() {
        let run = run_file(&fixtures_dir().join(&name));
        if let Some(SourceError::UnsupportedLinkType { linktype, .. }) = run.error {
            // Refused as a whole with a clear message (PPP in truncated-aack.pcap).
            assert_eq!(
                (name.as_str(), linktype),
                ("tcpdump/truncated-aack.pcap", 9)
            );
            continue;
        }
        assert_eq!(
            run.sink.packets.len() as u64,
            packets,
            "{name}: packets handed to the sink"
        );
        assert_eq!(run.stats.packets, packets, "{name}: packets counted");
    }
}

/// Captures the fixtures README lists as malformed or hostile.
const HOSTILE: &[&str] = &[
    "tcpdump/tcp_header_heapoverflow.pcap",
    "tcpdump/heapoverflow-tcp_print.pcap",
    "tcpdump/dns-zlip-1.pcap",
    "tcpdump/dns-badlabel.pcap",
    "tcpdump/resp_3_malicious.pcap",
    "tcpdump/resp_4_infiniteloop.pcapng",
    "tcpdump/time_2106_overflow.pcapng",
    "tcpdump/truncated-aack.pcap",
    "pcap-parser/err-buffertoosmall.pcapng",
    "pcap-parser/err-eof.bin",
];

#[test]
fn hostile_captures_are_survived_and_what_is_readable_is_kept() {
    for name in HOSTILE {
        let path = fixtures_dir().join(name);
        assert!(path.exists(), "{name} is missing from the fixtures");
        let run = run_file(&path);
        assert_eq!(
            run.sink.packets.len() as u64,
            run.stats.packets,
            "{name}: every packet read reaches the sink"
        );
    }
    // resp_3_malicious: 163 packets over many Redis connections on loopback; all are kept and
    // every connection still yields an entry.
    let run = run_file(&fixtures_dir().join("tcpdump/resp_3_malicious.pcap"));
    assert_eq!(run.sink.packets.len(), 163);
    assert!(run.error.is_none());
    assert!(!run.sink.entries.is_empty());
    // A TCP header claiming more than the packet holds is a decode error, not a crash.
    let run = run_file(&fixtures_dir().join("tcpdump/tcp_header_heapoverflow.pcap"));
    assert_eq!(run.stats.packets, 1);
    // A file that is not a capture gets a clear error naming it.
    let run = run_file(&fixtures_dir().join("pcap-parser/err-eof.bin"));
    let error = run.error.map(|e| e.to_string()).unwrap_or_default();
    assert!(
        error.ends_with("err-eof.bin is not a pcap or pcapng file"),
        "{error}"
    );
    // time_2106_overflow: a timestamp past 2106 is kept as is (nanoseconds fit in i64 until 2262).
    let run = run_file(&fixtures_dir().join("tcpdump/time_2106_overflow.pcapng"));
    assert_eq!(run.sink.packets.len(), 1);
    assert!(
        run.sink
            .entries
            .iter()
            .all(|e| e.timestamp > 4_291_747_200_000_000_000),
        "timestamp after 2106-01-01"
    );
}
