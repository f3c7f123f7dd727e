//! HTTP/2 and gRPC dissection of real DeepFlow captures, replayed from `tests/data/http2/`.
//! Expected values come from `tshark -d tcp.port==PORT,http2` on the same files
//! (`tests/fixtures/public/deepflow/http__*.pcap`); the port is named in each data file.

use crate::replay::{replay, replay_in_chunks, replay_mutated, segments};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;
use shark_pipeline::dissect::http2::{Http2Dissector, parser_after_upgrade};
use shark_pipeline::dissect::{
    ChunkMeta, Confidence, Direction, Dissector, Exchange, ParserSettings,
};
use shark_pipeline::summary_line;

const CAPTURES: &[&str] = &[
    "grpc-segmented",
    "grpc-server-stream",
    "grpc-service-name",
    "grpc-unary",
    "grpc-unknown",
    "h2c_ascii",
    "http2-multi",
    "httpv2-stream-id",
];

fn dissect(name: &str) -> Vec<Exchange> {
    replay(
        Http2Dissector.parser(&ParserSettings::default()),
        &format!("http2/{name}"),
    )
}

fn only(name: &str) -> Exchange {
    let mut exchanges = dissect(name);
    assert_eq!(exchanges.len(), 1, "{name}: {exchanges:#?}");
    exchanges.remove(0)
}

#[test]
fn grpc_server_streaming_call_is_one_entry_with_message_counts() {
    // tshark: stream 1 POST .../ServerStreamQuery, request message 30 bytes, response :status 200,
    // five messages (1230, 246, 492, 738, 492 bytes), trailers grpc-status 0.
    let e = only("grpc-server-stream");
    assert_eq!((e.protocol, e.version.as_str()), ("grpc", "2"));
    assert_eq!(
        e.request["service"],
        json!("timeseriesquery.TimeSeriesQueryService")
    );
    assert_eq!(e.request["grpcMethod"], json!("ServerStreamQuery"));
    assert_eq!(
        e.request["path"],
        json!("/timeseriesquery.TimeSeriesQueryService/ServerStreamQuery")
    );
    assert_eq!(e.request["host"], json!("localhost:9001"));
    assert_eq!(e.request["messages"], json!(1));
    assert_eq!(e.request["messageSizes"], json!([30]));
    assert_eq!(e.response["httpStatus"], json!(200));
    assert_eq!(e.response["status"], json!(0));
    assert_eq!(e.response["statusText"], json!("OK"));
    assert_eq!(e.response["messages"], json!(5));
    assert_eq!(
        e.response["messageSizes"],
        json!([1230, 246, 492, 738, 492])
    );
    assert_eq!(e.error, None);
    assert_eq!(e.start.map(|m| m.packet), Some(1));
    assert_eq!(e.end.map(|m| m.packet), Some(8));
}

#[test]
fn grpc_client_streaming_call_after_the_preface() {
    // tshark: preface in frame 4, stream 1 POST /StreamingService/ClientStreamRPC, three request
    // messages of 25 bytes, response 200 with one 103-byte message and grpc-status 0 (frame 32).
    let e = only("grpc-service-name");
    assert_eq!(e.protocol, "grpc");
    assert_eq!(e.request["service"], json!("StreamingService"));
    assert_eq!(e.request["grpcMethod"], json!("ClientStreamRPC"));
    assert_eq!(e.request["messageSizes"], json!([25, 25, 25]));
    assert_eq!(e.response["status"], json!(0));
    assert_eq!(e.response["messageSizes"], json!([103]));
    assert_eq!(e.error, None);
    assert_eq!(e.start.map(|m| m.packet), Some(12));
    assert_eq!(e.end.map(|m| m.packet), Some(32));
}

#[test]
fn grpc_joined_mid_way_with_all_headers_known() {
    // tshark: frame 1 starts with SETTINGS (no preface); POST /hipstershop.CartService/GetCart,
    // request message 38 bytes; response 200, message 16 bytes, grpc-status 0.
    let e = only("h2c_ascii");
    assert_eq!(e.protocol, "grpc");
    assert_eq!(e.request["service"], json!("hipstershop.CartService"));
    assert_eq!(e.request["grpcMethod"], json!("GetCart"));
    assert_eq!(
        e.request["method"],
        json!("POST"),
        "as in Kubeshark, a gRPC call's method is the HTTP method"
    );
    assert_eq!(e.request["headers"]["user-agent"], json!("grpc-go/1.22.0"));
    assert_eq!(e.request["messageSizes"], json!([38]));
    assert_eq!(e.response["status"], json!(0));
    assert_eq!(e.response["messageSizes"], json!([16]));
    assert_eq!(e.error, None);
}

#[test]
fn unanswered_grpc_requests_are_entries_with_an_error() {
    // grpc-segmented: only the client side, a 2433-byte message split over two packets.
    let e = only("grpc-segmented");
    assert_eq!(e.protocol, "grpc");
    assert_eq!(e.request["grpcMethod"], json!("Push"));
    assert_eq!(e.request["messageSizes"], json!([2433]));
    assert_eq!(
        e.error.as_deref(),
        Some("no response before connection closed (end of capture)")
    );
    // grpc-unary: the response headers (200) arrive, its body and trailers do not.
    let e = only("grpc-unary");
    assert_eq!(e.request["service"], json!("agent.Synchronizer"));
    assert_eq!(e.request["grpcMethod"], json!("Sync"));
    assert_eq!(e.request["messageSizes"], json!([237]));
    assert_eq!(e.response["httpStatus"], json!(200));
    assert_eq!(e.response.get("status"), None);
    assert_eq!(
        e.response.get("statusText"),
        None,
        "no grpc-status, so no gRPC status text"
    );
    assert!(
        e.error
            .as_deref()
            .is_some_and(|err| err.contains("before the response ended")),
        "{e:#?}"
    );
}

#[test]
fn joined_mid_way_unknown_fields_are_skipped_and_marked() {
    // tshark: stream 928401 POST with :path unknown but content-type application/grpc, response
    // :status 200 and trailers whose names are unknown.
    let e = only("grpc-unknown");
    assert_eq!(e.protocol, "grpc");
    assert_eq!(
        e.request.get("service"),
        None,
        "no service/method without :path: {e:#?}"
    );
    assert_eq!(e.request.get("grpcMethod"), None);
    assert_eq!(e.request["host"], json!("currencyservice:7000"));
    assert_eq!(e.response["httpStatus"], json!(200));
    assert!(
        e.error
            .as_deref()
            .is_some_and(|err| err.contains("unknown")),
        "{e:#?}"
    );
}

#[test]
fn concurrent_streams_pair_by_stream_id() {
    // tshark: requests on streams 18131981 and 18131983 (POST, :path unknown), responses 200 on
    // both, 18131983 answered first. Request bodies (http2.data.data): 000000000c0a0a4c53345053
    // 58554e554d and 000000000c0a0a3636564348534a4e5550, protobuf messages kept byte for byte.
    let exchanges = dissect("http2-multi");
    assert_eq!(exchanges.len(), 2, "{exchanges:#?}");
    let mut bodies: Vec<Vec<u8>> = exchanges
        .iter()
        .map(|e| {
            assert_eq!(
                e.request["bodyEncoding"],
                json!("base64"),
                "a protobuf body is not text"
            );
            let body = e.request["body"].as_str().unwrap_or_default();
            STANDARD.decode(body).unwrap_or_default()
        })
        .collect();
    bodies.sort();
    assert_eq!(
        bodies,
        [
            b"\0\0\0\0\x0c\n\n66VCHSJNUP".to_vec(),
            b"\0\0\0\0\x0c\n\nLS4PSXUNUM".to_vec()
        ]
    );
    for e in &exchanges {
        assert_eq!((e.protocol, e.version.as_str()), ("http", "2"));
        assert_eq!(e.request["method"], json!("POST"));
        assert_eq!(e.response["status"], json!(200));
        assert!(
            e.error
                .as_deref()
                .is_some_and(|err| err.contains("unknown"))
        );
    }
}

#[test]
fn request_without_response_in_a_one_packet_capture() {
    // tshark: stream 1392369, :scheme http, :method POST, the rest unknown.
    let e = only("httpv2-stream-id");
    assert_eq!(e.request["method"], json!("POST"));
    assert!(
        e.error
            .as_deref()
            .is_some_and(|err| err.contains("no response before connection closed"))
    );
}

#[test]
fn any_chunking_gives_the_same_entries() {
    for name in CAPTURES {
        let whole = dissect(name);
        for chunk in [1, 2, 7, 100] {
            let pieces = replay_in_chunks(
                Http2Dissector.parser(&ParserSettings::default()),
                &segments(&format!("http2/{name}")),
                chunk,
            );
            assert_eq!(pieces, whole, "{name} in {chunk}-byte chunks");
        }
    }
}

#[test]
fn probe_finds_http2_by_content_on_any_port() {
    for name in CAPTURES {
        let segments = segments(&format!("http2/{name}"));
        let first = segments.first().expect("payload");
        assert_eq!(
            Http2Dissector.probe(&first.payload, first.dir),
            Confidence::Yes,
            "{name}"
        );
    }
    for other in [
        &b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"[..],
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
        b"*1\r\n$4\r\nPING\r\n",
    ] {
        assert_eq!(
            Http2Dissector.probe(other, Direction::ToServer),
            Confidence::No
        );
    }
    assert_eq!(
        Http2Dissector.probe(b"PRI * HT", Direction::ToServer),
        Confidence::NeedMore
    );
}

#[test]
fn h2c_upgrade_answers_the_upgraded_request_on_stream_1() {
    // After "101 Switching Protocols" the client sends the preface and SETTINGS; the server sends
    // SETTINGS and the response to the HTTP/1.1 request as stream 1: HEADERS (:status 200, indexed
    // 0x88) then DATA "ok" with END_STREAM. Stream 1's request is the HTTP/1.1 one, sent at packet 0.
    let meta = |packet| ChunkMeta { ts_ns: 0, packet };
    let mut request = shark_store::Message::new();
    request.insert("method".into(), json!("GET"));
    request.insert("path".into(), json!("/upgrade"));
    let mut parser = parser_after_upgrade(request, Some(meta(0)), &ParserSettings::default());
    let mut out = Vec::new();
    let client = [
        &b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"[..],
        &[0, 0, 0, 4, 0, 0, 0, 0, 0],
    ]
    .concat();
    parser.feed(Direction::ToServer, &client, meta(1), &mut out);
    let server = [
        &[0, 0, 0, 4, 0, 0, 0, 0, 0][..],
        &[0, 0, 1, 1, 4, 0, 0, 0, 1, 0x88],
        &[0, 0, 2, 0, 1, 0, 0, 0, 1],
        b"ok",
    ]
    .concat();
    parser.feed(Direction::ToClient, &server, meta(2), &mut out);
    assert_eq!(out.len(), 1);
    let e = out.remove(0);
    assert_eq!(e.response["status"], json!(200));
    assert_eq!(e.response["body"], json!("ok"));
    assert_eq!(e.request["method"], json!("GET"));
    assert_eq!(e.request["path"], json!("/upgrade"));
    assert_eq!(
        e.start,
        Some(meta(0)),
        "the exchange starts with the HTTP/1.1 request"
    );
    assert_eq!(e.error, None);
}

#[test]
fn hostile_bytes_never_panic() {
    for name in CAPTURES {
        replay_mutated(
            || Http2Dissector.parser(&ParserSettings::default()),
            &format!("http2/{name}"),
            300,
        );
    }
}

/// Summary lines of the entries the whole pipeline finds in `tests/data/http2/<name>`, without
/// the connection records (`tests/expected` and `pipeline.rs` check those).
fn pipeline_entries(name: &str) -> Vec<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/http2")
        .join(name);
    let run = crate::common::run_file(&path);
    assert!(run.error.is_none(), "{name}: {:?}", run.error);
    run.sink
        .entries
        .iter()
        .filter(|e| e.protocol.name != "tcp")
        .map(summary_line)
        .collect()
}

#[test]
fn prior_knowledge_on_an_http1_port_is_found_by_the_preface() {
    // Recorded with `nghttp -n` (three concurrent GETs) against `nghttpd --no-tls` on port 8080,
    // which the port table gives to HTTP/1; tshark -d tcp.port==8080,http2: streams 13, 15, 17
    // answered 200, 200, 404, then the client's GOAWAY.
    let mut lines = pipeline_entries("h2-prior-knowledge.pcap");
    lines.sort();
    assert_eq!(
        lines,
        vec![
            "http/2 GET /hello.txt 200",
            "http/2 GET /items.json 200",
            "http/2 GET /missing 404"
        ]
    );
}

#[test]
fn h2c_upgrade_and_a_backend_connection_joined_mid_way() {
    // Recorded with `curl --http2` (Upgrade: h2c) through nghttpx on 8081, whose backend
    // connection to nghttpd on 8080 was already open. tshark: the upgrade request and 101, then
    // stream 1 answered 200 "hello over h2c"; on the backend, HEADERS[3] GET /hello.txt, 200.
    // The upgrade request is the HTTP/1 entry answered 101, and stream 1's request too: stream 1
    // carries its method and path with the HTTP/2 response.
    let lines = pipeline_entries("h2c-upgrade.pcap");
    assert_eq!(
        lines,
        vec![
            "http/1.1 GET /hello.txt 101",
            "http/2 GET /hello.txt 200 error: some header fields unknown: compression table \
             incomplete (connection joined mid-way or bytes lost)",
            "http/2 GET /hello.txt 200",
        ]
    );
}
