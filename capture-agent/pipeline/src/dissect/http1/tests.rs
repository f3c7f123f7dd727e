//! The HTTP/1 parser fed as a capture feeds it: pairing, framing, bodies, upgrades, malformed
//! input and the bounds on what a connection may hold.

use std::io::Write;

use super::super::DEFAULT_MAX_BODY;
use super::super::test_support::feed_in_pieces;
use super::pending::MAX_PENDING;
use super::*;

/// Bytes per packet where a test feeds a stream as TCP segments.
const MSS: usize = 1448;

fn meta(packet: u64) -> ChunkMeta {
    ChunkMeta {
        ts_ns: packet as i64 * 1000,
        packet,
    }
}

/// Feeds `(direction, bytes)` in order, each as its own packet, then closes.
fn run(steps: &[(Direction, &[u8])]) -> Vec<Exchange> {
    run_with(&ParserSettings::default(), steps)
}

/// [`run`] with a parser made with `settings`.
fn run_with(settings: &ParserSettings, steps: &[(Direction, &[u8])]) -> Vec<Exchange> {
    let mut parser = Http1Dissector.parser(settings);
    let mut out = Vec::new();
    for (i, (dir, bytes)) in steps.iter().enumerate() {
        parser.feed(*dir, bytes, meta(i as u64 + 1), &mut out);
    }
    parser.close("closed", &mut out);
    out
}

fn line(e: &Exchange) -> String {
    format!(
        "{} {} {}",
        e.request
            .get("method")
            .and_then(Value::as_str)
            .unwrap_or("-"),
        e.request.get("path").and_then(Value::as_str).unwrap_or("-"),
        e.response
            .get("status")
            .map(Value::to_string)
            .unwrap_or_else(|| "-".into())
    )
}

use Direction::{ToClient as S, ToServer as C};

#[test]
fn pipelined_requests_pair_in_order_across_segment_boundaries() {
    let out = run(&[
        (
            C,
            b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b?q=1&r HTTP/1.1\r\nHo",
        ),
        (C, b"st: x\r\n\r\n"),
        (
            S,
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 404 Not Found\r\nContent-Len",
        ),
        (S, b"gth: 0\r\n\r\n"),
    ]);
    assert_eq!(
        out.iter().map(line).collect::<Vec<_>>(),
        ["GET /a 200", "GET /b 404"]
    );
    assert_eq!(out[0].response["body"], "ok");
    assert_eq!(
        out[1].request["query"],
        serde_json::json!({"q": "1", "r": ""})
    );
    assert_eq!(out[1].request["url"], "http://x/b?q=1&r");
    // The second request started in packet 1, its response in packet 3 and ended in packet 4.
    assert_eq!(
        (out[1].start.map(|m| m.packet), out[1].end.map(|m| m.packet)),
        (Some(1), Some(4))
    );
    assert!(out.iter().all(|e| e.error.is_none()));
}

#[test]
fn chunked_bodies_are_dechunked_with_trailers() {
    let request: &[u8] = b"POST /up HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n";
    let response: &[u8] = b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwxyz\r\n0\r\nX-Trailer: 1\r\n\r\n";
    let out = run(&[(C, request), (S, response)]);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].request["body"], "abcde");
    assert_eq!(out[0].request["bodySize"], 5);
    assert_eq!(out[0].response["body"], "wxyz");
    // `size` is the whole message on the wire: head, chunk framing, body and trailers.
    assert_eq!(out[0].request["size"], request.len());
    assert_eq!(out[0].response["size"], response.len());
}

#[test]
fn size_is_the_whole_message_and_body_size_the_body() {
    let request: &[u8] = b"POST /orders HTTP/1.1\r\nHost: shop\r\nContent-Length: 5\r\n\r\nhello";
    let response: &[u8] = b"HTTP/1.1 204 No Content\r\n\r\n";
    let out = run(&[(C, request), (S, response)]);
    assert_eq!(out[0].request["size"], request.len());
    assert_eq!(out[0].request["bodySize"], 5);
    assert_eq!(out[0].response["size"], response.len());
    assert_eq!(out[0].response["bodySize"], 0);
}

#[test]
fn head_204_and_304_have_no_body_even_with_content_length() {
    let out = run(&[
        (C, b"HEAD /h HTTP/1.1\r\n\r\nGET /n HTTP/1.1\r\n\r\nGET /c HTTP/1.1\r\n\r\nGET /last HTTP/1.1\r\n\r\n"),
        (S, b"HTTP/1.1 200 OK\r\nContent-Length: 999\r\n\r\n"),
        (S, b"HTTP/1.1 204 No Content\r\n\r\n"),
        (S, b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n"),
        (S, b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nz"),
    ]);
    assert_eq!(
        out.iter().map(line).collect::<Vec<_>>(),
        ["HEAD /h 200", "GET /n 204", "GET /c 304", "GET /last 200"]
    );
}

#[test]
fn interim_100_continue_is_not_an_exchange() {
    let out = run(&[
        (
            C,
            b"PUT /f HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n",
        ),
        (S, b"HTTP/1.1 100 Continue\r\n\r\n"),
        (C, b"data"),
        (S, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
    ]);
    assert_eq!(out.iter().map(line).collect::<Vec<_>>(), ["PUT /f 200"]);
    assert_eq!(out[0].request["body"], "data");
}

#[test]
fn gzip_bodies_are_decoded_for_display_and_sizes_stay_on_the_wire() {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(b"{\"hello\":\"world\"}").expect("compress");
    let body = gz.finish().expect("compress");
    let mut response = format!(
        "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    response.extend_from_slice(&body);
    let out = run(&[(C, b"GET / HTTP/1.1\r\n\r\n"), (S, &response)]);
    assert_eq!(out[0].response["body"], "{\"hello\":\"world\"}");
    assert_eq!(out[0].response["bodySize"], body.len());
}

#[test]
fn bodies_are_capped_by_the_setting_but_counted_whole() {
    let big = vec![b'a'; DEFAULT_MAX_BODY + 1000];
    let mut response =
        format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", big.len()).into_bytes();
    response.extend_from_slice(&big);
    let request: &[u8] = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n";
    let chunk = vec![b'r'; 0x800];
    for (cap, kept, request_kept) in [
        (1 << 10, 1 << 10, 1 << 10),
        (DEFAULT_MAX_BODY, DEFAULT_MAX_BODY, 0x800),
        (1 << 20, big.len(), 0x800),
    ] {
        let settings = ParserSettings::with_max_body(cap as u64).expect("below the limit");
        let out = run_with(
            &settings,
            &[
                (C, request),
                (C, &chunk),
                (C, b"\r\n0\r\n\r\n"),
                (S, &response),
            ],
        );
        assert_eq!(out[0].response["body"].as_str().map(str::len), Some(kept));
        assert_eq!(out[0].response["bodySize"], big.len());
        assert_eq!(
            out[0].request["body"].as_str().map(str::len),
            Some(request_kept)
        );
        assert_eq!(out[0].request["bodySize"], 0x800);
    }
}

#[test]
fn a_body_without_length_runs_until_the_connection_closes() {
    let out = run(&[
        (C, b"GET / HTTP/1.0\r\n\r\n"),
        (S, b"HTTP/1.0 200 OK\r\n\r\npart one, "),
        (S, b"part two"),
    ]);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].version, "1.0");
    assert_eq!(out[0].response["body"], "part one, part two");
    assert!(out[0].error.is_none());
}

#[test]
fn unanswered_requests_and_orphan_responses_carry_an_error() {
    let out = run(&[
        (S, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
        (C, b"GET /lost HTTP/1.1\r\n\r\n"),
    ]);
    assert_eq!(
        out.iter().map(line).collect::<Vec<_>>(),
        ["- - 200", "GET /lost -"]
    );
    assert!(
        out[0]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("without a request"))
    );
    assert_eq!(out[1].error.as_deref(), Some("no response (closed)"));
}

#[test]
fn a_response_to_a_request_cut_off_mid_headers_still_names_the_request() {
    let out = run(&[
        (
            C,
            b"POST /orders?id=7 HTTP/1.1\r\nhost: shop\r\nx-long: aaaa",
        ),
        (S, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
    ]);
    assert_eq!(
        out.iter().map(line).collect::<Vec<_>>(),
        ["POST /orders 200"]
    );
    assert_eq!(out[0].request["query"], serde_json::json!({"id": "7"}));
    assert_eq!(out[0].start.map(|m| m.packet), Some(1));
    assert_eq!(
        out[0].error.as_deref(),
        Some("request headers cut off (bytes missing from the capture)")
    );
}

#[test]
fn after_a_gap_the_parser_resumes_at_the_next_message() {
    let mut parser = Http1Dissector.parser(&ParserSettings::default());
    let mut out = Vec::new();
    parser.feed(
        C,
        b"POST /a HTTP/1.1\r\nContent-Length: 100\r\n\r\nfirst part",
        meta(1),
        &mut out,
    );
    parser.gap(C, &mut out);
    parser.feed(
        C,
        b"tail of the body\r\nGET /b HTTP/1.1\r\n\r\n",
        meta(3),
        &mut out,
    );
    parser.feed(
        S,
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        meta(4),
        &mut out,
    );
    assert_eq!(
        out.iter().map(line).collect::<Vec<_>>(),
        ["POST /a 200", "GET /b 200"]
    );
    assert_eq!(out[0].error.as_deref(), Some("bytes lost in capture"));
    assert!(out[1].error.is_none());
}

#[test]
fn garbage_is_reported_once_and_does_not_stop_parsing() {
    let out = run(&[
        (
            C,
            b"GET /x HTTP/1.1\r\nBad Header\r\n\r\nGET /ok HTTP/1.1\r\n\r\n",
        ),
        (S, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
    ]);
    let errors: Vec<_> = out.iter().filter_map(|e| e.error.as_deref()).collect();
    assert_eq!(errors, ["malformed HTTP/1 request: invalid header name"]);
    assert_eq!(
        out.iter()
            .filter(|e| e.error.is_none())
            .map(line)
            .collect::<Vec<_>>(),
        ["GET /ok 200"]
    );
}

#[test]
fn upgrade_to_h2c_ends_http1_parsing() {
    let out = run(&[
        (C, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n"),
        (C, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
        (S, b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"),
    ]);
    // The 101 exchange; the preface went to the HTTP/2 parser, not reported as bad HTTP/1.
    assert_eq!(out.first().map(line).as_deref(), Some("GET / 101"));
    assert!(out.iter().all(|e| {
        e.error
            .as_deref()
            .is_none_or(|m| !m.contains("malformed HTTP/1"))
    }));
}

#[test]
fn the_h2c_upgrade_request_is_http2_stream_1s_request() {
    // HEADERS on stream 1, END_STREAM | END_HEADERS: `:status 200` (HPACK static index 8).
    let answer = [0, 0, 1, 1, 5, 0, 0, 0, 1, 0x88];
    let out = run(&[
        (C, b"GET /up?x=1 HTTP/1.1\r\nHost: web\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n"),
        (S, b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"),
        (C, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
        (S, &answer),
    ]);
    let lines: Vec<String> = out
        .iter()
        .map(|e| format!("{} {}", e.version, line(e)))
        .collect();
    assert_eq!(lines, ["1.1 GET /up 101", "2 GET /up 200"]);
    let stream_1 = &out[1];
    assert_eq!(stream_1.request["host"], "web");
    assert_eq!(stream_1.request["query"]["x"], "1");
    assert_eq!(stream_1.request["headers"]["Upgrade"], "h2c");
    assert_eq!(
        (stream_1.start, stream_1.error.as_deref()),
        (Some(meta(1)), None)
    );
}

#[test]
fn a_binary_body_is_kept_as_base64_not_replaced_by_text() {
    let out = run(&[
        (C, b"GET /i HTTP/1.1\r\n\r\n"),
        (
            S,
            b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n\x00\x01\xfe\xff",
        ),
    ]);
    assert_eq!(out[0].response["body"], "AAH+/w==");
    assert_eq!(out[0].response["bodyEncoding"], "base64");
    assert_eq!(out[0].response["bodySize"], 4);
}

/// What the parser's waiting requests hold in memory, counted from the requests themselves.
fn held_by_waiting_requests(parser: &Http1Parser) -> usize {
    parser
        .pending
        .iter()
        .map(|request| request.header_bytes + request.body.capacity())
        .sum()
}

/// `count` responses, numbered from 0: status 200, 201 or 202 in turn, the number as body.
fn numbered_responses(count: usize) -> Vec<u8> {
    let mut bytes = Vec::new();
    for i in 0..count {
        let body = i.to_string();
        let status = 200 + i % 3;
        let head = format!(
            "HTTP/1.1 {status} OK\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        bytes.extend_from_slice(head.as_bytes());
        bytes.extend_from_slice(body.as_bytes());
    }
    bytes
}

#[test]
fn pipelined_large_posts_stay_within_the_byte_budget_and_still_pair_with_their_responses() {
    const POSTS: usize = 100;
    const BODY: usize = 60_000;
    let settings = ParserSettings::default();
    let budget = pending::pending_budget(settings.max_body);
    assert_eq!(budget, 1 << 20, "4 bodies of 64 KiB, or 1 MiB at least");
    let mut parser = Http1Parser::new(settings);
    let mut out = Vec::new();
    let body_of = |i: usize| vec![b'a' + (i % 26) as u8; BODY];
    for i in 0..POSTS {
        let mut post =
            format!("POST /upload/{i} HTTP/1.1\r\nHost: files\r\nContent-Length: {BODY}\r\n\r\n")
                .into_bytes();
        post.extend_from_slice(&body_of(i));
        for (n, packet) in post.chunks(MSS).enumerate() {
            parser.feed(C, packet, meta((i * 100 + n) as u64), &mut out);
            let held = held_by_waiting_requests(&parser);
            assert!(held <= budget, "{held} bytes held after POST {i}");
            assert_eq!(held, parser.pending.held_bytes());
        }
    }
    assert!(out.is_empty(), "no request is given up: {out:?}");

    feed_in_pieces(&mut parser, S, &numbered_responses(POSTS), MSS, &mut out);
    assert_eq!(out.len(), POSTS);
    let truncated = |e: &Exchange| e.request.get("bodyTruncated") == Some(&Value::Bool(true));
    let dropped = out.iter().position(|e| !truncated(e)).unwrap_or(POSTS);
    assert_eq!(
        POSTS - dropped,
        budget / BODY,
        "the newest bodies are kept, as many as the budget holds"
    );
    for (i, e) in out.iter().enumerate() {
        assert_eq!(line(e), format!("POST /upload/{i} {}", 200 + i % 3));
        assert_eq!(e.response["body"], i.to_string());
        assert_eq!(
            e.request["bodySize"], BODY,
            "the wire size of request {i} stays whole"
        );
        assert_eq!(e.error, None);
        if i < dropped {
            assert!(
                e.request.get("body").is_none(),
                "request {i} has no body left"
            );
            assert_eq!(e.request["headers"]["Host"], "files");
        } else {
            assert!(!truncated(e), "a newer body is kept whole");
            let whole = String::from_utf8(body_of(i)).unwrap_or_default();
            assert_eq!(e.request["body"], whole);
        }
    }
}

#[test]
fn requests_whose_headers_alone_pass_the_budget_are_given_up_oldest_first_and_answers_stay_paired()
{
    const REQUESTS: usize = 40;
    let settings = ParserSettings::default();
    let budget = pending::pending_budget(settings.max_body);
    let cookie = "c".repeat(50_000);
    let mut parser = Http1Parser::new(settings);
    let mut out = Vec::new();
    for i in 0..REQUESTS {
        let get = format!("GET /{i} HTTP/1.1\r\nCookie: {cookie}\r\n\r\n");
        feed_in_pieces(&mut parser, C, get.as_bytes(), MSS, &mut out);
        assert!(held_by_waiting_requests(&parser) <= budget);
    }
    let given_up = out.len();
    assert!(
        given_up > 0 && given_up < REQUESTS - 10,
        "{given_up} given up"
    );
    for (i, e) in out.iter().enumerate() {
        assert_eq!(line(e), format!("GET /{i} -"));
        assert_eq!(e.error.as_deref(), Some(GIVEN_UP));
    }
    out.clear();
    feed_in_pieces(&mut parser, S, &numbered_responses(REQUESTS), MSS, &mut out);
    assert_eq!(out.len(), REQUESTS);
    for (i, e) in out.iter().enumerate() {
        assert_eq!(e.response["body"], i.to_string());
        if i < given_up {
            assert_eq!(line(e), format!("- - {}", 200 + i % 3));
            assert_eq!(e.error.as_deref(), Some(ANSWERS_GIVEN_UP));
        } else {
            assert_eq!(line(e), format!("GET /{i} {}", 200 + i % 3));
            assert_eq!(e.error, None);
        }
    }
}

#[test]
fn past_the_waiting_request_cap_the_oldest_is_reported_unanswered_and_later_answers_stay_paired() {
    let mut parser = Http1Dissector.parser(&ParserSettings::default());
    let mut out = Vec::new();
    for i in 0..MAX_PENDING + 6 {
        let get = format!("GET /{i} HTTP/1.1\r\n\r\n");
        parser.feed(C, get.as_bytes(), meta(i as u64), &mut out);
    }
    assert_eq!(
        out.iter().map(line).collect::<Vec<_>>(),
        [
            "GET /0 -", "GET /1 -", "GET /2 -", "GET /3 -", "GET /4 -", "GET /5 -"
        ]
    );
    assert!(out.iter().all(|e| e.error.as_deref() == Some(GIVEN_UP)));
    out.clear();
    // The server answers all but the last request.
    let answers = numbered_responses(MAX_PENDING + 5);
    feed_in_pieces(parser.as_mut(), S, &answers, MSS, &mut out);
    parser.close("idle timeout", &mut out);
    assert_eq!(out.len(), MAX_PENDING + 6);
    for (i, e) in out.iter().enumerate().take(MAX_PENDING + 5) {
        assert_eq!(e.response["body"], i.to_string());
        let path = if i < 6 {
            "-".to_string()
        } else {
            format!("/{i}")
        };
        let method = if i < 6 { "-" } else { "GET" };
        assert_eq!(line(e), format!("{method} {path} {}", 200 + i % 3));
    }
    assert_eq!(
        out.last().map(|e| (line(e), e.error.clone())),
        Some((
            format!("GET /{} -", MAX_PENDING + 5),
            Some("no response (idle timeout)".to_string())
        ))
    );
}

#[test]
fn header_values_keep_utf8_text_and_replace_invalid_bytes() {
    let out = run(&[
        (
            C,
            b"GET /caf\xc3\xa9 HTTP/1.1\r\nX-Name: caf\xc3\xa9\r\nX-Tag:  v1 \r\n\r\n",
        ),
        (
            S,
            b"HTTP/1.1 200 OK\r\nX-Bad: a\xffb\r\nContent-Length: 0\r\n\r\n",
        ),
    ]);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].request["headers"]["X-Name"], "caf\u{e9}");
    assert_eq!(out[0].request["headers"]["X-Tag"], "v1");
    assert_eq!(out[0].response["headers"]["X-Bad"], "a\u{fffd}b");
}

#[test]
fn repeated_headers_join_in_wire_order_and_names_keep_their_case() {
    let out = run(&[
        (
            C,
            b"GET / HTTP/1.1\r\nX-B: 1\r\nHost: h\r\nx-b: lower\r\nX-B: 2\r\nA: \r\nX-B:  3 \r\nA: z\r\n\r\n",
        ),
        (
            S,
            b"HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nContent-Length: 0\r\nSet-Cookie: b=\xff\r\n\r\n",
        ),
    ]);
    assert_eq!(out.len(), 1);
    let headers = serde_json::to_string(&out[0].request["headers"]).unwrap_or_default();
    assert_eq!(
        headers,
        r#"{"A":", z","Host":"h","X-B":"1, 2, 3","x-b":"lower"}"#
    );
    assert_eq!(out[0].response["headers"]["Set-Cookie"], "a=1, b=\u{fffd}");
}

#[test]
fn probes_tell_http1_from_other_protocols() {
    let d = Http1Dissector;
    assert_eq!(d.probe(b"GET / HTTP/1.1\r\n", C), Confidence::Yes);
    assert_eq!(d.probe(b"GE", C), Confidence::NeedMore);
    assert_eq!(d.probe(b"PRI * HTTP/2.0\r\n", C), Confidence::No);
    assert_eq!(d.probe(b"*3\r\n$3\r\nSET\r\n", C), Confidence::No);
    assert_eq!(d.probe(b"HTTP/1.1 200 OK\r\n", S), Confidence::Yes);
    assert_eq!(d.probe(b"\x16\x03\x01", S), Confidence::No);
}

#[test]
fn a_connection_between_messages_holds_no_buffer_and_one_mid_message_only_its_bytes() {
    let mut parser = Http1Parser::new(ParserSettings::default());
    let mut out = Vec::new();
    // A whole request, then a response with a large body in one piece: the buffers come and go
    // (the thread keeps the large one as its spare).
    parser.feed(C, b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n", meta(1), &mut out);
    assert_eq!(parser.requests.buf.capacity(), 0, "request consumed");
    let body = vec![b'x'; 40_000];
    let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
    let mut response = head.into_bytes();
    response.extend_from_slice(&body);
    parser.feed(S, &response, meta(2), &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(parser.responses.buf.capacity(), 0, "response consumed");
    // Part of a header block waits in a buffer of about its size, not the thread's spare.
    parser.feed(C, b"GET /b HTTP/1.1\r\nHo", meta(40), &mut out);
    let held = parser.requests.buf.capacity();
    assert!((19..=4096 + 2 * 19).contains(&held), "{held} bytes held");
    parser.feed(C, b"st: x\r\n\r\n", meta(41), &mut out);
    assert_eq!(parser.requests.buf.capacity(), 0, "second request consumed");
}
