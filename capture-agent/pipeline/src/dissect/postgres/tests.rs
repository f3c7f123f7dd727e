//! PostgreSQL's unit tests: startup and SSL negotiation, simple and extended cycles, named
//! statements, wire sizes however the bytes are chunked, gaps, huge rows and probes.

use serde_json::json;

use super::PostgresDissector;
use super::messages::PROTOCOL_3;
use crate::dissect::test_support::{META, feed_in_pieces, sizes};
use crate::dissect::{Confidence, Direction, Dissector, Exchange, ParserSettings};

/// A typed message: type byte, length (including itself), body.
fn msg(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![kind];
    out.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
    out.extend_from_slice(body);
    out
}

fn startup(params: &[u8]) -> Vec<u8> {
    let mut out = (params.len() as u32 + 8).to_be_bytes().to_vec();
    out.extend_from_slice(&PROTOCOL_3.to_be_bytes());
    out.extend_from_slice(params);
    out
}

fn run(steps: &[(Direction, Vec<u8>)]) -> Vec<Exchange> {
    let mut parser = PostgresDissector.parser(&ParserSettings::default());
    let mut out = Vec::new();
    for (dir, bytes) in steps {
        parser.feed(*dir, bytes, META, &mut out);
    }
    parser.close("FIN", &mut out);
    out
}

fn ready() -> Vec<u8> {
    msg(b'Z', b"I")
}

#[test]
fn ssl_refused_then_startup_then_query() {
    let ssl = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f].to_vec();
    let server = [
        msg(b'R', &[0, 0, 0, 0]),
        msg(b'S', b"server_version\x0016.2\x00"),
        ready(),
    ]
    .concat();
    let out = run(&[
        (Direction::ToServer, ssl),
        (Direction::ToClient, b"N".to_vec()),
        (
            Direction::ToServer,
            startup(b"user\x00app\x00database\x00shop\x00\x00"),
        ),
        (Direction::ToClient, server),
        (Direction::ToServer, msg(b'Q', b"select 1\x00")),
        (
            Direction::ToClient,
            [
                msg(b'D', b"\x00\x01\x00\x00\x00\x011"),
                msg(b'C', b"SELECT 1\x00"),
                ready(),
            ]
            .concat(),
        ),
    ]);
    let kinds: Vec<_> = out.iter().map(|e| e.request.get("type").cloned()).collect();
    assert_eq!(
        kinds,
        [
            Some(json!("ssl")),
            Some(json!("startup")),
            Some(json!("simple"))
        ]
    );
    assert_eq!(out[0].response.get("statusText"), Some(&json!("refused")));
    assert_eq!(out[1].request.get("user"), Some(&json!("app")));
    assert_eq!(out[1].request.get("database"), Some(&json!("shop")));
    assert_eq!(out[2].response.get("rows"), Some(&json!(1)));
    assert!(out.iter().all(|e| e.error.is_none()));
}

#[test]
fn accepted_ssl_stops_dissection() {
    let ssl = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f].to_vec();
    let out = run(&[
        (Direction::ToServer, ssl),
        (Direction::ToClient, b"S".to_vec()),
        (
            Direction::ToServer,
            b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03".to_vec(),
        ),
    ]);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].response.get("statusText"), Some(&json!("accepted")));
}

#[test]
fn fatal_startup_error_without_ready_for_query_is_reported_on_close() {
    let out = run(&[
        (Direction::ToServer, startup(b"user\x00bob\x00\x00")),
        (
            Direction::ToClient,
            msg(
                b'E',
                b"SFATAL\x00C28P01\x00Mpassword authentication failed\x00\x00",
            ),
        ),
    ]);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].response.get("code"), Some(&json!("28P01")));
    assert_eq!(out[0].response.get("status"), Some(&json!(1)));
}

#[test]
fn pipelined_syncs_pair_in_order_and_named_statements_are_remembered() {
    let client = [
        msg(b'P', b"s1\x00select $1\x00\x00\x00"),
        msg(b'B', b"\x00s1\x00\x00\x00\x00\x00\x00\x00"),
        msg(b'E', b"\x00\x00\x00\x00\x00"),
        msg(b'S', b""),
        msg(b'B', b"p2\x00s1\x00\x00\x00\x00\x00\x00\x00"),
        msg(b'E', b"p2\x00\x00\x00\x00\x00"),
        msg(b'S', b""),
    ]
    .concat();
    let error = msg(b'E', b"SERROR\x00C22P02\x00Minvalid input\x00\x00");
    let server = [
        msg(b'1', b""),
        msg(b'2', b""),
        msg(b'C', b"SELECT 1\x00"),
        ready(),
        msg(b'2', b""),
        error,
        ready(),
    ]
    .concat();
    let out = run(&[(Direction::ToServer, client), (Direction::ToClient, server)]);
    let queries: Vec<_> = out
        .iter()
        .map(|e| e.request.get("query").cloned())
        .collect();
    assert_eq!(
        queries,
        [Some(json!("select $1")), Some(json!("select $1"))]
    );
    assert_eq!(out[0].response.get("status"), Some(&json!(0)));
    assert_eq!(out[1].response.get("error"), Some(&json!("invalid input")));
}

#[test]
fn a_statement_prepared_before_the_capture_is_named_by_the_batch_that_binds_it() {
    // Joined mid-connection: S_18 was parsed before the capture began; S_20 is parsed in it.
    let client = [
        msg(b'B', b"\x00S_18\x00\x00\x00\x00\x00\x00\x00"),
        msg(b'E', b"\x00\x00\x00\x00\x00"),
        msg(b'S', b""),
        msg(b'P', b"S_20\x00select 2\x00\x00\x00"),
        msg(b'B', b"\x00S_20\x00\x00\x00\x00\x00\x00\x00"),
        msg(b'E', b"\x00\x00\x00\x00\x00"),
        msg(b'S', b""),
    ]
    .concat();
    let done = [msg(b'2', b""), msg(b'C', b"SELECT 1\x00"), ready()].concat();
    let out = run(&[
        (Direction::ToServer, client),
        (Direction::ToClient, [done.clone(), done].concat()),
    ]);
    let named: Vec<_> = out
        .iter()
        .map(|e| {
            (
                e.request.get("statement").cloned(),
                e.request.get("query").cloned(),
            )
        })
        .collect();
    assert_eq!(
        named,
        [
            (Some(json!("S_18")), None),
            (Some(json!("S_20")), Some(json!("select 2")))
        ]
    );
}

#[test]
fn every_exchange_counts_its_messages_on_the_wire_however_fragmented() {
    let startup = startup(b"user\x00app\x00\x00");
    let password = msg(b'p', b"md5abc\x00");
    let auth = [msg(b'R', &[0, 0, 0, 5, 1, 2, 3, 4])];
    let welcome = [
        msg(b'R', &[0, 0, 0, 0]),
        msg(b'S', b"server_version\x0016.2\x00"),
        msg(b'K', &[0, 0, 0, 7, 0, 0, 0, 9]),
        ready(),
    ];
    let first_cycle = [
        msg(b'P', b"s1\x00select $1\x00\x00\x00"),
        msg(b'B', b"\x00s1\x00\x00\x00\x00\x00\x00\x00"),
        msg(b'E', b"\x00\x00\x00\x00\x00"),
        msg(b'S', b""),
    ];
    let second_cycle = [
        msg(b'B', b"p2\x00s1\x00\x00\x00\x00\x00\x00\x00"),
        msg(b'E', b"p2\x00\x00\x00\x00\x00"),
        msg(b'S', b""),
    ];
    let first_reply = [
        msg(b'1', b""),
        msg(b'2', b""),
        msg(b'C', b"SELECT 1\x00"),
        ready(),
    ];
    let second_reply = [msg(b'2', b""), msg(b'C', b"SELECT 1\x00"), ready()];
    let bytes = |messages: &[Vec<u8>]| messages.iter().map(Vec::len).sum::<usize>();
    let expected = [
        (
            startup.len() + password.len(),
            bytes(&auth) + bytes(&welcome),
        ),
        (bytes(&first_cycle), bytes(&first_reply)),
        (bytes(&second_cycle), bytes(&second_reply)),
    ]
    .map(|(request, response)| (Some(json!(request)), Some(json!(response))));
    let steps = [
        (Direction::ToClient, auth.concat()),
        (Direction::ToServer, password.clone()),
        (Direction::ToClient, welcome.concat()),
        (
            Direction::ToServer,
            [first_cycle.concat(), second_cycle.concat()].concat(),
        ),
        (
            Direction::ToClient,
            [first_reply.concat(), second_reply.concat()].concat(),
        ),
    ];
    for piece in [1, 3, 7, usize::MAX] {
        let mut parser = PostgresDissector.parser(&ParserSettings::default());
        let mut out = Vec::new();
        // The first client bytes tell a connection's start: they arrive whole, as from TCP.
        parser.feed(Direction::ToServer, &startup, META, &mut out);
        for (dir, step) in &steps {
            feed_in_pieces(parser.as_mut(), *dir, step, piece, &mut out);
        }
        let sizes = sizes(&out);
        assert_eq!(sizes, expected, "pieces of {piece} bytes");
    }
}

#[test]
fn a_reply_cut_off_by_the_end_of_the_flow_counts_the_bytes_that_passed() {
    let query = msg(b'Q', b"select blob from t\x00");
    let row = msg(b'D', &[7; 5000]);
    let arrived = [
        msg(b'T', b"\x00\x00"),
        row.get(..1200).unwrap_or_default().to_vec(),
    ]
    .concat();
    let out = run(&[
        (Direction::ToServer, query.clone()),
        (Direction::ToClient, arrived.clone()),
    ]);
    let sizes = sizes(&out);
    assert_eq!(
        sizes,
        [(Some(json!(query.len())), Some(json!(arrived.len())))]
    );
}

#[test]
fn huge_data_rows_are_counted_not_buffered() {
    let mut parser = PostgresDissector.parser(&ParserSettings::default());
    let mut out = Vec::new();
    parser.feed(
        Direction::ToServer,
        &msg(b'Q', b"select blob from t\x00"),
        META,
        &mut out,
    );
    let row_len: u32 = 50 << 20;
    let mut header = vec![b'D'];
    header.extend_from_slice(&(row_len + 4).to_be_bytes());
    let block = vec![0u8; 1 << 20];
    for _ in 0..3 {
        parser.feed(Direction::ToClient, &header, META, &mut out);
        for _ in 0..50 {
            parser.feed(Direction::ToClient, &block, META, &mut out);
        }
    }
    parser.feed(
        Direction::ToClient,
        &[msg(b'C', b"SELECT 3\x00"), ready()].concat(),
        META,
        &mut out,
    );
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].response.get("rows"), Some(&json!(3)));
    assert_eq!(out[0].response.get("statusText"), Some(&json!("SELECT 3")));
}

#[test]
fn server_gap_reports_waiting_cycles_and_resynchronises() {
    let mut parser = PostgresDissector.parser(&ParserSettings::default());
    let mut out = Vec::new();
    parser.feed(
        Direction::ToServer,
        &msg(b'Q', b"select 1\x00"),
        META,
        &mut out,
    );
    parser.feed(
        Direction::ToClient,
        &msg(b'T', b"\x00\x01abc")[..6],
        META,
        &mut out,
    );
    parser.gap(Direction::ToClient, &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(
        out[0].error.as_deref(),
        Some("response lost in a capture gap")
    );
    parser.feed(
        Direction::ToServer,
        &msg(b'Q', b"select 2\x00"),
        META,
        &mut out,
    );
    parser.feed(
        Direction::ToClient,
        &[b"garbage".to_vec(), msg(b'C', b"SELECT 1\x00"), ready()].concat(),
        META,
        &mut out,
    );
    assert_eq!(out.len(), 2);
    assert_eq!(out[1].request.get("query"), Some(&json!("select 2")));
    assert_eq!(out[1].response.get("statusText"), Some(&json!("SELECT 1")));
}

#[test]
fn probe_recognises_startup_queries_and_replies() {
    assert_eq!(
        PostgresDissector.probe(&startup(b"user\x00a\x00\x00"), Direction::ToServer),
        Confidence::Yes
    );
    assert_eq!(
        PostgresDissector.probe(&msg(b'Q', b"select 1\x00"), Direction::ToServer),
        Confidence::Yes
    );
    assert_eq!(
        PostgresDissector.probe(&msg(b'P', b"\x00select 1\x00\x00\x00"), Direction::ToServer),
        Confidence::Yes
    );
    assert_eq!(
        PostgresDissector.probe(b"POST / HTTP/1.1\r\n", Direction::ToServer),
        Confidence::No
    );
    assert_eq!(
        PostgresDissector.probe(b"PUT /x HTTP/1.1\r\n", Direction::ToServer),
        Confidence::No
    );
    assert_eq!(
        PostgresDissector.probe(&ready(), Direction::ToClient),
        Confidence::Yes
    );
}

#[test]
fn arbitrary_bytes_never_panic() {
    let mut seed = 0x1234_5678_u32;
    for len in 0..300 {
        let bytes: Vec<u8> = (0..len)
            .map(|i| {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                // Mostly small values so that lengths and types are often plausible.
                if i % 5 == 0 {
                    b"QPBESDCZ123"[(seed % 11) as usize]
                } else {
                    (seed % 16) as u8
                }
            })
            .collect();
        let _ = PostgresDissector.probe(&bytes, Direction::ToServer);
        let _ = run(&[
            (Direction::ToServer, bytes.clone()),
            (Direction::ToClient, bytes),
        ]);
    }
}
