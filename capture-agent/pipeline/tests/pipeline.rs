//! The pipeline end to end on real captures, with values read from tshark.

use crate::common::{fixtures_dir, run_file};
use serde_json::json;

#[test]
fn http_entry_has_timing_packets_endpoints_and_fields() {
    // tshark: frame 4 (1652942696.394695) carries GET /, frame 7 (1652942696.394887) the 200 response.
    let run = run_file(&fixtures_dir().join("deepflow/http.pcap"));
    let http: Vec<_> = run
        .sink
        .entries
        .iter()
        .filter(|e| e.protocol.name == "http")
        .collect();
    assert_eq!(http.len(), 1);
    let entry = http[0];
    assert_eq!(entry.protocol.version, "1.1");
    assert_eq!(entry.request["method"], json!("GET"));
    assert_eq!(entry.request["path"], json!("/"));
    assert_eq!(entry.response["status"], json!(200));
    assert_eq!((entry.packets.first, entry.packets.last), (4, 7));
    assert_eq!(entry.timestamp, 1_652_942_696_394_695_000);
    assert!(
        (entry.elapsed_time - 0.192).abs() < 1e-9,
        "{}",
        entry.elapsed_time
    );
    assert_eq!(entry.node.name, "test-node");
    assert_eq!(entry.src.kind, "External");
    assert!(entry.error.is_none());
    // Every packet of the connection carries the entry's stream.
    assert!(
        run.sink
            .packets
            .iter()
            .all(|(_, stream)| *stream == Some(entry.stream))
    );
}

#[test]
fn keep_alive_requests_pair_with_their_responses_and_body_sizes() {
    // tshark: three POST /createOrder with Content-Length 351, 247, 350, each answered 200.
    let run = run_file(&fixtures_dir().join("deepflow/http__sw8.pcap"));
    let sizes: Vec<_> = run
        .sink
        .entries
        .iter()
        .filter(|e| e.protocol.name == "http")
        .map(|e| (e.request["bodySize"].clone(), e.response["status"].clone()))
        .collect();
    assert_eq!(
        sizes,
        [
            (json!(351), json!(200)),
            (json!(247), json!(200)),
            (json!(350), json!(200))
        ]
    );
    // `size` is the whole request: its head as well as the body.
    assert!(
        run.sink
            .entries
            .iter()
            .filter(|e| e.protocol.name == "http")
            .all(|e| e.request["size"].as_u64() > e.request["bodySize"].as_u64())
    );
    let streams: std::collections::BTreeSet<_> =
        run.sink.entries.iter().map(|e| e.stream).collect();
    assert_eq!(streams.len(), 1, "one connection");
}

#[test]
fn ip_fragments_are_reassembled_before_udp() {
    // tshark: 18 packets = 6 UDP datagrams of 3000 payload bytes (UDP length 3008) from
    // 10.1.6.92:1000 to 10.1.4.2:2000, each in 3 fragments.
    let run = run_file(&fixtures_dir().join("deepflow/ip-fragment.pcap"));
    assert_eq!(run.stats.fragments_dropped, 0);
    let udp: Vec<_> = run
        .sink
        .entries
        .iter()
        .filter(|e| e.protocol.name == "udp")
        .collect();
    assert_eq!(udp.len(), 1);
    let sent_by_1000 = if udp[0].src.port == 1000 {
        &udp[0].request
    } else {
        &udp[0].response
    };
    assert_eq!(
        (
            sent_by_1000["size"].clone(),
            sent_by_1000["packets"].clone()
        ),
        (json!(18000), json!(6))
    );
}

#[test]
fn a_flow_no_dissector_claims_is_a_tcp_entry_with_both_directions() {
    // tshark -z conv,tcp: 10.30.172.101:44468 <-> 10.30.10.173:443, SYN from the client,
    // 43 payload bytes from the server (an encrypted alert), then two RSTs.
    let run = run_file(&fixtures_dir().join("deepflow/l4-source-port-reuse.pcap"));
    assert_eq!(run.sink.streams, 1);
    let entry = &run.sink.entries[0];
    assert_eq!((entry.src.port, entry.dst.port), (44468, 443));
}

#[test]
fn linux_cooked_captures_decode_every_connection() {
    // tshark -z conv,tcp on resp_1_benchmark.pcap (SLL): 15 connections to 127.0.0.1:6379.
    let run = run_file(&fixtures_dir().join("tcpdump/resp_1_benchmark.pcap"));
    assert_eq!(run.stats.flows, 15);
    assert_eq!(run.stats.decode_errors, 0);
    assert!(run.sink.entries.iter().all(|e| e.dst.port == 6379));
}
