//! A node's store as the CLI writes it: one writer at a time, node names that stay inside the
//! store, errors said once, and an export that says when packets are gone.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::util::{fixture, import, query_json, run, shark};

/// A classic little-endian PCAP holding `copies` copies of the fixture `name`, each a second after
/// the one before: a capture that takes a while to import.
fn repeated(name: &str, copies: u32, out: &Path) {
    let bytes = std::fs::read(fixture(name)).unwrap();
    assert_eq!(
        bytes[..4],
        [0xd4, 0xc3, 0xb2, 0xa1],
        "a little-endian microsecond PCAP"
    );
    let (header, records) = bytes.split_at(24);
    let mut data = header.to_vec();
    let (mut at, mut first, mut span) = (0, None, 0u32);
    let mut spans = Vec::new();
    while at + 16 <= records.len() {
        let sec = u32::from_le_bytes(records[at..at + 4].try_into().unwrap());
        let len = u32::from_le_bytes(records[at + 8..at + 12].try_into().unwrap()) as usize;
        let start = *first.get_or_insert(sec);
        span = span.max(sec - start + 1);
        spans.push((at, 16 + len));
        at += 16 + len;
    }
    for copy in 0..copies {
        for &(at, len) in &spans {
            let mut record = records[at..at + len].to_vec();
            let sec = u32::from_le_bytes(record[..4].try_into().unwrap()) + copy * span;
            record[..4].copy_from_slice(&sec.to_le_bytes());
            data.extend_from_slice(&record);
        }
    }
    std::fs::write(out, data).unwrap();
}

#[test]
fn a_second_import_into_a_node_being_written_is_refused_naming_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let (store, capture) = (dir.path().join("store"), dir.path().join("big.pcap"));
    repeated("deepflow/http.pcap", 2_000, &capture);
    let mut first = shark()
        .arg("import")
        .arg(&capture)
        .arg("--store")
        .arg(&store)
        .args(["--node", "n"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The first import holds the node once it wrote its pid into the lock.
    let lock = store.join("n/writer.lock");
    let holder = format!("pid {} on host ", first.id());
    let started = Instant::now();
    while !std::fs::read_to_string(&lock).is_ok_and(|l| l.starts_with(&holder)) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the first import never took the node"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let second = run(shark()
        .arg("import")
        .arg(fixture("deepflow/http.pcap"))
        .arg("--store")
        .arg(&store)
        .args(["--node", "n"]));
    let first_running = first.try_wait().unwrap().is_none();
    assert_eq!(
        second.code, 2,
        "a second writer was let in (the first still running: {first_running}): {}",
        second.stderr
    );
    assert!(
        first_running,
        "the first import ended before the second ran: make the capture bigger"
    );
    assert_eq!(second.stderr.lines().count(), 1, "{}", second.stderr);
    assert!(second.stderr.contains(&holder), "{}", second.stderr);
    assert!(first.wait().unwrap().success());
    // The node holds exactly the first import, whole: as many entries and packets as the capture
    // imported alone, and every entry exports its packets.
    let alone = tempfile::tempdir().unwrap();
    import(alone.path(), &capture, "n");
    let summary = |s: &Path| {
        let r = run(shark()
            .args(["export", "--store"])
            .arg(s)
            .args(["http", "-o"])
            .arg(s.join("out.pcap")));
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(!r.stderr.contains("warning"), "{}", r.stderr);
        let said = r.stderr.split(" to ").next().unwrap_or_default().to_owned();
        (query_json(s, &[]).len(), said)
    };
    assert_eq!(summary(&store), summary(alone.path()));
    // Once the first has ended, the node takes a writer again.
    import(&store, &fixture("deepflow/http.pcap"), "n");
}

#[test]
fn a_node_name_that_is_a_path_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("a/b/store");
    for name in ["../../x", "/tmp/shark-abs", "a/b", "", "."] {
        let r = run(shark()
            .arg("import")
            .arg(fixture("deepflow/http.pcap"))
            .arg("--store")
            .arg(&store)
            .args(["--node", name]));
        assert_eq!(r.code, 2, "{name:?}: {}", r.stderr);
        let first = r.stderr.lines().next().unwrap_or_default();
        assert!(first.contains("is not valid"), "{name:?}: {}", r.stderr);
    }
    assert!(!store.exists() && !dir.path().join("a/x").exists());
    assert!(!Path::new("/tmp/shark-abs").exists());
}

#[test]
fn a_damaged_index_is_reported_with_its_cause_said_once() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("n")).unwrap();
    std::fs::write(dir.path().join("n/index.sqlite"), vec![b'x'; 4096]).unwrap();
    for command in ["query", "status"] {
        let r = run(shark().args([command, "--store"]).arg(dir.path()));
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert_eq!(
            r.stderr.matches("file is not a database").count(),
            1,
            "{}",
            r.stderr
        );
    }
}

#[test]
fn an_export_of_entries_whose_packets_are_gone_warns_and_counts_them() {
    let dir = tempfile::tempdir().unwrap();
    import(dir.path(), &fixture("deepflow/http.pcap"), "n");
    let entries = query_json(dir.path(), &["http"]).len();
    assert!(entries > 0);
    // The segments are lost; the next writer forgets them, the entries stay.
    for f in std::fs::read_dir(dir.path().join("n/segments")).unwrap() {
        std::fs::remove_file(f.unwrap().path()).unwrap();
    }
    import(dir.path(), &fixture("deepflow/dns__dns.pcap"), "n");
    let r = run(shark()
        .args(["export", "--store"])
        .arg(dir.path())
        .args(["http", "-o"])
        .arg(dir.path().join("out.pcap")));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let warnings: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", r.stderr);
    assert!(
        warnings[0].contains(&format!(
            "{entries} of the {entries} matching entries have no packets left"
        )),
        "{}",
        r.stderr
    );
}
