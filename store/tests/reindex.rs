//! Rebuilding the index from the PCAP segments alone gives the same answers.

use std::collections::HashMap;
use std::path::Path;

use shark_store::{Entry, NodeWriter, Query, Store, StoreConfig, StoredPacket};

use crate::util::{self, Dissection, fixture, tshark_count};

fn entries(store: &Store) -> Vec<Entry> {
    store
        .query(&Query::default())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// The stand-in pipeline over the stored packets: tshark dissects exactly those packets (written
/// out as one capture), and the reindex writer gets their flows and exchanges.
fn reindex(root: &Path, node: &str) {
    let store = Store::open(root).unwrap();
    let packets: Vec<StoredPacket> = store.packets(node).unwrap().collect();
    let replay = root.join(format!("{node}-replay.pcap"));
    write_packets(&replay, &packets);
    let dissection = Dissection::of(&replay);
    std::fs::remove_file(&replay).unwrap();

    let mut writer = NodeWriter::reindex(root, node).unwrap();
    let mut streams = HashMap::new();
    let mut numbers = Vec::new();
    let mut flows = Vec::new();
    for (i, p) in packets.iter().enumerate() {
        let flow = dissection
            .flow(i + 1)
            .map(|f| *streams.entry(f).or_insert_with(|| writer.alloc_stream()));
        numbers.push(writer.write_packet(&p.as_raw(), flow).unwrap());
        flows.push(flow);
    }
    assert_eq!(
        numbers,
        packets.iter().map(|p| p.number).collect::<Vec<_>>()
    );
    let times: Vec<i64> = packets.iter().map(|p| p.ts_ns).collect();
    for x in dissection.exchanges() {
        writer
            .write_entry(dissection.entry(node, &x, &times, &numbers, &flows))
            .unwrap();
    }
    writer.finish().unwrap();
}

fn write_packets(path: &Path, packets: &[StoredPacket]) {
    use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
    let header = PcapHeader {
        datalink: packets.first().map_or(1, |p| p.linktype).into(),
        ts_resolution: pcap_file::TsResolution::NanoSecond,
        snaplen: 262_144,
        ..PcapHeader::default()
    };
    let mut w = PcapWriter::with_header(std::fs::File::create(path).unwrap(), header).unwrap();
    for p in packets {
        let ts = std::time::Duration::from_nanos(p.ts_ns as u64);
        w.write_packet(&PcapPacket::new(ts, p.orig_len, &p.data))
            .unwrap();
    }
}

#[test]
fn a_rebuilt_index_answers_like_the_original() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    util::import(
        root,
        "a",
        &fixture("deepflow/http__sw8.pcap"),
        StoreConfig::default(),
    );
    let small = StoreConfig {
        segment_size: 2_000,
        ..StoreConfig::default()
    };
    util::import(root, "b", &fixture("tcpdump/edns-opts.pcap"), small);
    let store = Store::open(root).unwrap();
    let before = entries(&store);
    let status_before = store.status().unwrap();

    // Node a loses its index entirely; node b's is rebuilt over the existing one.
    for f in ["index.sqlite", "index.sqlite-wal", "index.sqlite-shm"] {
        std::fs::remove_file(root.join("a").join(f)).ok();
    }
    reindex(root, "a");
    reindex(root, "b");

    let store = Store::open(root).unwrap();
    assert_eq!(entries(&store), before);
    let status_after = store.status().unwrap();
    for (b, a) in status_before.iter().zip(&status_after) {
        let kept = |s: &shark_store::NodeStatus| {
            (
                s.oldest_ns,
                s.newest_ns,
                s.segments,
                s.pcap_bytes,
                s.entries,
            )
        };
        assert_eq!(kept(a), kept(b));
    }
    let mut all = Vec::new();
    let summary = store.export(&Query::default(), false, &mut all).unwrap();
    let total = tshark_count(&fixture("deepflow/http__sw8.pcap"), "")
        + tshark_count(&fixture("tcpdump/edns-opts.pcap"), "");
    assert_eq!(summary.packets as usize, total);
    // The rebuilt flow locations lead export to each exchange's packets.
    let filter = kfl::compile("http or dns", &shark_store::entry_schema()).unwrap();
    let q = Query {
        filter: Some(filter),
        ..Query::default()
    };
    let spans: u64 = before
        .iter()
        .map(|e| e.packets.last - e.packets.first + 1)
        .sum();
    let summary = store.export(&q, false, &mut Vec::new()).unwrap();
    assert_eq!(
        (summary.entries, summary.packets),
        (before.len() as u64, spans)
    );
    let whole = store.export(&q, true, &mut Vec::new()).unwrap();
    assert_eq!(whole.packets as usize, total);
}
