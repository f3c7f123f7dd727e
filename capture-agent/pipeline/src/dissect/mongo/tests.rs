//! The MongoDB parser over messages built by hand: OP_MSG with document sequences and a
//! checksum, OP_QUERY/OP_REPLY, OP_COMPRESSED, pairing by `responseTo`, errors, `moreToCome`,
//! chunking, and requests left unanswered.

use std::io::Write;

use serde_json::{Value, json};

use super::MongoDissector;
use super::test_bson::{doc, string};
use crate::dissect::test_support::{META, feed_in_pieces, sizes};
use crate::dissect::{
    ChunkMeta, Confidence, Direction, Dissector, Exchange, Parser, ParserSettings, Unfinished,
};

const C: Direction = Direction::ToServer;
const S: Direction = Direction::ToClient;

/// `value` (an object or array) as BSON: integers that fit as int32, others as int64, floats
/// as doubles. (An object's keys come sorted: a command's name goes first through [`cmd`].)
fn bson(value: &Value) -> Vec<u8> {
    match value {
        Value::Object(map) => encode(map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
        Value::Array(list) => encode(
            list.iter()
                .enumerate()
                .map(|(i, v)| (i.to_string(), v.clone()))
                .collect(),
        ),
        _ => panic!("a document"),
    }
}

/// A command document: `name: value` first, then the elements of `rest`.
fn cmd(name: &str, value: Value, rest: Value) -> Vec<u8> {
    let mut elements = vec![(name.to_string(), value)];
    if let Value::Object(map) = rest {
        elements.extend(map);
    }
    encode(elements)
}

/// A document of `elements`, in order.
fn encode(elements: Vec<(String, Value)>) -> Vec<u8> {
    let typed: Vec<(u8, &str, Vec<u8>)> = elements
        .iter()
        .map(|(name, value)| {
            let (kind, bytes) = match value {
                Value::Null => (0x0A, Vec::new()),
                Value::Bool(b) => (0x08, vec![u8::from(*b)]),
                Value::Number(n) => match (n.as_i64(), n.as_f64()) {
                    (Some(i), _) if i32::try_from(i).is_ok() => {
                        (0x10, (i as i32).to_le_bytes().to_vec())
                    }
                    (Some(i), _) => (0x12, i.to_le_bytes().to_vec()),
                    (_, Some(f)) => (0x01, f.to_le_bytes().to_vec()),
                    _ => unreachable!(),
                },
                Value::String(s) => (0x02, string(s)),
                Value::Array(_) => (0x04, bson(value)),
                Value::Object(_) => (0x03, bson(value)),
            };
            (kind, name.as_str(), bytes)
        })
        .collect();
    doc(&typed)
}

/// A message: header (length, id, responseTo, opcode) and `body`.
fn message(id: i32, response_to: i32, opcode: i32, body: &[u8]) -> Vec<u8> {
    let mut out = ((body.len() + 16) as i32).to_le_bytes().to_vec();
    out.extend(id.to_le_bytes());
    out.extend(response_to.to_le_bytes());
    out.extend(opcode.to_le_bytes());
    out.extend(body);
    out
}

/// An OP_MSG with `flags`, a body section `doc`, then document sequences.
fn op_msg(
    id: i32,
    response_to: i32,
    flags: u32,
    doc: Vec<u8>,
    sequences: &[(&str, &[Value])],
) -> Vec<u8> {
    let mut body = flags.to_le_bytes().to_vec();
    body.push(0);
    body.extend(doc);
    for (name, docs) in sequences {
        let mut section = Vec::new();
        section.extend(name.as_bytes());
        section.push(0);
        for d in *docs {
            section.extend(bson(d));
        }
        body.push(1);
        body.extend(((section.len() + 4) as i32).to_le_bytes());
        body.extend(section);
    }
    if flags & 1 != 0 {
        body.extend([0xde, 0xad, 0xbe, 0xef]);
    }
    message(id, response_to, 2013, &body)
}

/// An OP_QUERY of `doc` on `namespace`.
fn op_query(id: i32, namespace: &str, doc: Vec<u8>) -> Vec<u8> {
    let mut body = 0i32.to_le_bytes().to_vec();
    body.extend(namespace.as_bytes());
    body.push(0);
    body.extend(0i32.to_le_bytes());
    body.extend((-1i32).to_le_bytes());
    body.extend(doc);
    message(id, 0, 2004, &body)
}

/// An OP_REPLY of `docs`.
fn op_reply(id: i32, response_to: i32, docs: &[Value]) -> Vec<u8> {
    let mut body = 8i32.to_le_bytes().to_vec();
    body.extend(0i64.to_le_bytes());
    body.extend(0i32.to_le_bytes());
    body.extend((docs.len() as i32).to_le_bytes());
    for d in docs {
        body.extend(bson(d));
    }
    message(id, response_to, 1, &body)
}

fn parser() -> Box<dyn Parser> {
    MongoDissector.parser(&ParserSettings::default())
}

/// Feeds each (direction, bytes) in pieces of `piece` bytes, then closes the flow.
fn run(messages: &[(Direction, Vec<u8>)], piece: usize) -> Vec<Exchange> {
    let mut parser = parser();
    let mut out = Vec::new();
    for (dir, bytes) in messages {
        feed_in_pieces(parser.as_mut(), *dir, bytes, piece, &mut out);
    }
    parser.close("FIN", &mut out);
    out
}

/// `side`'s fields `keys` of each exchange.
fn fields(out: &[Exchange], side: &str, keys: &[&str]) -> Vec<Vec<Value>> {
    out.iter()
        .map(|e| {
            let m = if side == "request" {
                &e.request
            } else {
                &e.response
            };
            keys.iter()
                .map(|k| m.get(*k).cloned().unwrap_or(Value::Null))
                .collect()
        })
        .collect()
}

fn body(m: &shark_store::Message) -> Value {
    serde_json::from_str(m.get("body").and_then(Value::as_str).expect("a body")).expect("JSON")
}

/// An `OP_COMPRESSED` request `id`: an `OP_MSG` of `size` bytes uncompressed, compressed with
/// `compressor` (1 snappy, 2 zlib, 3 zstd) into `data`.
fn op_compressed(id: i32, compressor: u8, size: usize, data: &[u8]) -> Vec<u8> {
    let mut body = 2013i32.to_le_bytes().to_vec();
    body.extend((size as i32).to_le_bytes());
    body.push(compressor);
    body.extend(data);
    message(id, 0, 2012, &body)
}

/// `data` compressed with zlib.
fn zlib(data: &[u8]) -> Vec<u8> {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(data).expect("compress");
    z.finish().expect("compress")
}

#[test]
fn a_find_and_its_cursor_are_one_exchange_however_chunked() {
    let find = op_msg(
        7,
        0,
        0,
        cmd(
            "find",
            json!("users"),
            json!({"filter": {"age": {"$gt": 30}}, "$db": "shop"}),
        ),
        &[],
    );
    let batch = json!([{"name": "ada"}, {"name": "bob"}]);
    let reply = op_msg(
        90,
        7,
        0,
        bson(&json!({"cursor": {"firstBatch": batch, "id": 0i64, "ns": "shop.users"}, "ok": 1.0})),
        &[],
    );
    for piece in [1, 5, 16, usize::MAX] {
        let out = run(&[(C, find.clone()), (S, reply.clone())], piece);
        assert_eq!(out.len(), 1, "pieces of {piece}");
        let e = &out[0];
        assert_eq!(e.error, None);
        assert_eq!(
            fields(
                &out,
                "request",
                &["opcode", "command", "database", "collection", "requestId"]
            ),
            [[
                json!("OP_MSG"),
                json!("find"),
                json!("shop"),
                json!("users"),
                json!(7)
            ]]
        );
        assert_eq!(
            fields(&out, "response", &["ok", "status", "documents", "errmsg"]),
            [[json!(1), json!(0), json!(2), Value::Null]]
        );
        assert_eq!(body(&e.request)["filter"], json!({"age": {"$gt": 30}}));
        assert_eq!(body(&e.response)["cursor"]["firstBatch"], batch);
        assert_eq!(
            sizes(&out),
            [(Some(json!(find.len())), Some(json!(reply.len())))]
        );
    }
}

#[test]
fn a_document_sequence_is_folded_into_the_command_and_a_checksum_is_skipped() {
    let docs = [json!({"_id": 1}), json!({"_id": 1})];
    let insert = op_msg(
        3,
        0,
        1,
        cmd(
            "insert",
            json!("users"),
            json!({"ordered": true, "$db": "shop"}),
        ),
        &[("documents", &docs)],
    );
    let reply = op_msg(
        4,
        3,
        1,
        bson(
            &json!({"n": 1, "writeErrors": [{"index": 1, "code": 11000, "errmsg": "E11000 duplicate key error"}], "ok": 1.0}),
        ),
        &[],
    );
    let out = run(&[(C, insert), (S, reply)], usize::MAX);
    assert_eq!(body(&out[0].request)["documents"], json!(docs));
    assert_eq!(
        fields(&out, "request", &["command", "collection"]),
        [[json!("insert"), json!("users")]]
    );
    assert_eq!(
        fields(
            &out,
            "response",
            &["ok", "status", "code", "errmsg", "documents"]
        ),
        [[
            json!(1),
            json!(11000),
            json!("11000"),
            json!("E11000 duplicate key error"),
            json!(1)
        ]]
    );
}

#[test]
fn a_failed_command_gives_its_code_and_code_name() {
    let ask = op_msg(
        5,
        0,
        0,
        cmd("frobnicate", json!(1), json!({"$db": "admin"})),
        &[],
    );
    let no = op_msg(
        6,
        5,
        0,
        bson(
            &json!({"ok": 0.0, "errmsg": "no such command: 'frobnicate'", "code": 59, "codeName": "CommandNotFound"}),
        ),
        &[],
    );
    let out = run(&[(C, ask), (S, no)], usize::MAX);
    assert_eq!(
        fields(
            &out,
            "response",
            &["ok", "status", "code", "codeName", "errmsg"]
        ),
        [[
            json!(0),
            json!(59),
            json!("59"),
            json!("CommandNotFound"),
            json!("no such command: 'frobnicate'")
        ]]
    );
    assert_eq!(
        fields(&out, "request", &["collection"]),
        [[Value::Null]],
        "not a string"
    );
}

#[test]
fn a_legacy_handshake_and_query_read_their_namespace() {
    let hello = op_query(
        1,
        "admin.$cmd",
        cmd(
            "isMaster",
            json!(1),
            json!({"client": {"driver": {"name": "x"}}}),
        ),
    );
    let hello_ok = op_reply(
        2,
        1,
        &[json!({"ismaster": true, "maxWireVersion": 8, "ok": 1.0})],
    );
    let query = op_query(
        3,
        "shop.users",
        cmd(
            "$query",
            json!({"age": 3}),
            json!({"$orderby": {"name": 1}}),
        ),
    );
    let results = op_reply(
        4,
        3,
        &[
            json!({"name": "ada"}),
            json!({"name": "bob"}),
            json!({"name": "cy"}),
        ],
    );
    let out = run(&[(C, hello), (S, hello_ok), (C, query), (S, results)], 7);
    assert_eq!(
        fields(
            &out,
            "request",
            &["opcode", "command", "database", "collection"]
        ),
        [
            [
                json!("OP_QUERY"),
                json!("isMaster"),
                json!("admin"),
                Value::Null
            ],
            [
                json!("OP_QUERY"),
                json!("find"),
                json!("shop"),
                json!("users")
            ],
        ]
    );
    assert_eq!(
        fields(&out, "response", &["opcode", "ok", "status", "documents"]),
        [
            [json!("OP_REPLY"), json!(1), json!(0), Value::Null],
            [json!("OP_REPLY"), Value::Null, json!(0), json!(3)],
        ]
    );
    assert_eq!(body(&out[1].response).as_array().map(Vec::len), Some(3));
}

#[test]
fn replies_pair_by_response_to_in_any_order_and_the_unanswered_fail_at_close() {
    let a = op_msg(
        10,
        0,
        0,
        cmd("ping", json!(1), json!({"$db": "admin"})),
        &[],
    );
    let b = op_msg(
        11,
        0,
        0,
        cmd("count", json!("users"), json!({"$db": "shop"})),
        &[],
    );
    let c = op_msg(
        12,
        0,
        0,
        cmd("ping", json!(1), json!({"$db": "admin"})),
        &[],
    );
    let b_ok = op_msg(20, 11, 0, bson(&json!({"n": 4, "ok": 1})), &[]);
    let a_ok = op_msg(21, 10, 0, bson(&json!({"ok": 1})), &[]);
    let stray = op_msg(22, 99, 0, bson(&json!({"ok": 1})), &[]);
    let out = run(
        &[(C, a), (C, b), (C, c), (S, b_ok), (S, a_ok), (S, stray)],
        usize::MAX,
    );
    let got: Vec<_> = out
        .iter()
        .map(|e| {
            (
                e.request.get("requestId").cloned(),
                e.response.get("documents").cloned(),
                e.error.clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (Some(json!(11)), Some(json!(4)), None),
            (Some(json!(10)), None, None),
            (
                None,
                None,
                Some("reply without a request (capture started mid-connection?)".into())
            ),
            (
                Some(json!(12)),
                None,
                Some("no response before the flow ended (FIN)".into())
            ),
        ]
    );
}

#[test]
fn a_request_sent_with_more_to_come_needs_no_reply_and_an_exhaust_reply_pairs_the_next() {
    let write = op_msg(
        1,
        0,
        2,
        cmd(
            "insert",
            json!("logs"),
            json!({"$db": "app", "writeConcern": {"w": 0}}),
        ),
        &[],
    );
    let hello = op_msg(
        2,
        0,
        1 << 16,
        cmd("hello", json!(1), json!({"$db": "admin"})),
        &[],
    );
    let first = op_msg(
        3,
        2,
        2,
        bson(&json!({"isWritablePrimary": true, "ok": 1})),
        &[],
    );
    let second = op_msg(
        4,
        3,
        0,
        bson(&json!({"isWritablePrimary": false, "ok": 1})),
        &[],
    );
    let out = run(
        &[(C, write), (C, hello), (S, first), (S, second)],
        usize::MAX,
    );
    let got: Vec<_> = out
        .iter()
        .map(|e| {
            (
                e.request.get("command").cloned(),
                e.response.is_empty(),
                e.error.is_none(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (Some(json!("insert")), true, true),
            (Some(json!("hello")), false, true),
            (Some(json!("hello")), false, true),
        ]
    );
    assert_eq!(out[2].request.get("size"), Some(&json!(0)), "counted once");
}

#[test]
fn compressed_messages_are_read_when_snappy_zlib_or_zstd_and_named_otherwise() {
    let inner_doc = cmd("count", json!("users"), json!({"$db": "shop"}));
    let plain = op_msg(0, 0, 0, inner_doc.clone(), &[]);
    let original = &plain[16..];
    let packed = zlib(original);
    let compressed =
        |id: i32, compressor: u8, data: &[u8]| op_compressed(id, compressor, original.len(), data);
    let zstd_packed = zstd::bulk::compress(original, 3).expect("compress");
    let snappy_packed = snap::raw::Encoder::new()
        .compress_vec(original)
        .expect("compress");
    let out = run(
        &[
            (C, compressed(1, 2, &packed)),
            (C, compressed(2, 1, &snappy_packed)),
            (C, compressed(3, 3, &zstd_packed)),
            (C, compressed(4, 9, original)),
        ],
        usize::MAX,
    );
    let read = |compressor: &str| {
        [
            json!("OP_MSG"),
            json!(compressor),
            json!("count"),
            json!("shop"),
        ]
    };
    assert_eq!(
        fields(
            &out,
            "request",
            &["opcode", "compressor", "command", "database"]
        ),
        [
            read("zlib"),
            read("snappy"),
            read("zstd"),
            [json!("OP_MSG"), json!("unknown"), Value::Null, Value::Null],
        ]
    );
    for read in &out[..3] {
        assert_eq!(
            body(&read.request),
            json!({"count": "users", "$db": "shop"})
        );
    }
    assert!(out[3].request.get("body").is_none());
}

#[test]
fn a_snappy_message_is_read_and_a_damaged_or_oversized_one_is_not() {
    let inner_doc = cmd(
        "find",
        json!("orders"),
        json!({"filter": {"note": "x".repeat(3000)}, "$db": "shop"}),
    );
    let plain = op_msg(0, 0, 0, inner_doc, &[]);
    let original = &plain[16..];
    let compressed = |id: i32, size: usize, data: &[u8]| op_compressed(id, 1, size, data);
    let packed = snap::raw::Encoder::new()
        .compress_vec(original)
        .expect("compress");
    assert!(packed.len() < 1000, "{} bytes", packed.len());
    let messages = [
        (C, compressed(1, original.len(), &packed)),
        // Cut short: a snappy block is undone whole or not at all.
        (
            C,
            compressed(2, original.len(), &packed[..packed.len() / 2]),
        ),
        (C, compressed(3, original.len(), b"not snappy at all")),
        // The block states more than the message's uncompressed size.
        (C, compressed(4, original.len() - 1, &packed)),
    ];
    let out = run(&messages, usize::MAX);
    let seen = fields(
        &out,
        "request",
        &["compressor", "command", "database", "collection"],
    );
    assert_eq!(
        seen[0],
        [
            json!("snappy"),
            json!("find"),
            json!("shop"),
            json!("orders")
        ]
    );
    assert_eq!(
        body(&out[0].request)["filter"]["note"],
        json!("x".repeat(3000))
    );
    for (i, row) in seen.iter().enumerate().skip(1) {
        assert_eq!(
            row,
            &[json!("snappy"), Value::Null, Value::Null, Value::Null],
            "message {i}: named, not read"
        );
        assert!(out[i].request.get("body").is_none(), "message {i}");
    }
    assert_eq!(seen.len(), 4);
    // Kept whole within a 1000-byte --max-body, it states more than that: not read, where zlib
    // gives the first 1000 bytes (a block has no prefix to give).
    let zlib = op_compressed(5, 2, original.len(), &zlib(original));
    let mut parser = MongoDissector.parser(&ParserSettings { max_body: 1000 });
    let mut out = Vec::new();
    parser.feed(C, &messages[0].1, META, &mut out);
    parser.feed(C, &zlib, META, &mut out);
    parser.close("FIN", &mut out);
    assert_eq!(
        fields(&out, "request", &["compressor", "command", "size"]),
        [
            [json!("snappy"), Value::Null, json!(messages[0].1.len())],
            [json!("zlib"), json!("find"), json!(zlib.len())],
        ]
    );
}

#[test]
fn a_zstd_message_is_read_and_a_damaged_or_hostile_one_is_not() {
    let inner_doc = cmd("find", json!("orders"), json!({"$db": "shop"}));
    let plain = op_msg(0, 0, 0, inner_doc, &[]);
    let original = &plain[16..];
    let compressed = |id: i32, size: usize, data: &[u8]| op_compressed(id, 3, size, data);
    let packed = zstd::bulk::compress(original, 3).expect("compress");
    // A frame asking for a 64 MiB window (zstd's own limit is 128 MiB), its one block stored raw:
    // named, not read, nothing allocated for it. The magic, a descriptor without a content size,
    // the window (2^(10 + 16)), then the last block's header (raw, its size) and its bytes.
    let mut wide = vec![0x28, 0xb5, 0x2f, 0xfd, 0x00, 16 << 3];
    let block = (original.len() << 3) | 1;
    wide.extend_from_slice(&block.to_le_bytes()[..3]);
    wide.extend_from_slice(original);
    let out = run(
        &[
            // Cut short inside its one block: zstd gives nothing of a block it cannot finish.
            (
                C,
                compressed(1, original.len(), &packed[..packed.len() / 2]),
            ),
            (C, compressed(2, original.len(), b"not zstd at all")),
            (C, compressed(3, original.len(), &wide)),
            (C, compressed(4, original.len(), &packed)),
        ],
        usize::MAX,
    );
    let commands = fields(&out, "request", &["compressor", "command"]);
    assert_eq!(commands.len(), 4);
    for (i, row) in commands.iter().enumerate() {
        assert_eq!(row[0], json!("zstd"), "message {i}");
    }
    assert_eq!(commands[0][1], Value::Null, "cut short: not read");
    assert_eq!(commands[1][1], Value::Null, "not zstd: not read");
    assert_eq!(commands[2][1], Value::Null, "a 64 MiB window: not read");
    assert_eq!(commands[3][1], json!("find"));
}

#[test]
fn a_large_message_keeps_a_bounded_prefix_and_counts_every_byte() {
    let docs: Vec<Value> = (0..2000)
        .map(|i| json!({"_id": i, "pad": "x".repeat(100)}))
        .collect();
    let insert = op_msg(
        1,
        0,
        0,
        cmd("insert", json!("big"), json!({"$db": "shop"})),
        &[("documents", &docs)],
    );
    let mut parser = MongoDissector.parser(&ParserSettings { max_body: 1000 });
    let mut out = Vec::new();
    parser.feed(C, &insert, META, &mut out);
    parser.close("FIN", &mut out);
    let request = &out[0].request;
    assert_eq!(request.get("command"), Some(&json!("insert")));
    assert_eq!(request.get("size"), Some(&json!(insert.len())));
    let shown = request.get("body").and_then(Value::as_str).expect("body");
    assert_eq!(shown.len(), 1000, "cut at --max-body");
}

#[test]
fn unfinished_is_the_oldest_request_waiting() {
    let mut parser = parser();
    let mut out = Vec::new();
    let at = |n: i64| ChunkMeta {
        ts_ns: n,
        packet: n as u64,
    };
    assert_eq!(parser.unfinished(), Unfinished::Nothing);
    let find = op_msg(1, 0, 0, cmd("find", json!("a"), json!({"$db": "b"})), &[]);
    parser.feed(C, &find, at(5), &mut out);
    parser.feed(
        S,
        &op_msg(2, 1, 0, bson(&json!({"ok": 1})), &[])[..10],
        at(6),
        &mut out,
    );
    assert_eq!(parser.unfinished(), Unfinished::Since(5));
    parser.feed(
        S,
        &op_msg(2, 1, 0, bson(&json!({"ok": 1})), &[])[10..],
        at(7),
        &mut out,
    );
    assert_eq!(out.len(), 1);
    assert_eq!(parser.unfinished(), Unfinished::Nothing);
}

#[test]
fn the_probe_knows_requests_from_replies() {
    let find = op_msg(1, 0, 0, cmd("find", json!("a"), json!({"$db": "b"})), &[]);
    let reply = op_msg(2, 1, 0, bson(&json!({"ok": 1})), &[]);
    let hello = op_query(1, "admin.$cmd", cmd("isMaster", json!(1), json!({})));
    let d = MongoDissector;
    assert_eq!(d.probe(&find, C), Confidence::Yes);
    assert_eq!(d.probe(&hello, C), Confidence::Yes);
    assert_eq!(d.probe(&reply, S), Confidence::Yes);
    assert_eq!(d.probe(&reply, C), Confidence::No);
    assert_eq!(d.probe(&find, S), Confidence::No);
    assert_eq!(d.probe(&find[..10], C), Confidence::NeedMore);
    assert_eq!(
        d.probe(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", C),
        Confidence::No
    );
    assert_eq!(
        d.probe(&op_query(1, "nodot", bson(&json!({"a": 1}))), C),
        Confidence::No
    );
}

#[test]
fn a_gap_toward_the_client_fails_the_waiting_requests_and_framing_resumes() {
    let mut parser = parser();
    let mut out = Vec::new();
    parser.feed(
        C,
        &op_msg(1, 0, 0, cmd("ping", json!(1), json!({"$db": "a"})), &[]),
        META,
        &mut out,
    );
    parser.gap(S, &mut out);
    assert_eq!(out[0].error.as_deref(), Some("reply lost in a capture gap"));
    parser.gap(C, &mut out);
    let next = op_msg(2, 0, 0, cmd("ping", json!(1), json!({"$db": "a"})), &[]);
    parser.feed(C, &[&b"junk"[..], &next].concat(), META, &mut out);
    parser.feed(
        S,
        &op_msg(3, 2, 0, bson(&json!({"ok": 1})), &[]),
        META,
        &mut out,
    );
    assert_eq!(out.len(), 2);
    assert_eq!(out[1].error, None);
    assert_eq!(out[1].request.get("requestId"), Some(&json!(2)));
}
