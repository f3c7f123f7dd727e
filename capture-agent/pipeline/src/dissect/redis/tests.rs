//! Redis's unit tests: RESP3 reply types, attributes and pushes, huge bulk values, SUBSCRIBE
//! pairing, gaps, protocol errors, wire sizes however the bytes are chunked, and probes.

use serde_json::{Value, json};

use super::RedisDissector;
use super::reader::{MAX_LINE, MAX_TEXT};
use crate::dissect::test_support::{META, feed_in_pieces, sizes};
use crate::dissect::{Confidence, Direction, Dissector, Exchange, ParserSettings};

fn exchanges(steps: &[(Direction, &[u8])]) -> Vec<Exchange> {
    let mut parser = RedisDissector.parser(&ParserSettings::default());
    let mut out = Vec::new();
    for (dir, bytes) in steps {
        parser.feed(*dir, bytes, META, &mut out);
    }
    parser.close("FIN", &mut out);
    out
}

fn types(out: &[Exchange]) -> Vec<String> {
    out.iter()
        .map(|e| {
            e.response
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        })
        .collect()
}

#[test]
fn resp3_reply_types_are_named() {
    let requests = b"*1\r\n$5\r\nHELLO\r\n".repeat(8);
    let replies: &[u8] = b"%1\r\n+server\r\n+redis\r\n,3.14\r\n#t\r\n(12345678901234567890\r\n=15\r\ntxt:Some string\r\n!9\r\nERR boom!\r\n~2\r\n:1\r\n:2\r\n_\r\n";
    let out = exchanges(&[
        (Direction::ToServer, &requests),
        (Direction::ToClient, replies),
    ]);
    assert_eq!(
        types(&out),
        [
            "map",
            "double",
            "boolean",
            "bignum",
            "verbatim",
            "bulkError",
            "set",
            "nil"
        ]
    );
    assert_eq!(out[5].response.get("statusText"), Some(&json!("ERR boom!")));
    assert_eq!(out[5].response.get("status"), Some(&json!(1)));
    assert_eq!(
        out[0].response.get("body"),
        Some(&json!(["server", "redis"]))
    );
}

#[test]
fn attribute_decorates_the_reply_and_push_is_not_a_reply() {
    let replies: &[u8] = b">2\r\n+invalidate\r\n+k\r\n|1\r\n+ttl\r\n:3\r\n$2\r\nok\r\n";
    let out = exchanges(&[
        (Direction::ToServer, b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"),
        (Direction::ToClient, replies),
    ]);
    assert_eq!(types(&out), ["push", "bulk"]);
    assert!(out[0].request.is_empty() && out[0].error.is_none());
    assert_eq!(out[1].request.get("key"), Some(&json!("k")));
    assert_eq!(out[1].response.get("body"), Some(&json!("ok")));
}

#[test]
fn huge_bulk_value_is_skipped_without_buffering() {
    let mut parser = RedisDissector.parser(&ParserSettings::default());
    let mut out = Vec::new();
    parser.feed(
        Direction::ToServer,
        b"*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n",
        META,
        &mut out,
    );
    parser.feed(Direction::ToClient, b"$100000000\r\n", META, &mut out);
    let block = vec![b'x'; 1 << 20];
    for _ in 0..95 {
        parser.feed(Direction::ToClient, &block, META, &mut out);
    }
    assert!(out.is_empty());
    let rest = vec![b'y'; 100_000_000 - 95 * (1 << 20)];
    parser.feed(Direction::ToClient, &rest, META, &mut out);
    parser.feed(Direction::ToClient, b"\r\n", META, &mut out);
    assert_eq!(types(&out), ["bulk"]);
    let body = out[0]
        .response
        .get("body")
        .and_then(Value::as_str)
        .unwrap_or_default();
    assert_eq!(body.len(), MAX_TEXT);
}

#[test]
fn subscribe_confirmations_and_messages_do_not_shift_pairing() {
    let out = exchanges(&[
        (Direction::ToServer, b"*3\r\n$9\r\nSUBSCRIBE\r\n$1\r\na\r\n$1\r\nb\r\n"),
        (
            Direction::ToClient,
            b"*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n*3\r\n$7\r\nmessage\r\n$1\r\na\r\n$2\r\nhi\r\n",
        ),
        (Direction::ToServer, b"PING\r\n"),
        (Direction::ToClient, b"+PONG\r\n"),
    ]);
    let commands: Vec<_> = out
        .iter()
        .map(|e| e.request.get("command").cloned())
        .collect();
    assert_eq!(
        commands,
        [Some(json!("SUBSCRIBE")), None, Some(json!("PING"))]
    );
    assert_eq!(types(&out), ["array", "array", "simple"]);
}

#[test]
fn response_gap_reports_waiting_requests_and_resynchronises() {
    let mut parser = RedisDissector.parser(&ParserSettings::default());
    let mut out = Vec::new();
    parser.feed(Direction::ToServer, b"GET a\r\nGET b\r\n", META, &mut out);
    parser.feed(Direction::ToClient, b"$5\r\nab", META, &mut out);
    parser.gap(Direction::ToClient, &mut out);
    assert_eq!(out.len(), 2);
    assert!(
        out.iter()
            .all(|e| e.error.as_deref() == Some("response lost in a capture gap"))
    );
    parser.feed(Direction::ToClient, b"xyz\r\n", META, &mut out);
    parser.feed(Direction::ToServer, b"PING\r\n", META, &mut out);
    parser.feed(Direction::ToClient, b"+PONG\r\n", META, &mut out);
    assert_eq!(out.len(), 3);
    assert_eq!(out[2].response.get("body"), Some(&json!("PONG")));
    assert_eq!(out[2].error, None);
}

#[test]
fn request_cut_by_a_gap_keeps_its_place_for_the_reply() {
    let mut parser = RedisDissector.parser(&ParserSettings::default());
    let mut out = Vec::new();
    parser.feed(
        Direction::ToServer,
        b"*2\r\n$3\r\nGET\r\n$5\r\nab",
        META,
        &mut out,
    );
    parser.gap(Direction::ToServer, &mut out);
    parser.feed(Direction::ToServer, b"*1\r\n$4\r\nPING\r\n", META, &mut out);
    parser.feed(Direction::ToClient, b"$-1\r\n+PONG\r\n", META, &mut out);
    let got: Vec<_> = out
        .iter()
        .map(|e| {
            (
                e.request.get("command").cloned(),
                e.response.get("type").cloned(),
                e.error.clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                Some(json!("GET")),
                Some(json!("nil")),
                Some("request partly lost in a capture gap".into())
            ),
            (Some(json!("PING")), Some(json!("simple")), None),
        ]
    );
}

#[test]
fn overlong_inline_line_is_a_protocol_error_not_a_buffer() {
    let mut request = vec![b'a'; MAX_LINE + 10];
    request.extend_from_slice(b"\r\nPING\r\n");
    let out = exchanges(&[(Direction::ToServer, &request)]);
    let errors: Vec<_> = out
        .iter()
        .map(|e| e.error.clone().unwrap_or_default())
        .collect();
    assert_eq!(errors[0], "protocol error: line longer than 64 KiB");
    assert_eq!(out[1].request.get("command"), Some(&json!("PING")));
}

#[test]
fn probe_knows_commands_and_replies() {
    let yes = RedisDissector.probe(b"*1\r\n$4\r\nPING\r\n", Direction::ToServer);
    assert_eq!(yes, Confidence::Yes);
    assert_eq!(
        RedisDissector.probe(b"PING\r\n", Direction::ToServer),
        Confidence::Maybe
    );
    assert_eq!(
        RedisDissector.probe(b"GET / HTTP/1.1\r\n", Direction::ToServer),
        Confidence::Maybe
    );
    assert_eq!(
        RedisDissector.probe(
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03abcdefgh\n",
            Direction::ToServer
        ),
        Confidence::No
    );
    assert_eq!(
        RedisDissector.probe(b"+OK\r\n", Direction::ToClient),
        Confidence::Maybe
    );
}

#[test]
fn hostile_first_lines_are_redis_only_shapes() {
    for line in [
        &b":hello\r\n"[..],
        b"*-20\r\n",
        b"\r\n\r\nPING\r\n",
        b"$-1\r\n",
    ] {
        assert_eq!(
            RedisDissector.probe(line, Direction::ToServer),
            Confidence::Maybe,
            "{line:?}"
        );
    }
    assert_eq!(
        RedisDissector.probe(b"EHLO mail.example.com\r\n", Direction::ToServer),
        Confidence::No
    );
}

#[test]
fn ignored_empty_array_is_reported_without_taking_a_reply() {
    let out = exchanges(&[
        (Direction::ToServer, b"*-1\r\nPING\r\n"),
        (Direction::ToClient, b"+PONG\r\n"),
    ]);
    assert_eq!(out.len(), 2);
    assert_eq!(
        out[0].error.as_deref(),
        Some("command array of length -1: ignored by the server")
    );
    assert_eq!(out[1].request.get("command"), Some(&json!("PING")));
    assert_eq!(out[1].error, None);
}

#[test]
fn reply_cut_off_by_the_end_of_the_flow_is_kept_with_an_error() {
    let out = exchanges(&[
        (Direction::ToServer, b"GET big\r\n"),
        (Direction::ToClient, b"$1000\r\nabc"),
    ]);
    assert_eq!(types(&out), ["bulk"]);
    assert_eq!(
        out[0].error.as_deref(),
        Some("incomplete response before the flow ended (FIN)")
    );
}

#[test]
fn pipelined_commands_and_replies_each_carry_their_own_wire_bytes_however_fragmented() {
    let commands: [&[u8]; 3] = [
        b"*2\r\n$3\r\nGET\r\n$1\r\na\r\n",
        b"PING\r\n",
        b"*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$5\r\nhello\r\n",
    ];
    let replies: [&[u8]; 3] = [
        b"|1\r\n+ttl\r\n:3\r\n$5\r\nvalue\r\n",
        b"+PONG\r\n",
        b"+OK\r\n",
    ];
    // An empty line between commands is skipped by the server and belongs to no command.
    let requests = [commands[0], b"\r\n", commands[1], commands[2]].concat();
    let responses = replies.concat();
    for piece in [1, 2, 5, 13, usize::MAX] {
        let mut parser = RedisDissector.parser(&ParserSettings::default());
        let mut out = Vec::new();
        feed_in_pieces(
            parser.as_mut(),
            Direction::ToServer,
            &requests,
            piece,
            &mut out,
        );
        feed_in_pieces(
            parser.as_mut(),
            Direction::ToClient,
            &responses,
            piece,
            &mut out,
        );
        let sizes = sizes(&out);
        let expected: Vec<_> = commands
            .iter()
            .zip(replies)
            .map(|(c, r)| (Some(json!(c.len())), Some(json!(r.len()))))
            .collect();
        assert_eq!(sizes, expected, "pieces of {piece} bytes");
    }
}

#[test]
fn unfinished_command_and_reply_count_the_bytes_that_arrived() {
    let (get, begun_reply, cut_command): (&[u8], &[u8], &[u8]) =
        (b"GET big\r\n", b"$1000\r\nabc", b"*2\r\n$3\r\nGE");
    let mut parser = RedisDissector.parser(&ParserSettings::default());
    let mut out = Vec::new();
    parser.feed(Direction::ToServer, get, META, &mut out);
    parser.feed(Direction::ToClient, begun_reply, META, &mut out);
    parser.feed(Direction::ToServer, cut_command, META, &mut out);
    parser.close("FIN", &mut out);
    let sizes = sizes(&out);
    assert_eq!(
        sizes,
        [
            (Some(json!(cut_command.len())), None),
            (Some(json!(get.len())), Some(json!(begun_reply.len())))
        ]
    );
}

#[test]
fn arbitrary_bytes_never_panic() {
    let mut seed = 0x9e37_79b9_u32;
    let alphabet = b"*$:+-_#,(!=%~>|\r\n0123456789-?ab ";
    for len in 0..400 {
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                alphabet[(seed % alphabet.len() as u32) as usize]
            })
            .collect();
        let _ = RedisDissector.probe(&bytes, Direction::ToServer);
        let out = exchanges(&[(Direction::ToServer, &bytes), (Direction::ToClient, &bytes)]);
        assert!(out.len() <= bytes.len() * 2 + 2);
    }
}
