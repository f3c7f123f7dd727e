//! Connection records: every TCP connection and UDP conversation, dissected or not, gets a `tcp`
//! or `udp` entry with its state, packets and payload bytes each way (as tshark's `-z conv`
//! counts frames, and `tcp.len`/`udp.length - 8` sums payload), handshake RTT (tshark's
//! `tcp.analysis.initial_rtt`) and the protocols found on it. Values read with tshark.

use serde_json::json;
use shark_store::Entry;

use crate::common::{fixtures_dir, run_file};

fn records(capture: &str) -> Vec<Entry> {
    run_file(&fixtures_dir().join(capture))
        .sink
        .entries
        .into_iter()
        .filter(|e| matches!(e.protocol.name.as_str(), "tcp" | "udp"))
        .collect()
}

#[test]
fn an_http_connection_closed_by_fin_has_one_record_matching_tshark() {
    // tshark -z conv,tcp: 10.1.6.93:43230 -> 10.1.6.92:80, 8 frames (73 payload bytes) to the
    // server, 5 (4344 + 729) back, frames 1 to 13; initial_rtt 0.000158 s (SYN at .394265, ACK
    // at .394423); FIN both ways at frames 11 and 12, the last ACK at 13 (.395276).
    let records = records("deepflow/http.pcap");
    assert_eq!(records.len(), 1, "one connection, one record");
    let record = &records[0];
    assert_eq!(record.protocol.name, "tcp");
    assert_eq!((record.src.port, record.dst.port), (43230, 80));
    assert_eq!(record.request["packets"], json!(8));
    assert_eq!(record.request["size"], json!(73));
    assert_eq!(record.response["packets"], json!(5));
    assert_eq!(record.response["size"], json!(5073));
    assert_eq!(record.response["state"], json!("fin"));
    assert_eq!(record.response["l7"], json!(["http"]));
    let rtt = record.response["rtt"].as_f64().expect("rtt");
    assert!((rtt - 0.158).abs() < 1e-9, "{rtt}");
    assert_eq!((record.packets.first, record.packets.last), (1, 13));
    // Stamped when cut (after the last ACK), its time the span of its packets.
    assert_eq!(record.timestamp, 1_652_942_696_395_276_000);
    assert!(
        (record.elapsed_time - 1.011).abs() < 1e-9,
        "{}",
        record.elapsed_time
    );
    assert!(record.error.is_none());
}

#[test]
fn a_reset_connection_says_rst_and_counts_both_resets() {
    // tshark: SYN from 10.30.172.101:44468, 31 payload bytes from :443 (a TLS alert), then two
    // RSTs from the client: 3 frames to the server, 1 back.
    let records = records("deepflow/l4-source-port-reuse.pcap");
    assert_eq!(records.len(), 1);
    let record = &records[0];
    assert_eq!(record.response["state"], json!("rst"));
    assert_eq!(
        (&record.request["packets"], &record.request["size"]),
        (&json!(3), &json!(0))
    );
    assert_eq!(
        (&record.response["packets"], &record.response["size"]),
        (&json!(1), &json!(31))
    );
    assert_eq!(record.response["l7"], json!(["tls"]));
    assert!(record.response.get("rtt").is_none(), "no SYN/ACK: no RTT");
}

#[test]
fn a_dns_conversation_gives_a_udp_record() {
    // tshark -z conv,udp: 10.50.71.3:50290 <-> 10.50.100.81:53, one frame each way (UDP
    // lengths 58 and 107), still open when the capture ends.
    let records = records("deepflow/dns__a-and-ns.pcap");
    let record = records
        .iter()
        .find(|r| r.src.port == 50290)
        .expect("the first query's conversation");
    assert_eq!(record.protocol.name, "udp");
    assert_eq!(
        (&record.request["packets"], &record.request["size"]),
        (&json!(1), &json!(50))
    );
    assert_eq!(
        (&record.response["packets"], &record.response["size"]),
        (&json!(1), &json!(99))
    );
    assert_eq!(record.response["state"], json!("open"));
    assert_eq!(record.response["l7"], json!(["dns"]));
}

#[test]
fn a_long_conversation_is_recorded_each_minute_without_counting_anything_twice() {
    // tshark: 742 datagrams (132818 payload bytes) from 192.168.152.153:8001 to 224.0.0.7 over
    // several minutes, frames 9 to 5896, with pauses past the UDP timeout between some of them.
    let records: Vec<Entry> = records("pcap-parser/wireshark_samples-test.pcapng")
        .into_iter()
        .filter(|r| r.src.ip == "192.168.152.153" && r.src.port == 8001)
        .collect();
    assert!(records.len() > 3, "{} records", records.len());
    let sum = |key: &str| -> u64 {
        records
            .iter()
            .map(|r| r.request[key].as_u64().expect("count"))
            .sum()
    };
    assert_eq!((sum("packets"), sum("size")), (742, 132_818));
    // Each flow's records: `open` ones a minute of packets each, then one that ends it (timed
    // out, or still open when the capture ended); their packet spans follow one another.
    let mut by_stream: std::collections::BTreeMap<u64, Vec<&Entry>> = Default::default();
    for record in &records {
        by_stream.entry(record.stream).or_default().push(record);
    }
    for flow in by_stream.values() {
        let (_, earlier) = flow.split_last().expect("a record");
        for (a, b) in flow.iter().zip(flow.iter().skip(1)) {
            assert_eq!(a.response["state"], json!("open"));
            assert!(a.packets.last < b.packets.first, "{a:?} then {b:?}");
            assert!(a.timestamp <= b.timestamp);
        }
        for open in earlier {
            assert!(open.elapsed_time >= 60_000.0, "{}", open.elapsed_time);
        }
    }
    let ends: Vec<_> = by_stream
        .values()
        .map(|flow| flow.last().expect("a record").response["state"].clone())
        .collect();
    let (last, before) = ends.split_last().expect("flows");
    assert!(before.iter().all(|s| *s == json!("timeout")), "{ends:?}");
    assert_eq!(*last, json!("open"), "the capture ends during the last one");
}
