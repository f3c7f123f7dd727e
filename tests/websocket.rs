//! WebSocket against a real server and client: Python's `websockets` (`tests/protocols/
//! websocket.py`: two connections, with and without permessage-deflate, each sending text,
//! binary, a fragmented text and a ping, then closing with 1000 or 4001) in two network
//! namespaces, captured, imported, and compared with tshark's `websocket.*` reading.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::OnceLock;

use crate::pair::{Captured, SERVER};
use crate::util::{
    Running, counted, entry_bytes, query_json, run_ok, tcp_payload_bytes, text, workspace,
};

const PORT: &str = "8765";

/// The capture of the client's two connections, made once.
fn session() -> &'static Captured {
    static SESSION: OnceLock<Captured> = OnceLock::new();
    SESSION.get_or_init(|| {
        Captured::make("ws", "ws", |pair, _dir, pcap| {
            let script = workspace().join("tests/protocols/websocket.py");
            let mut server = Running::start(
                pair.exec("srv", "/usr/bin/python3")
                    .arg(&script)
                    .args(["serve", SERVER, PORT])
                    .stdout(Stdio::piped()),
            );
            let mut line = String::new();
            let stdout = server.stdout.take().expect("server's stdout piped");
            let _ = BufReader::new(stdout).read_line(&mut line);
            assert_eq!(line.trim(), "listening");
            pair.capture(8765, pcap, || {
                let r = run_ok(
                    pair.exec("cli", "/usr/bin/python3")
                        .arg(&script)
                        .args(["drive", SERVER, PORT]),
                );
                assert!(r.stdout.ends_with("done\n"), "client: {}", r.stdout);
            });
        })
    })
}

/// tshark's fields of every WebSocket frame, with the direction (`c` to the server, `s` back).
fn frames(fields: &[&str]) -> Vec<(char, Vec<String>)> {
    let mut with_port = vec!["tcp.dstport"];
    with_port.extend_from_slice(fields);
    session()
        .tshark_fields(&["-Y", "websocket"], &with_port)
        .into_iter()
        .map(|row| {
            let dir = if row.first().map(String::as_str) == Some(PORT) {
                'c'
            } else {
                's'
            };
            (dir, row.into_iter().skip(1).collect())
        })
        .collect()
}

/// Each WebSocket message: the side it came from (`c`, `s`) and its fields.
fn messages(filter: &str) -> Vec<(char, serde_json::Value)> {
    query_json(&session().store, &[filter])
        .into_iter()
        .map(|e| {
            if e["request"].as_object().is_some_and(|r| !r.is_empty()) {
                ('c', e["request"].clone())
            } else {
                ('s', e["response"].clone())
            }
        })
        .collect()
}

/// tshark's opcode numbers by name.
fn opcode(number: &str) -> &'static str {
    match number {
        "1" => "text",
        "2" => "binary",
        "8" => "close",
        "9" => "ping",
        "10" => "pong",
        _ => "other",
    }
}

#[test]
fn every_message_tshark_sees_is_an_entry_and_the_handshakes_stay_http() {
    // A message starts with each frame whose opcode is not 0 (continuation).
    let theirs = frames(&["websocket.opcode"])
        .into_iter()
        .filter(|(_, f)| f[0] != "0")
        .map(|(dir, f)| (dir, opcode(&f[0]).to_string()));
    let ours = messages("ws")
        .into_iter()
        .map(|(dir, m)| (dir, text(&m["opcode"])));
    assert_eq!(counted(ours), counted(theirs));
    let upgrades = query_json(&session().store, &["http and response.status == 101"]);
    assert_eq!(upgrades.len(), 2);
    assert!(
        upgrades
            .iter()
            .all(|e| text(&e["request"]["headers"]["Upgrade"]) == "websocket")
    );
    assert!(query_json(&session().store, &["ws and error != nil"]).is_empty());
}

#[test]
fn texts_are_unmasked_inflated_and_joined() {
    // tshark shows the text of unfragmented text frames (inflated where compressed).
    let theirs = frames(&[
        "websocket.opcode",
        "websocket.fin",
        "websocket.payload.text",
    ])
    .into_iter()
    .filter(|(_, f)| f[0] == "1" && (f[1] == "1" || f[1] == "True"))
    .map(|(dir, f)| (dir, f[2].clone()));
    let ours: Vec<_> = messages(r#"ws_opcode == "text""#)
        .into_iter()
        .map(|(dir, m)| (dir, text(&m["body"]), m["frames"].as_u64().unwrap_or(0)))
        .collect();
    let single = ours
        .iter()
        .filter(|(_, _, frames)| *frames == 1)
        .map(|(dir, body, _)| (*dir, body.clone()));
    assert_eq!(counted(single), counted(theirs));
    // The fragmented ones (4 frames each, the first compressed on the first connection) joined.
    let joined: Vec<_> = ours
        .iter()
        .filter(|(_, _, frames)| *frames == 4)
        .map(|(dir, body, _)| (*dir, body.as_str()))
        .collect();
    assert_eq!(joined, [('c', "frag-one frag-two frag-three"); 2]);
    let compressed = messages(r#"ws and request.compressed == true"#);
    assert_eq!(
        compressed.len(),
        3,
        "text, binary and fragmented text of the first connection"
    );
}

#[test]
fn binary_closes_and_pings_read_as_tshark_reads_them() {
    let expected: Vec<u8> = (0..=255u8).chain(0..=255u8).collect();
    let binary = messages(r#"ws_opcode == "binary""#);
    assert_eq!(binary.len(), 4);
    // bodySize is the payload as sent: tshark's (extended) payload length of the frame.
    let sizes = frames(&["websocket.opcode", "websocket.payload_length_ext_16"])
        .into_iter()
        .filter(|(_, f)| f[0] == "2")
        .map(|(dir, f)| (dir, f[1].parse::<u64>().expect("16-bit length")));
    let ours = binary
        .iter()
        .map(|(dir, m)| (*dir, m["bodySize"].as_u64().unwrap_or(0)));
    assert_eq!(counted(ours), counted(sizes));
    for (_, m) in &binary {
        assert_eq!(text(&m["bodyEncoding"]), "base64");
        assert_eq!(crate::bodies::unbase64(&text(&m["body"])), expected);
    }
    let closes = frames(&[
        "websocket.payload.close.status_code",
        "websocket.payload.close.reason",
    ])
    .into_iter()
    .filter(|(_, f)| !f[0].is_empty())
    .map(|(dir, f)| (dir, f[0].clone(), f[1].clone()));
    let ours = messages(r#"ws_opcode == "close""#)
        .into_iter()
        .map(|(dir, m)| (dir, text(&m["closeCode"]), text(&m["closeReason"])));
    assert_eq!(counted(ours), counted(closes));
    assert_eq!(messages("ws and request.closeCode == 4001").len(), 1);
    // KFL2's names read the same fields.
    assert_eq!(messages(r#"ws_opcode == "close""#).len(), 4);
    assert_eq!(
        messages(r#"ws_request && ws_opcode == "binary" && ws_request_payload_length == 512"#)
            .len(),
        1
    );
    let pings = frames(&["websocket.payload.ping"])
        .into_iter()
        .filter(|(_, f)| !f[0].is_empty())
        .map(|(dir, f)| (dir, String::from_utf8(hex(&f[0])).expect("text ping")));
    let ours = messages(r#"ws and request.opcode == "ping""#)
        .into_iter()
        .map(|(dir, m)| (dir, text(&m["body"])));
    assert_eq!(counted(ours), counted(pings));
}

#[test]
fn the_handshake_and_the_messages_count_every_byte_tshark_sees() {
    let payload = tcp_payload_bytes(&session().pcap);
    let ours = entry_bytes(&query_json(&session().store, &["ws or http"]));
    assert_eq!(ours, payload);
}

#[test]
fn bodies_are_cut_at_max_body_after_inflating() {
    let store = tempfile::tempdir().expect("temp dir");
    run_ok(
        crate::util::shark()
            .arg("import")
            .arg(&session().pcap)
            .arg("--store")
            .arg(store.path())
            .args(["--node", "ws", "--max-body", "100"]),
    );
    let binary = query_json(store.path(), &[r#"ws and request.opcode == "binary""#]);
    assert_eq!(binary.len(), 2);
    let expected: Vec<u8> = (0..=255u8).collect();
    for e in &binary {
        // The body as shown (base64) keeps 100 bytes, as every protocol's does: --max-body
        // counts bytes, not the base64 characters that spell them.
        let kept = crate::bodies::unbase64(&text(&e["request"]["body"]));
        assert_eq!(kept, expected[..100]);
    }
    let sizes: Vec<_> = binary
        .iter()
        .map(|e| e["request"]["bodySize"].as_u64())
        .collect();
    assert_eq!(sizes, [Some(274), Some(512)], "the payload as sent, whole");
    let inflated = query_json(
        store.path(),
        &[
            r#"ws and request.opcode == "text" and request.compressed == true and request.frames == 1"#,
        ],
    );
    let hello = "hello ".repeat(20);
    assert_eq!(text(&inflated[0]["request"]["body"]), hello[..100]);
}

/// Bytes from hex.
fn hex(text: &str) -> Vec<u8> {
    (0..text.len() / 2)
        .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).expect("hex"))
        .collect()
}
