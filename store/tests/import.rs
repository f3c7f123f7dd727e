//! Writing real captures into a store and reading them back: segments, entries, status, export.

use std::path::Path;

use shark_store::{Entry, Query, Store, StoreConfig, StoreError};

use crate::util::{self, fixture, read_pcap, segment_files, tshark_count};

const HTTP: &str = "deepflow/http__sw8.pcap";
const DNS: &str = "tcpdump/edns-opts.pcap";
const REDIS: &str = "deepflow/redis__redis.pcap";
const SLL: &str = "tcpdump/resp_1_benchmark.pcap";

fn all_entries(store: &Store, q: &Query) -> Vec<Entry> {
    store
        .query(q)
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("entries")
}

#[test]
fn every_segment_opens_in_tshark_and_holds_every_packet() {
    let dir = tempfile::tempdir().unwrap();
    // Small segments, so the capture spans several.
    let config = StoreConfig {
        segment_size: 100_000,
        ..StoreConfig::default()
    };
    util::import(dir.path(), "node-a", &fixture(REDIS), config);
    let files = segment_files(dir.path(), "node-a");
    assert!(
        files.len() > 1,
        "expected rotation into several segments, got {files:?}"
    );
    assert!(
        files
            .iter()
            .all(|f| f.extension().is_some_and(|e| e == "pcap")),
        "all sealed: {files:?}"
    );
    let total: usize = files.iter().map(|f| tshark_count(f, "")).sum();
    assert_eq!(total, tshark_count(&fixture(REDIS), ""));
    // Nanosecond timestamps survive: the first packet's time matches the capture's.
    let first = tshark_fields_time(&files[0]);
    assert_eq!(first, tshark_fields_time(&fixture(REDIS)));
}

fn tshark_fields_time(path: &Path) -> String {
    util::tshark_fields(path, "frame.number == 1", &["frame.time_epoch"])
        .concat()
        .concat()
}

#[test]
fn segments_rotate_by_age_and_link_type() {
    let dir = tempfile::tempdir().unwrap();
    let age = 10_000_000_000;
    let config = StoreConfig {
        segment_age: std::time::Duration::from_nanos(age as u64),
        ..StoreConfig::default()
    };
    util::import(dir.path(), "n", &fixture(REDIS), config);
    // A segment holds the packets of at most `age` from its first one.
    let packets = read_pcap(&fixture(REDIS));
    let mut expected = Vec::new();
    for p in &packets {
        match expected.last_mut() {
            Some((first, count)) if p.ts_ns - *first < age => *count += 1,
            _ => expected.push((p.ts_ns, 1)),
        }
    }
    let files = segment_files(dir.path(), "n");
    let counts: Vec<usize> = files.iter().map(|f| tshark_count(f, "")).collect();
    assert_eq!(counts, expected.iter().map(|(_, c)| *c).collect::<Vec<_>>());
    // A Linux-cooked capture into the same node starts a new segment of that link type.
    util::import(dir.path(), "n", &fixture(SLL), config);
    let files = segment_files(dir.path(), "n");
    let sll: Vec<_> = files
        .iter()
        .filter(|f| {
            util::tshark_fields(f, "frame.number == 1", &["sll.pkttype"])
                .concat()
                .concat()
                != ""
        })
        .collect();
    assert!(!sll.is_empty());
    let sll_packets: usize = sll.iter().map(|f| tshark_count(f, "")).sum();
    assert_eq!(sll_packets, tshark_count(&fixture(SLL), ""));
}

#[test]
fn entries_come_back_in_time_order_across_nodes() {
    let dir = tempfile::tempdir().unwrap();
    let http = util::import(dir.path(), "node-a", &fixture(HTTP), StoreConfig::default());
    let dns = util::import(dir.path(), "node-b", &fixture(DNS), StoreConfig::default());
    assert_eq!(http.len(), 3, "tshark sees three HTTP exchanges");
    assert_eq!(
        dns.len(),
        tshark_count(&fixture(DNS), "dns.flags.response == 0")
    );
    let store = Store::open(dir.path()).unwrap();
    let got = all_entries(&store, &Query::default());
    assert_eq!(got.len(), http.len() + dns.len());
    assert!(got.windows(2).all(|w| w[0].timestamp <= w[1].timestamp));
    // What was written is what comes back (ids are assigned by the store).
    let mut expected: Vec<Entry> = http.iter().chain(&dns).cloned().collect();
    expected.sort_by_key(|e| (e.timestamp, e.node.name.clone()));
    let mut stripped: Vec<Entry> = got.into_iter().map(|e| Entry { id: 0, ..e }).collect();
    stripped.sort_by_key(|e| (e.timestamp, e.node.name.clone()));
    assert_eq!(stripped, expected);
    // A window and a limit.
    let (from, to) = (http[1].timestamp, http[2].timestamp);
    let window = all_entries(
        &store,
        &Query {
            from: Some(from),
            to: Some(to),
            ..Query::default()
        },
    );
    assert_eq!(
        window.iter().map(|e| e.timestamp).collect::<Vec<_>>(),
        vec![from]
    );
    let limited = all_entries(
        &store,
        &Query {
            limit: Some(2),
            ..Query::default()
        },
    );
    assert_eq!(limited.len(), 2);
}

#[test]
fn a_second_import_continues_packet_numbers_and_streams() {
    let dir = tempfile::tempdir().unwrap();
    let first = util::import(dir.path(), "n", &fixture(HTTP), StoreConfig::default());
    let second = util::import(dir.path(), "n", &fixture(HTTP), StoreConfig::default());
    let last_packet = first.iter().map(|e| e.packets.last).max().unwrap();
    let last_stream = first.iter().map(|e| e.stream).max().unwrap();
    assert!(
        second
            .iter()
            .all(|e| e.packets.first > last_packet && e.stream > last_stream)
    );
    let store = Store::open(dir.path()).unwrap();
    let got = all_entries(&store, &Query::default());
    let mut ids: Vec<u64> = got.iter().map(|e| e.id).collect();
    ids.dedup();
    assert_eq!(ids.len(), 6, "six distinct entries: {ids:?}");
}

#[test]
fn status_reports_the_window_kept() {
    let dir = tempfile::tempdir().unwrap();
    let one_segment = StoreConfig {
        segment_age: std::time::Duration::from_secs(3600),
        ..StoreConfig::default()
    };
    let entries = util::import(dir.path(), "node-a", &fixture(REDIS), one_segment);
    let packets = read_pcap(&fixture(REDIS));
    let store = Store::open(dir.path()).unwrap();
    let status = store.status().unwrap();
    assert_eq!(status.len(), 1);
    let s = &status[0];
    assert_eq!(s.node, "node-a");
    assert_eq!(s.oldest_ns, Some(packets[0].ts_ns));
    assert_eq!(s.newest_ns, packets.last().map(|p| p.ts_ns));
    assert_eq!(s.entries, entries.len() as u64);
    let on_disk: u64 = segment_files(dir.path(), "node-a")
        .iter()
        .map(|f| std::fs::metadata(f).unwrap().len())
        .sum();
    assert_eq!((s.segments, s.pcap_bytes), (1, on_disk));
    assert!(s.index_bytes > 0);
}

#[test]
fn export_without_filter_holds_every_packet_of_the_window() {
    let dir = tempfile::tempdir().unwrap();
    util::import(
        dir.path(),
        "node-a",
        &fixture(REDIS),
        StoreConfig {
            segment_size: 100_000,
            ..StoreConfig::default()
        },
    );
    util::import(dir.path(), "node-b", &fixture(HTTP), StoreConfig::default());
    let store = Store::open(dir.path()).unwrap();
    let packets = read_pcap(&fixture(REDIS));
    let (from, to) = (packets[10].ts_ns, packets[40].ts_ns);
    let out = dir.path().join("window.pcap");
    let mut file = std::fs::File::create(&out).unwrap();
    let q = Query {
        from: Some(from),
        to: Some(to),
        ..Query::default()
    };
    let summary = store.export(&q, false, &mut file).unwrap();
    drop(file);
    let expected = packets
        .iter()
        .filter(|p| p.ts_ns >= from && p.ts_ns < to)
        .count();
    assert_eq!(tshark_count(&out, ""), expected);
    assert_eq!(summary.packets as usize, expected);
    // The whole store, both nodes: tshark reads it in time order.
    let mut all = Vec::new();
    store.export(&Query::default(), false, &mut all).unwrap();
    let all_path = dir.path().join("all.pcap");
    std::fs::write(&all_path, &all).unwrap();
    let total = tshark_count(&fixture(REDIS), "") + tshark_count(&fixture(HTTP), "");
    assert_eq!(tshark_count(&all_path, ""), total);
    let times: Vec<f64> = util::tshark_fields(&all_path, "", &["frame.time_epoch"])
        .iter()
        .filter_map(|r| r.first().and_then(|t| t.parse().ok()))
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
}

#[test]
fn reading_a_missing_store_names_it() {
    let err = Store::open(Path::new("/nonexistent/shark-store")).unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)));
    assert!(
        err.to_string().contains("/nonexistent/shark-store"),
        "{err}"
    );
}

#[test]
fn a_first_packet_no_segment_can_hold_leaves_no_empty_segment() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer =
        shark_store::NodeWriter::open(dir.path(), "n", StoreConfig::default()).unwrap();
    let frame = util::udp_frame(1, 10, false);
    // Year 2200: classic PCAP's 32-bit seconds end in 2106.
    let packet = shark_store::RawPacket {
        ts_ns: 7_258_118_400_000_000_000,
        orig_len: frame.len() as u32,
        linktype: 1,
        data: &frame,
    };
    assert!(matches!(
        writer.write_packet(&packet, None),
        Err(StoreError::BadPacket { .. })
    ));
    drop(writer);
    assert!(segment_files(dir.path(), "n").is_empty());
    let status = &Store::open(dir.path()).unwrap().status().unwrap()[0];
    assert_eq!((status.segments, status.pcap_bytes), (0, 0));
}

#[test]
fn an_export_counts_the_matched_entries_whose_packets_are_gone() {
    let dir = tempfile::tempdir().unwrap();
    let entries = util::import(
        dir.path(),
        "n",
        &fixture("deepflow/http.pcap"),
        StoreConfig::default(),
    );
    let export = |dir: &Path| {
        let q = Query {
            filter: Some(kfl::compile("http", &shark_store::entry_schema()).unwrap()),
            ..Query::default()
        };
        Store::open(dir)
            .unwrap()
            .export(&q, false, &mut std::io::sink())
            .unwrap()
    };
    assert_eq!(export(dir.path()).entries_without_packets, 0);
    // The segments are lost; the next writer forgets them and the entries stay.
    for file in segment_files(dir.path(), "n") {
        std::fs::remove_file(file).unwrap();
    }
    shark_store::NodeWriter::open(dir.path(), "n", StoreConfig::default())
        .unwrap()
        .finish()
        .unwrap();
    let summary = export(dir.path());
    assert_eq!(
        (
            summary.entries,
            summary.packets,
            summary.entries_without_packets
        ),
        (entries.len() as u64, 0, entries.len() as u64)
    );
}

#[test]
fn a_filterless_export_is_in_time_order_when_older_traffic_came_later() {
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig {
        segment_size: 4096,
        ..StoreConfig::default()
    };
    const SECOND: i64 = 1_000_000_000;
    let start = 1_700_000_000 * SECOND;
    // Imported in this order: later traffic, traffic interleaved with it, then earlier traffic;
    // each spans several small segments.
    let mut written = Vec::new();
    for (from, step) in [
        (start + 60 * SECOND, 2_000_000),
        (start + 60 * SECOND + 1_000_000, 2_000_000),
        (start, 1_000_000),
    ] {
        let mut writer = shark_store::NodeWriter::open(dir.path(), "node-a", config).unwrap();
        let mut traffic = util::Traffic::new(from, step, 4, 200);
        for _ in 0..100 {
            let e = traffic.write_next(&mut writer).unwrap();
            written.extend([e.timestamp, e.timestamp + 1000]);
        }
        writer.finish().unwrap();
    }
    assert!(segment_files(dir.path(), "node-a").len() > 6);
    let store = Store::open(dir.path()).unwrap();
    written.sort_unstable();
    for (from, to) in [
        (None, None),
        (
            Some(start + 50_000_000),
            Some(start + 60 * SECOND + 50_000_000),
        ),
    ] {
        let out = dir.path().join("window.pcap");
        let mut file = std::fs::File::create(&out).unwrap();
        let q = Query {
            from,
            to,
            ..Query::default()
        };
        let summary = store.export(&q, false, &mut file).unwrap();
        drop(file);
        let times: Vec<i64> = read_pcap(&out).iter().map(|p| p.ts_ns).collect();
        let expected: Vec<i64> = written
            .iter()
            .copied()
            .filter(|&t| from.is_none_or(|f| t >= f) && to.is_none_or(|t2| t < t2))
            .collect();
        assert_eq!(times, expected, "window {from:?}..{to:?}");
        assert_eq!(summary.packets as usize, expected.len());
        assert_eq!(tshark_count(&out, ""), expected.len());
    }
}
