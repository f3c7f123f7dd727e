//! The AMQP parser over frames built by hand: chunking, pairing per channel, content assembly,
//! body caps, no-wait, closes, gaps and the end of the flow.

use serde_json::json;

use super::AmqpDissector;
use crate::dissect::test_support::{META, feed_in_pieces};
use crate::dissect::{Confidence, Direction, Dissector, Exchange, ParserSettings};

const C: Direction = Direction::ToServer;
const S: Direction = Direction::ToClient;

/// A frame of `kind` on `channel` around `payload`.
fn frame(kind: u8, channel: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![kind];
    out.extend(channel.to_be_bytes());
    out.extend((payload.len() as u32).to_be_bytes());
    out.extend(payload);
    out.push(0xCE);
    out
}

/// A short string.
fn short(s: &str) -> Vec<u8> {
    [&[s.len() as u8][..], s.as_bytes()].concat()
}

/// A method frame: class, method id, then `args`.
fn method(channel: u16, class: u16, id: u16, args: &[u8]) -> Vec<u8> {
    let payload = [&class.to_be_bytes()[..], &id.to_be_bytes(), args].concat();
    frame(1, channel, &payload)
}

/// queue.declare of `queue`, with the no-wait bit as asked.
fn queue_declare(channel: u16, queue: &str, no_wait: bool) -> Vec<u8> {
    let args = [
        &[0, 0][..],
        &short(queue),
        &[if no_wait { 0x10 } else { 0 }],
        &[0, 0, 0, 0],
    ]
    .concat();
    method(channel, 50, 10, &args)
}

fn declare_ok(channel: u16, queue: &str) -> Vec<u8> {
    method(
        channel,
        50,
        11,
        &[&short(queue)[..], &[0, 0, 0, 3], &[0, 0, 0, 1]].concat(),
    )
}

/// basic.publish to `exchange` with `key`, a content header (content type `text/plain`) and
/// the body in frames of `piece` bytes.
fn publish(channel: u16, exchange: &str, key: &str, body: &[u8], piece: usize) -> Vec<u8> {
    let mut out = method(
        channel,
        60,
        40,
        &[&[0, 0][..], &short(exchange), &short(key), &[0]].concat(),
    );
    let header = [
        &60u16.to_be_bytes()[..],
        &[0, 0],
        &(body.len() as u64).to_be_bytes(),
        &0x8000u16.to_be_bytes(),
        &short("text/plain"),
    ]
    .concat();
    out.extend(frame(2, channel, &header));
    for part in body.chunks(piece.max(1)) {
        out.extend(frame(3, channel, part));
    }
    out
}

fn channel_close(channel: u16, code: u16, text: &str) -> Vec<u8> {
    method(
        channel,
        20,
        40,
        &[&code.to_be_bytes()[..], &short(text), &[0, 50, 0, 10]].concat(),
    )
}

/// Feeds each (direction, bytes) in `piece`-byte chunks, then closes the flow.
fn run(steps: &[(Direction, Vec<u8>)], piece: usize, max_body: usize) -> Vec<Exchange> {
    let mut parser = AmqpDissector.parser(&ParserSettings { max_body });
    let mut out = Vec::new();
    for (dir, bytes) in steps {
        feed_in_pieces(parser.as_mut(), *dir, bytes, piece, &mut out);
    }
    parser.close("FIN", &mut out);
    out
}

/// Request method, response method, response status, error of each exchange.
fn summary(out: &[Exchange]) -> Vec<(String, String, String, Option<String>)> {
    let f = |m: &shark_store::Message, k: &str| {
        m.get(k)
            .map(|v| v.to_string().trim_matches('"').to_string())
            .unwrap_or_default()
    };
    out.iter()
        .map(|e| {
            (
                f(&e.request, "method"),
                f(&e.response, "method"),
                f(&e.response, "status"),
                e.error.clone(),
            )
        })
        .collect()
}

fn session() -> Vec<(Direction, Vec<u8>)> {
    vec![
        (C, b"AMQP\x00\x00\x09\x01".to_vec()),
        (
            S,
            method(
                0,
                10,
                10,
                &[
                    &[0, 9][..],
                    &[0, 0, 0, 0],
                    &[0, 0, 0, 5],
                    b"PLAIN",
                    &[0, 0, 0, 5],
                    b"en_US",
                ]
                .concat(),
            ),
        ),
        (
            C,
            method(
                0,
                10,
                11,
                &[
                    &[0, 0, 0, 0][..],
                    &short("PLAIN"),
                    &[0, 0, 0, 0],
                    &short("en_US"),
                ]
                .concat(),
            ),
        ),
        (C, queue_declare(1, "jobs", false)),
        (S, declare_ok(1, "jobs")),
        (C, publish(1, "ex", "jobs.new", b"hello world", 4)),
        (
            C,
            method(1, 60, 80, &[&7u64.to_be_bytes()[..], &[1]].concat()),
        ),
    ]
}

#[test]
fn a_session_reads_the_same_however_it_is_chunked_and_counts_every_frame_byte() {
    let steps = session();
    let total: usize = steps.iter().map(|(_, b)| b.len()).sum();
    let whole = run(&steps, usize::MAX, 1024);
    assert_eq!(
        summary(&whole),
        [
            (
                "connection.start".into(),
                "connection.start-ok".into(),
                "0".into(),
                None
            ),
            (
                "queue.declare".into(),
                "queue.declare-ok".into(),
                "0".into(),
                None
            ),
            ("basic.publish".into(), String::new(), String::new(), None),
            ("basic.ack".into(), String::new(), String::new(), None),
        ]
    );
    let publish = &whole[2].request;
    assert_eq!(publish.get("body"), Some(&json!("hello world")));
    assert_eq!(publish.get("bodySize"), Some(&json!(11)));
    assert_eq!(publish.get("routingKey"), Some(&json!("jobs.new")));
    assert_eq!(
        publish.get("properties"),
        Some(&json!({"contentType": "text/plain"}))
    );
    assert_eq!(whole[1].response.get("messageCount"), Some(&json!(3)));
    assert_eq!(whole[3].request.get("multiple"), Some(&json!(true)));
    let counted: u64 = whole
        .iter()
        .flat_map(|e| [&e.request, &e.response])
        .filter_map(|m| m.get("size").and_then(serde_json::Value::as_u64))
        .sum();
    assert_eq!(
        counted as usize,
        total - 8,
        "every byte but the protocol header"
    );
    for piece in 1..=16 {
        assert_eq!(run(&steps, piece, 1024), whole, "pieces of {piece} bytes");
    }
}

#[test]
fn messages_on_two_channels_interleave_and_bodies_are_capped() {
    let one = publish(1, "a", "k1", b"first body", 3);
    let two = publish(2, "b", "k2", b"second", 100);
    // Channel 1's method and header, all of channel 2, then channel 1's four body frames (3, 3,
    // 3 and 1 bytes of payload, each with 8 bytes of framing).
    let (head, body) = one.split_at(one.len() - (3 * 11 + 9));
    let steps = vec![(C, head.to_vec()), (C, two), (C, body.to_vec())];
    let out = run(&steps, usize::MAX, 4);
    let got: Vec<_> = out
        .iter()
        .map(|e| {
            (
                e.request.get("routingKey").cloned(),
                e.request.get("body").cloned(),
                e.request.get("bodySize").cloned(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (Some(json!("k2")), Some(json!("seco")), Some(json!(6))),
            (Some(json!("k1")), Some(json!("firs")), Some(json!(10))),
        ]
    );
    assert!(out.iter().all(|e| e.error.is_none()));
}

#[test]
fn a_close_fails_what_waits_on_its_channel_and_waits_for_its_own_close_ok() {
    let steps = vec![
        (C, queue_declare(1, "missing", false)),
        (C, queue_declare(2, "other", false)),
        (S, channel_close(1, 404, "NOT_FOUND")),
        (C, method(1, 20, 41, &[])),
        (S, declare_ok(2, "other")),
    ];
    let out = run(&steps, usize::MAX, 1024);
    assert_eq!(
        summary(&out),
        [
            (
                "queue.declare".into(),
                "channel.close".into(),
                "404".into(),
                None
            ),
            (
                "channel.close".into(),
                "channel.close-ok".into(),
                "0".into(),
                None
            ),
            (
                "queue.declare".into(),
                "queue.declare-ok".into(),
                "0".into(),
                None
            ),
        ]
    );
    assert_eq!(out[0].response.get("statusText"), Some(&json!("NOT_FOUND")));
    assert_eq!(out[0].request.get("queue"), Some(&json!("missing")));
    assert_eq!(out[1].request.get("replyCode"), Some(&json!(404)));
}

#[test]
fn no_wait_methods_stand_alone_and_unanswered_ones_fail_at_close() {
    let steps = vec![
        (C, queue_declare(1, "fire-and-forget", true)),
        (C, queue_declare(1, "waiting", false)),
        (C, publish(1, "", "q", b"0123456789", 100)[..30].to_vec()),
    ];
    let out = run(&steps, usize::MAX, 1024);
    let s = summary(&out);
    assert_eq!(
        s[0],
        ("queue.declare".into(), String::new(), String::new(), None)
    );
    assert_eq!(s[1].0, "basic.publish");
    assert_eq!(
        s[1].3.as_deref(),
        Some("message cut short when the flow ended (FIN)")
    );
    assert_eq!(s[2].0, "queue.declare");
    assert_eq!(
        s[2].3.as_deref(),
        Some("no response before the flow ended (FIN)")
    );
}

#[test]
fn after_a_gap_framing_resumes_and_what_waited_on_the_lost_side_fails() {
    let mut parser = AmqpDissector.parser(&ParserSettings::default());
    let mut out = Vec::new();
    parser.feed(C, &queue_declare(1, "q", false), META, &mut out);
    parser.gap(S, &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].error.as_deref(), Some("reply lost in a capture gap"));
    // The server's stream resumes mid-frame: junk, then a whole frame.
    let mut resumed = vec![0x55, 0x01, 0x02];
    resumed.extend(method(1, 60, 80, &[&1u64.to_be_bytes()[..], &[0]].concat()));
    parser.feed(S, &resumed, META, &mut out);
    assert_eq!(out.len(), 2);
    assert_eq!(out[1].request.get("method"), Some(&json!("basic.ack")));
}

#[test]
fn a_reply_without_its_method_says_so() {
    let out = run(&[(S, declare_ok(1, "q"))], usize::MAX, 1024);
    assert_eq!(out.len(), 1);
    assert_eq!(
        out[0].response.get("method"),
        Some(&json!("queue.declare-ok"))
    );
    assert!(
        out[0]
            .error
            .as_deref()
            .is_some_and(|e| e.starts_with("reply without a request"))
    );
}

#[test]
fn the_probe_knows_the_protocol_header_and_method_frames() {
    let probe = |data: &[u8]| AmqpDissector.probe(data, C);
    assert_eq!(probe(b"AMQP\x00\x00\x09\x01"), Confidence::Yes);
    assert_eq!(probe(b"AMQ"), Confidence::NeedMore);
    assert_eq!(probe(b"AMQP\x01\x01\x00\x0a"), Confidence::No);
    assert_eq!(probe(b"GET / HTTP/1.1\r\n"), Confidence::No);
    assert_eq!(probe(&queue_declare(1, "q", false)), Confidence::Yes);
    let mut bad_end = queue_declare(1, "q", false);
    *bad_end.last_mut().unwrap_or(&mut 0) = 0;
    assert_eq!(probe(&bad_end), Confidence::No);
    assert_eq!(probe(&method(1, 99, 1, &[])), Confidence::No);
}

#[test]
fn a_reply_still_taking_in_its_message_holds_back_from_the_method_it_answers() {
    use crate::dissect::{ChunkMeta, Unfinished};
    let at = |n: i64| ChunkMeta {
        ts_ns: n,
        packet: n as u64,
    };
    let mut parser = AmqpDissector.parser(&ParserSettings::default());
    let mut out = Vec::new();
    let get = method(1, 60, 70, &[&[0, 0][..], &short("q"), &[0]].concat());
    parser.feed(C, &get, at(10), &mut out);
    assert_eq!(parser.unfinished(), Unfinished::Since(10));
    let get_ok = method(
        1,
        60,
        71,
        &[
            &1u64.to_be_bytes()[..],
            &[0],
            &short(""),
            &short("q"),
            &[0, 0, 0, 0],
        ]
        .concat(),
    );
    parser.feed(S, &get_ok, at(20), &mut out);
    assert!(out.is_empty(), "its content is still coming");
    assert_eq!(parser.unfinished(), Unfinished::Since(10));
}
