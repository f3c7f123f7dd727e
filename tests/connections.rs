//! Connection records from real traffic: nginx and dnsmasq in one network namespace, curl and
//! dig in another (`tests/protocols/connections.sh`), captured, imported, and compared with
//! tshark's reading of the same capture: per connection, the frames each way (`-z conv`) and
//! the TCP/UDP payload each way.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde_json::{Value, json};

use crate::pair::{Captured, SERVER};
use crate::util::{query_json, run, run_ok, text};

/// The capture, made once: an HTTP GET (closed by FIN), a connection to a closed port (reset),
/// and a DNS query over UDP.
fn session() -> &'static Captured {
    static SESSION: OnceLock<Captured> = OnceLock::new();
    SESSION.get_or_init(|| {
        Captured::make("conn", "conns", |pair, dir, pcap| {
            run_ok(pair.script("connections.sh").arg(dir));
            let url = format!("http://{SERVER}/hello");
            let refused = format!("http://{SERVER}:81/");
            pair.capture_filtered("tcp port 80 or tcp port 81 or udp port 53", pcap, || {
                run_ok(
                    pair.exec("cli", "curl")
                        .args(["-s", "-o", "/dev/null", &url]),
                );
                let reset = run(pair.exec("cli", "curl").args(["-s", &refused]));
                assert_ne!(reset.code, 0, "nothing listens on 81");
                let answer = run_ok(pair.exec("cli", "dig").args([
                    "+short",
                    "+tries=1",
                    &format!("@{SERVER}"),
                    "web.shark.test",
                ]));
                assert_eq!(answer.stdout.trim(), SERVER);
            });
        })
    })
}

/// Per conversation (keyed by the client's port, the server's port): frames and payload bytes
/// from the client, then from the server, as tshark reads them.
type Counted = BTreeMap<(u16, u16), [u64; 4]>;

fn tshark_conversations(captured: &Captured) -> Counted {
    let rows = captured.tshark_fields(
        &[],
        &[
            "ip.src",
            "tcp.srcport",
            "tcp.dstport",
            "tcp.len",
            "udp.srcport",
            "udp.dstport",
            "udp.length",
        ],
    );
    let mut counted = Counted::new();
    for cols in &rows {
        let num = |i: usize| cols.get(i).and_then(|c| c.parse::<u64>().ok());
        let (src_port, dst_port, payload) = match (num(1), num(2), num(4), num(5)) {
            (Some(s), Some(d), _, _) => (s, d, num(3).unwrap_or(0)),
            (_, _, Some(s), Some(d)) => (s, d, num(6).unwrap_or(8).saturating_sub(8)),
            _ => continue,
        };
        let from_client = cols.first().map(String::as_str) != Some(SERVER);
        let key = if from_client {
            (src_port as u16, dst_port as u16)
        } else {
            (dst_port as u16, src_port as u16)
        };
        let slot = counted.entry(key).or_default();
        let at = if from_client { 0 } else { 2 };
        slot[at] += 1;
        slot[at + 1] += payload;
    }
    counted
}

/// The connection records (`conn`) by (client port, server port).
fn records(captured: &Captured) -> BTreeMap<(u16, u16), Value> {
    query_json(&captured.store, &["conn"])
        .into_iter()
        .map(|e| {
            let port = |side: &str| e[side]["port"].as_u64().unwrap_or(0) as u16;
            ((port("src"), port("dst")), e)
        })
        .collect()
}

fn record_to(records: &BTreeMap<(u16, u16), Value>, server_port: u16) -> &Value {
    records
        .iter()
        .find(|((_, port), _)| *port == server_port)
        .map(|(_, e)| e)
        .unwrap_or_else(|| panic!("no record to port {server_port}: {records:#?}"))
}

#[test]
fn every_connection_has_one_record_with_the_frames_and_payload_tshark_counts() {
    let captured = session();
    let expected = tshark_conversations(captured);
    let records = records(captured);
    assert_eq!(
        records.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "one record per conversation tshark sees"
    );
    for (key, [to_server, sent, to_client, answered]) in &expected {
        let record = &records[key];
        assert_eq!(
            (
                &record["request"]["packets"],
                &record["request"]["size"],
                &record["response"]["packets"],
                &record["response"]["size"],
            ),
            (
                &json!(to_server),
                &json!(sent),
                &json!(to_client),
                &json!(answered)
            ),
            "{key:?}: {record}"
        );
    }
    // tshark's conversation table agrees on the frames of the HTTP connection.
    let conv = run_ok(
        std::process::Command::new("tshark")
            .arg("-r")
            .arg(&captured.pcap)
            .args(["-q", "-z", "conv,tcp"]),
    )
    .stdout;
    let http = record_to(&records, 80);
    let (client_port, frames) = (
        http["src"]["port"].as_u64().unwrap_or(0),
        http["request"]["packets"].as_u64().unwrap_or(0)
            + http["response"]["packets"].as_u64().unwrap_or(0),
    );
    let row = conv
        .lines()
        .find(|l| l.contains(&format!(":{client_port} ")))
        .unwrap_or_else(|| panic!("{conv}"));
    let total: Vec<&str> = row.split_whitespace().collect();
    // `A <-> B  frames bytes-with-unit  frames bytes-with-unit  frames(total) …`
    assert_eq!(total.get(9), Some(&frames.to_string().as_str()), "{row}");
}

#[test]
fn the_http_connection_closed_by_fin_names_http_and_its_handshake() {
    let records = records(session());
    let http = record_to(&records, 80);
    assert_eq!(text(&http["protocol"]["name"]), "tcp");
    assert_eq!(http["response"]["state"], json!("fin"), "{http}");
    assert_eq!(http["response"]["l7"], json!(["http"]));
    let rtt = http["response"]["rtt"].as_f64().expect("handshake RTT");
    assert!(rtt > 0.0 && rtt < 1000.0, "{rtt}");
    // Its exchange is on the same stream, and the table says how it ended.
    let exchanges = query_json(&session().store, &["http"]);
    assert_eq!(exchanges.len(), 1);
    assert_eq!(exchanges[0]["stream"], http["stream"]);
    let table = run_ok(
        crate::util::shark()
            .arg("query")
            .arg("--store")
            .arg(&session().store)
            .arg("tcp_conn && conn_state == \"closed\""),
    )
    .stdout;
    assert!(table.contains("FIN ") && table.contains(" http"), "{table}");
}

#[test]
fn a_refused_connection_is_reset_and_carries_no_protocol() {
    let records = records(session());
    let refused = record_to(&records, 81);
    assert_eq!(refused["response"]["state"], json!("rst"), "{refused}");
    assert!(refused["response"].get("l7").is_none());
    assert!(refused["response"].get("rtt").is_none(), "no handshake");
}

#[test]
fn a_dns_query_over_udp_is_a_udp_record() {
    let records = records(session());
    let dns = record_to(&records, 53);
    assert_eq!(text(&dns["protocol"]["name"]), "udp");
    assert_eq!(dns["response"]["l7"], json!(["dns"]));
    assert_eq!(
        dns["response"]["state"],
        json!("open"),
        "the capture ended first"
    );
}
