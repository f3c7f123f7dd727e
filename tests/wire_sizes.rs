//! `import`, then `query` and `map`: HTTP/1, Redis, PostgreSQL, Kafka and TLS entries carry the bytes their
//! messages take on the wire (`request.size`, `response.size`), and the service map sums them per
//! edge, each way as tshark counts them.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use crate::util::{fixture, import, query_json, run_ok, shark, tshark};

/// Bytes each way: client to server (requests), server to client (responses).
type BytesEachWay = (u64, u64);

/// A TCP endpoint as tshark prints it: address and port.
type Endpoint = (String, String);

/// Whether a tshark boolean field is set (tshark 4.0 prints `1`, later versions `True`).
fn is_set(field: &str) -> bool {
    field == "1" || field == "True"
}

/// The client of each TCP stream (by `tcp.stream`): the sender of the SYN, else, for a stream
/// captured mid-connection, the sender of its first payload (these captures open with a request).
fn clients(capture: &Path) -> HashMap<String, Endpoint> {
    let rows = tshark(&[
        "-r",
        capture.to_str().expect("utf-8 path"),
        "-Y",
        "tcp",
        "-T",
        "fields",
        "-e",
        "tcp.stream",
        "-e",
        "ip.src",
        "-e",
        "ipv6.src",
        "-e",
        "tcp.srcport",
        "-e",
        "tcp.flags.syn",
        "-e",
        "tcp.flags.ack",
        "-e",
        "tcp.len",
    ]);
    let mut by_syn = HashMap::new();
    let mut by_first_payload = HashMap::new();
    for row in &rows {
        let field = |i: usize| row.get(i).map(String::as_str).unwrap_or_default();
        let sender = (format!("{}{}", field(1), field(2)), field(3).to_string());
        if is_set(field(4)) && !is_set(field(5)) {
            by_syn.entry(field(0).to_string()).or_insert(sender);
        } else if field(6).parse::<u64>().is_ok_and(|len| len > 0) {
            by_first_payload
                .entry(field(0).to_string())
                .or_insert(sender);
        }
    }
    by_first_payload.extend(by_syn);
    by_first_payload
}

/// tshark: the sum of `tcp.len` over every TCP stream of the capture, client to server and back.
fn tcp_payload_each_way(capture: &Path) -> BytesEachWay {
    let clients = clients(capture);
    let rows = tshark(&[
        "-r",
        capture.to_str().expect("utf-8 path"),
        "-Y",
        "tcp.len > 0",
        "-T",
        "fields",
        "-e",
        "tcp.stream",
        "-e",
        "ip.src",
        "-e",
        "ipv6.src",
        "-e",
        "tcp.srcport",
        "-e",
        "tcp.len",
    ]);
    let mut bytes = (0, 0);
    for row in &rows {
        let field = |i: usize| row.get(i).map(String::as_str).unwrap_or_default();
        let sender = (format!("{}{}", field(1), field(2)), field(3).to_string());
        let len: u64 = field(4).parse().expect("tcp.len is a number");
        if clients.get(field(0)) == Some(&sender) {
            bytes.0 += len;
        } else {
            bytes.1 += len;
        }
    }
    bytes
}

/// A JSON field tshark may give once (a value) or repeated (an array): each occurrence.
fn occurrences(value: &serde_json::Value) -> Vec<&serde_json::Value> {
    match value {
        serde_json::Value::Array(items) => items.iter().collect(),
        serde_json::Value::Null => Vec::new(),
        one => vec![one],
    }
}

/// tshark: the bytes of the TLS handshake records (content type 22: `tls.record.length` plus the
/// 5-byte record header) each way. Every stream's server port is decoded as TLS, since tshark
/// names a TLS stream on a port like 3306 after the port's protocol.
fn tls_handshake_records_each_way(capture: &Path) -> BytesEachWay {
    let clients = clients(capture);
    let server_ports: HashSet<String> = tshark(&[
        "-r",
        capture.to_str().expect("utf-8 path"),
        "-Y",
        "tcp",
        "-T",
        "fields",
        "-e",
        "tcp.stream",
        "-e",
        "ip.src",
        "-e",
        "ipv6.src",
        "-e",
        "tcp.srcport",
        "-e",
        "tcp.dstport",
    ])
    .iter()
    .filter_map(|row| {
        let sender = (
            format!("{}{}", row.get(1)?, row.get(2)?),
            row.get(3)?.clone(),
        );
        // The port a client sends to is the server's.
        (clients.get(row.first()?) == Some(&sender)).then(|| row.get(4).cloned())?
    })
    .collect();
    let decode_as: Vec<String> = server_ports
        .iter()
        .map(|port| format!("tcp.port=={port},tls"))
        .collect();
    let mut args = vec![
        "-r",
        capture.to_str().expect("utf-8 path"),
        "-Y",
        "tls",
        "-T",
        "json",
        "--no-duplicate-keys",
    ];
    for rule in &decode_as {
        args.extend(["-d", rule.as_str()]);
    }
    let output = run_ok(std::process::Command::new("tshark").args(&args)).stdout;
    let packets: serde_json::Value = serde_json::from_str(&output).expect("tshark JSON");
    let mut bytes = (0, 0);
    for packet in packets
        .as_array()
        .expect("tshark JSON is a list of packets")
    {
        let layers = &packet["_source"]["layers"];
        let text = |layer: &str, field: &str| {
            layers[layer][field]
                .as_str()
                .unwrap_or_default()
                .to_string()
        };
        let sender = (
            text("ip", "ip.src") + &text("ipv6", "ipv6.src"),
            text("tcp", "tcp.srcport"),
        );
        let from_client = clients.get(&text("tcp", "tcp.stream")) == Some(&sender);
        for tls in occurrences(&layers["tls"]) {
            for record in occurrences(&tls["tls.record"]) {
                if record["tls.record.content_type"].as_str() != Some("22") {
                    continue;
                }
                let length: u64 = record["tls.record.length"]
                    .as_str()
                    .and_then(|l| l.parse().ok())
                    .expect("record length");
                if from_client {
                    bytes.0 += length + 5;
                } else {
                    bytes.1 += length + 5;
                }
            }
        }
    }
    bytes
}

/// Imports `name` and checks that the `protocol` entries' sizes add up to `expected` each way,
/// and the map's edges for that protocol to the TCP payload tshark sees: their bytes are their
/// connections' (the connection records'), all of it.
fn assert_sizes(name: &str, protocol: &str, expected: impl Fn(&Path) -> BytesEachWay) {
    let capture = fixture(name);
    let store = tempfile::tempdir().expect("temp dir");
    import(store.path(), &capture, "node-a");
    let expected = expected(&capture);
    assert_ne!(expected, (0, 0), "tshark finds bytes in {name}");
    let entries = query_json(store.path(), &[protocol]);
    for entry in &entries {
        for side in ["request", "response"] {
            let fields = entry[side].as_object();
            if fields.is_some_and(|f| !f.is_empty()) {
                assert!(
                    entry[side]["size"].is_u64(),
                    "{name}: a {protocol} {side} without its size: {entry}"
                );
            }
        }
    }
    let sizes = |side: &str| -> u64 {
        entries
            .iter()
            .filter_map(|e| e[side]["size"].as_u64())
            .sum()
    };
    assert_eq!(
        (sizes("request"), sizes("response")),
        expected,
        "{protocol} entry sizes of {name}"
    );
    let map = run_ok(
        shark()
            .arg("map")
            .arg("--store")
            .arg(store.path())
            .args(["-o", "json", protocol]),
    )
    .stdout;
    let map: serde_json::Value = serde_json::from_str(&map).expect("map JSON");
    let edges = map["edges"].as_array().expect("edges");
    let bytes = |field: &str| -> u64 { edges.iter().filter_map(|e| e[field].as_u64()).sum() };
    assert_eq!(
        (bytes("requestBytes"), bytes("responseBytes")),
        tcp_payload_each_way(&capture),
        "{protocol} map edges of {name}"
    );
}

/// Redis: every byte of these streams is RESP (commands, inline ones in resp_2_inline.pcap, one
/// way; replies the other), so the entries' sizes add up to tshark's TCP payload each way; in
/// redis.pcap the last reply is cut off by the end of the capture and its entry counts the bytes
/// that were captured.
#[test]
fn redis_entries_carry_the_resp_bytes_tshark_counts_each_way() {
    for name in [
        "deepflow/redis__redis.pcap",
        "deepflow/redis__redis-debug.pcap",
        "deepflow/redis__redis-error.pcap",
        "tcpdump/resp_1_benchmark.pcap",
        "tcpdump/resp_2_inline.pcap",
    ] {
        assert_sizes(name, "redis", tcp_payload_each_way);
    }
}

/// PostgreSQL: each stream holds whole frontend and backend messages (pgsql-all.pcap joins a
/// connection mid-way on port 8000 and runs extended-protocol cycles), all of them in entries.
#[test]
fn postgres_entries_carry_the_message_bytes_tshark_counts_each_way() {
    for name in [
        "deepflow/postgre__pgsql-all.pcap",
        "deepflow/postgre__simple_query.pcap",
        "deepflow/postgre__error.pcap",
        "deepflow/postgre__prepare_stat.pcap",
    ] {
        assert_sizes(name, "postgres", tcp_payload_each_way);
    }
}

/// Kafka: each stream holds whole request and response frames, each one in an entry (a response
/// whose request was not captured is an entry of its own).
#[test]
fn kafka_entries_carry_the_frame_bytes_tshark_counts_each_way() {
    for name in [
        "deepflow/kafka__mixed-with-unsupported.pcap",
        "deepflow/kafka__00-produce-v2.pcap",
        "deepflow/kafka__00-produce-v7-sw8.pcap",
        "deepflow/kafka__18-api-versions-v3.pcap",
        "deepflow/kafka__01-fetch-v12-ok.pcap",
    ] {
        assert_sizes(name, "kafka", tcp_payload_each_way);
    }
}

/// TLS: the entry is the handshake, so only handshake records count (application data and
/// ChangeCipherSpec are not the entry's, and TLS 1.3 hides its later handshake in application-data
/// records); tls.pcap (port 3306) and application.pcap end the TLS 1.2 handshake with both sides'
/// encrypted Finished, which are handshake records too.
#[test]
fn tls_entries_carry_the_handshake_record_bytes_tshark_counts_each_way() {
    for name in [
        "deepflow/tls__tls.pcap",
        "deepflow/tls__application.pcap",
        "deepflow/tls__tls-1-3.pcap",
        "deepflow/tls__tls-nocert.pcap",
        "deepflow/tls__client-extension.pcap",
        "deepflow/tls__tls-1-0.pcap",
    ] {
        assert_sizes(name, "tls", tls_handshake_records_each_way);
    }
}

/// HTTP/1: `size` is the whole message (request or status line, headers, body), so these
/// streams' entries add up to tshark's TCP payload each way, like every other protocol's; the
/// body alone is `bodySize`.
#[test]
fn http1_entries_carry_the_whole_messages_tshark_counts_each_way() {
    for name in ["deepflow/http__httpv1.pcap", "deepflow/http.pcap"] {
        assert_sizes(name, "http", tcp_payload_each_way);
    }
}
