//! WebSocket messages over frames built by hand, and through HTTP/1's upgrade: masking,
//! fragments with a control frame between them, permessage-deflate across messages, body caps,
//! gaps and the end of the flow.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use flate2::{Compress, Compression, FlushCompress};
use serde_json::json;

use super::parser::WebSocketParser;
use crate::dissect::test_support::{META, feed_in_pieces};
use crate::dissect::{Direction, Dissector, Exchange, Http1Dissector, Parser, ParserSettings};

const C: Direction = Direction::ToServer;
const S: Direction = Direction::ToClient;

/// A frame: FIN, RSV1, opcode, payload, masked with `key` when given.
fn frame(fin: bool, rsv1: bool, opcode: u8, payload: &[u8], key: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = vec![u8::from(fin) << 7 | u8::from(rsv1) << 6 | opcode];
    let mask_bit = if key.is_some() { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => out.push(mask_bit | n as u8),
        n if n < 65536 => {
            out.push(mask_bit | 126);
            out.extend((n as u16).to_be_bytes());
        }
        n => {
            out.push(mask_bit | 127);
            out.extend((n as u64).to_be_bytes());
        }
    }
    let mut body = payload.to_vec();
    if let Some(key) = key {
        out.extend(key);
        for (i, b) in body.iter_mut().enumerate() {
            *b ^= key[i % 4];
        }
    }
    out.extend(body);
    out
}

const KEY: Option<[u8; 4]> = Some([0x12, 0x34, 0x56, 0x78]);

fn field(e: &Exchange, key: &str) -> serde_json::Value {
    let side = if e.request.is_empty() {
        &e.response
    } else {
        &e.request
    };
    side.get(key).cloned().unwrap_or(serde_json::Value::Null)
}

fn run(parser: &mut dyn Parser, steps: &[(Direction, Vec<u8>)], piece: usize) -> Vec<Exchange> {
    let mut out = Vec::new();
    for (dir, bytes) in steps {
        feed_in_pieces(parser, *dir, bytes, piece, &mut out);
    }
    parser.close("FIN", &mut out);
    out
}

#[test]
fn fragments_join_around_a_ping_and_masks_come_off_however_bytes_are_chunked() {
    let steps = vec![
        (C, frame(false, false, 1, b"hello, ", KEY)),
        (C, frame(true, false, 9, b"still there?", KEY)),
        (C, frame(true, false, 0, b"world", KEY)),
        (S, frame(true, false, 10, b"still there?", None)),
        (S, frame(true, false, 2, &[0xff; 300], None)),
        (
            C,
            frame(
                true,
                false,
                8,
                &[&1000u16.to_be_bytes()[..], b"done"].concat(),
                KEY,
            ),
        ),
    ];
    let whole = run(&mut WebSocketParser::new(1024, false), &steps, usize::MAX);
    let got: Vec<_> = whole
        .iter()
        .map(|e| {
            (
                field(e, "opcode"),
                field(e, "body"),
                field(e, "frames"),
                field(e, "size"),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (json!("ping"), json!("still there?"), json!(1), json!(18)),
            (json!("text"), json!("hello, world"), json!(2), json!(24)),
            (json!("pong"), json!("still there?"), json!(1), json!(14)),
            (
                json!("binary"),
                json!(STANDARD.encode([0xff; 300])),
                json!(1),
                json!(304)
            ),
            (json!("close"), json!(null), json!(1), json!(12)),
        ]
    );
    assert_eq!(field(&whole[4], "closeCode"), json!(1000));
    assert_eq!(field(&whole[4], "closeReason"), json!("done"));
    assert!(whole[0].response.is_empty() && whole[2].request.is_empty());
    for piece in 1..=7 {
        assert_eq!(
            run(&mut WebSocketParser::new(1024, false), &steps, piece),
            whole,
            "pieces of {piece}"
        );
    }
}

#[test]
fn deflated_messages_share_their_window_and_are_cut_at_the_cap() {
    // Two messages from one compressor (context takeover): the second refers back to the first.
    let mut compress = Compress::new(Compression::default(), false);
    let mut deflate = |text: &[u8]| {
        let mut out = Vec::with_capacity(text.len() + 64);
        compress
            .compress_vec(text, &mut out, FlushCompress::Sync)
            .expect("deflate");
        out.truncate(out.len() - 4); // the 00 00 ff ff the sender leaves off
        out
    };
    let first = deflate(b"the quick brown fox jumps over the lazy dog");
    let second = deflate(b"the quick brown fox jumps over the lazy dog again");
    assert!(
        second.len() < first.len(),
        "the second message refers to the first: {} {}",
        second.len(),
        first.len()
    );
    let steps = vec![
        (C, frame(true, true, 1, &first, KEY)),
        (C, frame(false, true, 1, &second[..3], KEY)),
        (C, frame(true, false, 0, &second[3..], KEY)),
    ];
    let out = run(&mut WebSocketParser::new(1024, true), &steps, usize::MAX);
    let bodies: Vec<_> = out.iter().map(|e| field(e, "body")).collect();
    assert_eq!(
        bodies,
        [
            json!("the quick brown fox jumps over the lazy dog"),
            json!("the quick brown fox jumps over the lazy dog again")
        ]
    );
    assert_eq!(field(&out[1], "bodySize"), json!(second.len()));
    let capped = run(&mut WebSocketParser::new(9, true), &steps, 5);
    let bodies: Vec<_> = capped.iter().map(|e| field(e, "body")).collect();
    assert_eq!(
        bodies,
        [json!("the quick"), json!("the quick")],
        "the window still builds past the cap"
    );
    // Without the extension agreed, RSV1 is not taken to mean compressed.
    let plain = run(
        &mut WebSocketParser::new(1024, false),
        &steps[..1],
        usize::MAX,
    );
    assert_eq!(field(&plain[0], "compressed"), json!(null));
}

#[test]
fn corrupt_deflate_data_says_why_and_the_next_message_still_reads() {
    let steps = vec![
        (S, frame(true, true, 1, &[0xff, 0xff, 0xff], None)),
        (S, frame(true, false, 1, b"plain", None)),
    ];
    let out = run(&mut WebSocketParser::new(1024, true), &steps, usize::MAX);
    assert!(
        field(&out[0], "bodyDecodeError")
            .as_str()
            .is_some_and(|e| e.contains("does not inflate"))
    );
    assert_eq!(field(&out[1], "body"), json!("plain"));
}

#[test]
fn a_gap_ends_the_direction_and_the_end_of_the_flow_cuts_what_is_open() {
    let mut parser = WebSocketParser::new(1024, false);
    let mut out = Vec::new();
    parser.feed(C, &frame(false, false, 1, b"part", KEY), META, &mut out);
    parser.gap(C, &mut out);
    parser.feed(C, &frame(true, false, 1, b"ignored", KEY), META, &mut out);
    let big = frame(true, false, 2, &vec![7; 100_000], None);
    parser.feed(S, &big[..5000], META, &mut out);
    parser.close("RST", &mut out);
    let got: Vec<_> = out
        .iter()
        .map(|e| (field(e, "opcode"), e.error.clone()))
        .collect();
    assert_eq!(
        got,
        [
            (
                json!("text"),
                Some("message partly lost in a capture gap".to_string())
            ),
            (
                json!("binary"),
                Some("message cut short when the flow ended (RST)".to_string())
            ),
        ]
    );
    assert_eq!(field(&out[1], "bodySize"), json!(100_000));
}

#[test]
fn a_length_with_its_top_bit_set_ends_the_direction() {
    let mut bad = vec![0x82, 127];
    bad.extend(u64::MAX.to_be_bytes());
    let out = run(
        &mut WebSocketParser::new(1024, false),
        &[(S, bad), (S, frame(true, false, 1, b"x", None))],
        usize::MAX,
    );
    assert!(out.is_empty());
}

#[test]
fn http1_hands_the_connection_over_after_101_with_deflate_as_agreed() {
    let request = b"GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: x\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n";
    let response = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: y\r\nSec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover\r\n\r\n";
    let mut compress = Compress::new(Compression::default(), false);
    let mut hi = Vec::with_capacity(64);
    compress
        .compress_vec(b"hi there", &mut hi, FlushCompress::Sync)
        .expect("deflate");
    hi.truncate(hi.len() - 4);
    let mut parser = Http1Dissector.parser(&ParserSettings::default());
    let steps = vec![
        (C, request.to_vec()),
        // The client's first frame may come before the server's answer: it is held until then.
        (C, frame(true, true, 1, &hi, KEY)),
        (
            S,
            [&response[..], &frame(true, false, 1, b"hello", None)].concat(),
        ),
    ];
    let out = run(parser.as_mut(), &steps, usize::MAX);
    let got: Vec<_> = out.iter().map(|e| (e.protocol, field(e, "body"))).collect();
    assert_eq!(got[0].0, "http");
    assert_eq!(out[0].response.get("status"), Some(&json!(101)));
    assert_eq!(
        got[1..],
        [("ws", json!("hi there")), ("ws", json!("hello"))]
    );
}
