//! Kafka's unit tests: topic names read by version, hostile counts, pairing, wire sizes however
//! the bytes are chunked, gaps and probes.

use serde_json::json;

use super::KafkaDissector;
use super::messages::topics;
use super::reader::Reader;
use crate::dissect::test_support::{META, feed_in_pieces, sizes};
use crate::dissect::{ChunkMeta, Confidence, Direction, Dissector, ParserSettings};

fn sized(body: &[u8]) -> Vec<u8> {
    let mut out = (body.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

fn string(s: &str) -> Vec<u8> {
    [
        (s.len() as i16).to_be_bytes().to_vec(),
        s.as_bytes().to_vec(),
    ]
    .concat()
}

/// A request with a v1 header.
fn request(key: i16, version: i16, correlation: i32, body: &[u8]) -> Vec<u8> {
    let header = [
        key.to_be_bytes().to_vec(),
        version.to_be_bytes().to_vec(),
        correlation.to_be_bytes().to_vec(),
        string("cli"),
    ];
    sized(&[header.concat(), body.to_vec()].concat())
}

/// Fetch v4 body with two topics of one partition each.
fn fetch_v4_body() -> Vec<u8> {
    let mut body = vec![
        0xff, 0xff, 0xff, 0xff, 0, 0, 1, 0xf4, 0, 0, 0, 1, 0, 0x10, 0, 0, 0,
    ];
    body.extend_from_slice(&2i32.to_be_bytes());
    for topic in ["orders", "payments"] {
        body.extend_from_slice(&string(topic));
        body.extend_from_slice(&1i32.to_be_bytes());
        body.extend_from_slice(&[0u8; 16]);
    }
    body
}

#[test]
fn fetch_v4_lists_every_topic() {
    assert_eq!(topics(1, 4, &fetch_v4_body()), ["orders", "payments"]);
}

#[test]
fn produce_v0_skips_record_sets_to_reach_the_next_topic() {
    let mut body = vec![0, 1, 0, 0, 0x03, 0xe8];
    body.extend_from_slice(&2i32.to_be_bytes());
    for topic in ["a", "b"] {
        body.extend_from_slice(&string(topic));
        body.extend_from_slice(&1i32.to_be_bytes());
        body.extend_from_slice(&0i32.to_be_bytes());
        body.extend_from_slice(&5i32.to_be_bytes());
        body.extend_from_slice(b"xxxxx");
    }
    assert_eq!(topics(0, 0, &body), ["a", "b"]);
}

#[test]
fn hostile_counts_stop_at_the_bytes_present() {
    let mut body = vec![0, 1, 0, 0, 0x03, 0xe8];
    body.extend_from_slice(&i32::MAX.to_be_bytes());
    assert!(topics(0, 0, &body).is_empty());
    assert_eq!(Reader::new(&[0xff; 8]).uvarint(), None);
}

#[test]
fn large_fetch_response_is_skipped_and_pairing_continues() {
    let mut parser = KafkaDissector.parser(&ParserSettings::default());
    let mut out = Vec::new();
    parser.feed(
        Direction::ToServer,
        &request(1, 4, 7, &fetch_v4_body()),
        META,
        &mut out,
    );
    parser.feed(Direction::ToServer, &request(18, 0, 8, &[]), META, &mut out);
    let size: u32 = 20 << 20;
    let mut response = size.to_be_bytes().to_vec();
    response.extend_from_slice(&7i32.to_be_bytes());
    parser.feed(Direction::ToClient, &response, META, &mut out);
    let block = vec![0u8; 1 << 20];
    // The size counts the 4-byte correlation id already fed.
    for _ in 0..19 {
        parser.feed(Direction::ToClient, &block, META, &mut out);
    }
    parser.feed(Direction::ToClient, &block[..(1 << 20) - 4], META, &mut out);
    parser.feed(
        Direction::ToClient,
        &sized(&[8i32.to_be_bytes().as_slice(), &[0, 35]].concat()),
        META,
        &mut out,
    );
    let got: Vec<_> = out
        .iter()
        .map(|e| {
            (
                e.request.get("correlationId").cloned(),
                e.response.get("status").cloned(),
                e.error.clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (Some(json!(7)), None, None),
            (Some(json!(8)), Some(json!(35)), None)
        ]
    );
    // The 20 MiB frame is measured from its size field, never held.
    assert_eq!(out[0].response.get("size"), Some(&json!(4 + (20 << 20))));
}

#[test]
fn pipelined_frames_each_carry_their_size_on_the_wire_however_fragmented() {
    let requests = [
        request(1, 4, 7, &fetch_v4_body()),
        request(12, 0, 8, &[]),
        request(18, 0, 9, &[]),
    ];
    let responses = [
        sized(&[7i32.to_be_bytes().as_slice(), &[0; 40]].concat()),
        sized(&[8i32.to_be_bytes().as_slice(), &[0, 0]].concat()),
        sized(&[9i32.to_be_bytes().as_slice(), &[0, 0, 0, 0, 0, 0]].concat()),
    ];
    let expected: Vec<_> = requests
        .iter()
        .zip(&responses)
        .map(|(q, r)| (Some(json!(q.len())), Some(json!(r.len()))))
        .collect();
    for piece in [1, 3, 10, usize::MAX] {
        let mut parser = KafkaDissector.parser(&ParserSettings::default());
        let mut out = Vec::new();
        let (requests, responses) = (requests.concat(), responses.concat());
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
        assert_eq!(sizes, expected, "pieces of {piece} bytes");
    }
}

#[test]
fn a_response_ends_with_its_last_byte_and_one_cut_off_counts_what_passed() {
    let packet = |n: u64| ChunkMeta {
        ts_ns: n as i64,
        packet: n,
    };
    let mut parser = KafkaDissector.parser(&ParserSettings::default());
    let mut out = Vec::new();
    let requests = [request(12, 0, 1, &[]), request(12, 0, 2, &[])].concat();
    parser.feed(Direction::ToServer, &requests, packet(1), &mut out);
    let whole = sized(&[1i32.to_be_bytes().as_slice(), &[0; 3000]].concat());
    let cut = sized(&[2i32.to_be_bytes().as_slice(), &[0; 3000]].concat());
    let (head, tail) = whole.split_at(1500);
    parser.feed(Direction::ToClient, head, packet(2), &mut out);
    assert!(out.is_empty(), "the response is still passing");
    parser.feed(Direction::ToClient, tail, packet(3), &mut out);
    let arrived = cut.get(..2000).unwrap_or_default();
    parser.feed(Direction::ToClient, arrived, packet(4), &mut out);
    parser.close("FIN", &mut out);
    let got: Vec<_> = out
        .iter()
        .map(|e| (e.response.get("size").cloned(), e.end.map(|m| m.packet)))
        .collect();
    assert_eq!(
        got,
        [
            (Some(json!(whole.len())), Some(3)),
            (Some(json!(arrived.len())), Some(4))
        ]
    );
}

#[test]
fn a_later_answer_reports_earlier_requests_unanswered() {
    let mut parser = KafkaDissector.parser(&ParserSettings::default());
    let mut out = Vec::new();
    parser.feed(
        Direction::ToServer,
        &[request(12, 0, 1, &[]), request(12, 0, 2, &[])].concat(),
        META,
        &mut out,
    );
    parser.feed(
        Direction::ToClient,
        &sized(&[2i32.to_be_bytes().as_slice(), &[0, 0]].concat()),
        META,
        &mut out,
    );
    let errors: Vec<_> = out.iter().map(|e| e.error.clone()).collect();
    assert_eq!(
        errors,
        [
            Some("no response (a later request was answered)".into()),
            None
        ]
    );
}

#[test]
fn response_gap_resynchronises_on_a_waiting_correlation_id() {
    let mut parser = KafkaDissector.parser(&ParserSettings::default());
    let mut out = Vec::new();
    parser.feed(
        Direction::ToServer,
        &[request(12, 0, 1, &[]), request(12, 0, 2, &[])].concat(),
        META,
        &mut out,
    );
    parser.feed(Direction::ToClient, &[0, 0, 0, 6, 0, 0], META, &mut out);
    parser.gap(Direction::ToClient, &mut out);
    let second = sized(&[2i32.to_be_bytes().as_slice(), &[0, 27]].concat());
    parser.feed(
        Direction::ToClient,
        &[b"junk".as_slice(), &second].concat(),
        META,
        &mut out,
    );
    let last = out.last().map(|e| {
        (
            e.request.get("correlationId").cloned(),
            e.response.get("status").cloned(),
        )
    });
    assert_eq!(last, Some((Some(json!(2)), Some(json!(27)))));
}

#[test]
fn probe_accepts_request_headers_only() {
    assert_eq!(
        KafkaDissector.probe(&request(3, 1, 9, &[0, 0, 0, 0]), Direction::ToServer),
        Confidence::Yes
    );
    assert_eq!(
        KafkaDissector.probe(b"GET / HTTP/1.1\r\nHost: x\r\n", Direction::ToServer),
        Confidence::No
    );
    assert_eq!(
        KafkaDissector.probe(&request(99, 1, 9, &[]), Direction::ToServer),
        Confidence::No
    );
    assert_eq!(
        KafkaDissector.probe(&[0, 0, 0], Direction::ToServer),
        Confidence::NeedMore
    );
}

#[test]
fn arbitrary_bytes_never_panic() {
    let mut seed = 0xdead_beef_u32;
    for len in 0..300 {
        let bytes: Vec<u8> = (0..len)
            .map(|i| {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                if i % 3 == 0 { 0 } else { (seed >> 24) as u8 }
            })
            .collect();
        let _ = KafkaDissector.probe(&bytes, Direction::ToServer);
        for version in 0..14 {
            let _ = topics(0, version, &bytes);
            let _ = topics(1, version, &bytes);
        }
        let mut parser = KafkaDissector.parser(&ParserSettings::default());
        let mut out = Vec::new();
        parser.feed(Direction::ToServer, &bytes, META, &mut out);
        parser.feed(Direction::ToClient, &bytes, META, &mut out);
        parser.close("end", &mut out);
    }
}
