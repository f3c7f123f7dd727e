//! TLS handshake dissection of real captures, replayed from `tests/data/tls/`. Expected values come
//! from tshark's `tls.handshake.*` fields on the same files (`tests/fixtures/public/deepflow/tls__*.pcap`,
//! `l4-source-port-reuse.pcap`, and `pcap-parser/err-buffertoosmall.pcapng` for the HelloRetryRequest).

use crate::replay::{replay, replay_in_chunks, replay_mutated, segments};
use serde_json::json;
use shark_pipeline::dissect::tls::TlsDissector;
use shark_pipeline::dissect::{Confidence, Direction, Dissector, Exchange, ParserSettings};

const CAPTURES: &[&str] = &[
    "alert",
    "application",
    "client-extension",
    "hello-retry",
    "l4-source-port-reuse",
    "tls-1-0",
    "tls-1-3",
    "tls-nocert",
];

fn only(name: &str) -> Exchange {
    let mut exchanges = replay(
        TlsDissector.parser(&ParserSettings::default()),
        &format!("tls/{name}"),
    );
    assert_eq!(exchanges.len(), 1, "{name}: {exchanges:#?}");
    exchanges.remove(0)
}

#[test]
fn tls_1_3_handshake() {
    // tshark: SNI www.taobao.com, supported_versions 0x0304, 3 ciphers; ServerHello chooses 0x0304, 0x1302.
    let e = only("tls-1-3");
    assert_eq!((e.protocol, e.version.as_str()), ("tls", "1.3"));
    assert_eq!(e.request["sni"], json!("www.taobao.com"));
    assert_eq!(e.request["versions"], json!(["1.3"]));
    assert_eq!(e.request["ciphers"], json!(3));
    assert_eq!(e.response["cipher"], json!("TLS_AES_256_GCM_SHA384"));
    assert_eq!(e.error, None);
}

#[test]
fn grease_is_left_out_of_offered_versions_and_alpn_is_read() {
    // tshark: SNI www.baidu.com, ALPN h2,http/1.1, versions 0x7a7a (GREASE),0x0304,0x0303,
    // 16 cipher suites; ServerHello 1.2 with 0xc02f and ALPN http/1.1.
    let e = only("client-extension");
    assert_eq!(e.version, "1.2");
    assert_eq!(e.request["sni"], json!("www.baidu.com"));
    assert_eq!(e.request["alpn"], json!(["h2", "http/1.1"]));
    assert_eq!(e.request["versions"], json!(["1.3", "1.2"]));
    assert_eq!(e.request["ciphers"], json!(16));
    assert_eq!(
        e.response["cipher"],
        json!("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
    );
    assert_eq!(e.response["alpn"], json!("http/1.1"));
}

#[test]
fn full_tls_1_2_handshake_completes_when_both_sides_switch() {
    // tshark: ClientHello offers 0x0304,0x0303 and 19 suites; ServerHello 0x0303 with 0xc030;
    // client ChangeCipherSpec in frame 3, server's in frame 4, application data in frame 5.
    let e = only("application");
    assert_eq!(e.version, "1.2");
    assert_eq!(e.request.get("sni"), None);
    assert_eq!(e.request["ciphers"], json!(19));
    assert_eq!(
        e.response["cipher"],
        json!("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384")
    );
    assert_eq!(e.error, None);
    assert_eq!(e.start.map(|m| m.packet), Some(1));
    assert_eq!(e.end.map(|m| m.packet), Some(4));
}

#[test]
fn tls_1_0_negotiated_from_a_legacy_client_hello() {
    // tshark: ClientHello version 0x0303 without supported_versions, 28 suites; ServerHello 0x0301, 0x0039.
    let e = only("tls-1-0");
    assert_eq!(e.version, "1.0");
    assert_eq!(e.request["versions"], json!(["1.2"]));
    assert_eq!(e.request["ciphers"], json!(28));
    assert_eq!(
        e.response["cipher"],
        json!("TLS_DHE_RSA_WITH_AES_256_CBC_SHA")
    );
}

#[test]
fn tls_1_3_without_certificate() {
    // tshark: SNI internal-api-security.feishu.cn, ALPN h2,http/1.1; ServerHello 0x0304 with 0x1301.
    let e = only("tls-nocert");
    assert_eq!(e.version, "1.3");
    assert_eq!(e.request["sni"], json!("internal-api-security.feishu.cn"));
    assert_eq!(e.response["cipher"], json!("TLS_AES_128_GCM_SHA256"));
    assert_eq!(e.error, None);
}

#[test]
fn hello_retry_request_keeps_the_final_server_hello() {
    // tshark: ClientHello (SNI example.com), HelloRetryRequest in frame 6, second ClientHello in
    // frame 7, ServerHello 0x0304 with 0x1302 in frame 8.
    let e = only("hello-retry");
    assert_eq!(e.version, "1.3");
    assert_eq!(e.request["sni"], json!("example.com"));
    assert_eq!(e.request["alpn"], json!(["http/1.1"]));
    assert_eq!(e.request["ciphers"], json!(31));
    assert_eq!(e.response["cipher"], json!("TLS_AES_256_GCM_SHA384"));
    assert_eq!(e.response["helloRetry"], json!(true));
    assert_eq!(e.error, None);
}

#[test]
fn alert_on_a_connection_joined_mid_way_is_an_error_entry() {
    // tshark: a single Alert record (encrypted, 26 bytes) and no handshake.
    let e = only("alert");
    assert_eq!((e.protocol, e.version.as_str()), ("tls", ""));
    assert_eq!(e.error.as_deref(), Some("encrypted alert from client"));
    let e = only("l4-source-port-reuse");
    assert_eq!(e.error.as_deref(), Some("encrypted alert from server"));
}

#[test]
fn any_chunking_gives_the_same_entries() {
    for name in CAPTURES {
        let whole = replay(
            TlsDissector.parser(&ParserSettings::default()),
            &format!("tls/{name}"),
        );
        for chunk in [1, 3, 50] {
            let pieces = replay_in_chunks(
                TlsDissector.parser(&ParserSettings::default()),
                &segments(&format!("tls/{name}")),
                chunk,
            );
            assert_eq!(pieces, whole, "{name} in {chunk}-byte chunks");
        }
    }
}

#[test]
fn probe_knows_hellos_from_other_protocols() {
    for name in ["application", "client-extension", "tls-1-3", "hello-retry"] {
        let segments = segments(&format!("tls/{name}"));
        let first = segments.first().expect("payload");
        assert_eq!(
            TlsDissector.probe(&first.payload, first.dir),
            Confidence::Yes,
            "{name}"
        );
    }
    let alert = segments("tls/alert");
    assert_eq!(
        TlsDissector.probe(&alert[0].payload, Direction::ToServer),
        Confidence::Maybe
    );
    assert_eq!(
        TlsDissector.probe(b"GET / HTTP/1.1\r\n", Direction::ToServer),
        Confidence::No
    );
    assert_eq!(
        TlsDissector.probe(b"PRI * HTTP/2.0", Direction::ToServer),
        Confidence::No
    );
    assert_eq!(
        TlsDissector.probe(&[22, 3], Direction::ToServer),
        Confidence::NeedMore
    );
}

#[test]
fn handshake_alert_is_an_error() {
    // A ClientHello answered by a plaintext fatal handshake_failure alert.
    let client_hello = segments("tls/tls-1-3").remove(0);
    let mut parser = TlsDissector.parser(&ParserSettings::default());
    let mut out = Vec::new();
    let meta = shark_pipeline::dissect::ChunkMeta {
        ts_ns: 1,
        packet: 1,
    };
    parser.feed(Direction::ToServer, &client_hello.payload, meta, &mut out);
    parser.feed(
        Direction::ToClient,
        &[21, 3, 3, 0, 2, 2, 40],
        meta,
        &mut out,
    );
    assert_eq!(out.len(), 1);
    assert_eq!(
        out[0].error.as_deref(),
        Some("Fatal alert from server: HandshakeFailure")
    );
    assert_eq!(out[0].request["sni"], json!("www.taobao.com"));
}

#[test]
fn hostile_bytes_never_panic() {
    for name in CAPTURES {
        replay_mutated(
            || TlsDissector.parser(&ParserSettings::default()),
            &format!("tls/{name}"),
            300,
        );
    }
}
