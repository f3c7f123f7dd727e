//! MongoDB against a real driver: Debian's pymongo (`tests/protocols/mongo_client.py`: the
//! OP_QUERY handshake, inserts in the command and as a document sequence, a duplicate key, a
//! find read through getMore, an unknown command, an unacknowledged write, and a zlib-, a zstd-
//! and a snappy-compressed client) in two network namespaces, captured, imported, and compared
//! with tshark's `mongo.*`. tshark 4.0 undoes zlib and snappy, so those messages are compared
//! with it like the others; it does not decompress zstd ("Unsupported compression format: 3"),
//! so the zstd client's messages are checked against what the driver did instead.
//!
//! The server is a stand-in (`tests/protocols/mongo_server.py`), not mongod: no MongoDB server
//! can be installed here (Debian 12 has none, and PyPI's and npm's packages download it from
//! mongodb.com, which is unreachable). It answers as mongod 4.2 does, so the client's bytes are
//! a real driver's and the replies have mongod's shapes (`cursor.firstBatch`, `writeErrors`,
//! `ok: 0` with `code`/`codeName`); tshark reads both sides.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::OnceLock;

use crate::pair::{Captured, SERVER};
use crate::util::{
    Running, counted, entry_bytes, query_json, run_ok, tcp_payload_bytes, text, workspace,
};

const PORT: &str = "27017";

/// The capture of the client's session, made once.
fn session() -> &'static Captured {
    static SESSION: OnceLock<Captured> = OnceLock::new();
    SESSION.get_or_init(|| {
        Captured::make("mongo", "mongo", |pair, _dir, pcap| {
            let mut server = Running::start(
                pair.exec("srv", "/usr/bin/python3")
                    .arg(workspace().join("tests/protocols/mongo_server.py"))
                    .args([SERVER, PORT])
                    .stdout(Stdio::piped()),
            );
            let mut line = String::new();
            let stdout = server.stdout.take().expect("server's stdout piped");
            let _ = BufReader::new(stdout).read_line(&mut line);
            assert_eq!(line.trim(), "listening");
            pair.capture(27017, pcap, || {
                let r = run_ok(
                    pair.exec("cli", "/usr/bin/python3")
                        .arg(workspace().join("tests/protocols/mongo_client.py"))
                        .args([SERVER, PORT]),
                );
                assert!(r.stdout.ends_with("done\n"), "client: {}", r.stdout);
            });
        })
    })
}

/// tshark's fields of every MongoDB message, one row per packet (occurrences joined by commas).
fn tshark_rows(fields: &[&str]) -> Vec<Vec<String>> {
    let options = [
        // tshark 4.0 reassembles MongoDB messages only on a port it is told of.
        "-d",
        "tcp.port==27017,mongo",
        "-Y",
        "mongo",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=|",
    ];
    session().tshark_fields(&options, fields)
}

/// The values of field `i` of a row.
fn list(row: &[String], i: usize) -> Vec<String> {
    row.get(i)
        .filter(|s| !s.is_empty())
        .map(|s| s.split('|').map(str::to_string).collect())
        .unwrap_or_default()
}

/// The MongoDB entries matching `filter`, in the store's order.
fn entries(filter: &str) -> Vec<serde_json::Value> {
    query_json(&session().store, &[filter])
}

/// A tshark id (`0x6b8b4567`) as the signed 32-bit number the entries hold.
fn id(hex: &str) -> i64 {
    let bits = u32::from_str_radix(hex.trim_start_matches("0x"), 16).expect("hex id");
    i64::from(bits as i32)
}

/// tshark's opcode number as the entries name it.
fn opcode(number: &str) -> &'static str {
    match number {
        "1" => "OP_REPLY",
        "2004" => "OP_QUERY",
        "2012" => "OP_COMPRESSED",
        "2013" => "OP_MSG",
        other => panic!("unexpected opcode {other}"),
    }
}

/// A message as tshark reads it: request id, responseTo, opcode, element names, string values.
type Read = (i64, i64, &'static str, Vec<String>, Vec<String>);

/// tshark's messages.
fn messages() -> Vec<Read> {
    tshark_rows(&[
        "mongo.request_id",
        "mongo.response_to",
        "mongo.opcode",
        "mongo.element.name",
        "mongo.element.value.string",
    ])
    .iter()
    .map(|row| {
        (
            id(&row[0]),
            id(&row[1]),
            opcode(&row[2]),
            list(row, 3),
            list(row, 4),
        )
    })
    .collect()
}

/// An entry's side's opcode as tshark numbers the message (a compressed one is OP_COMPRESSED).
fn our_opcode(message: &serde_json::Value) -> String {
    if message["compressor"].is_null() {
        text(&message["opcode"])
    } else {
        "OP_COMPRESSED".into()
    }
}

/// The element names (an array's indices too) and string values of a side's `body`, counted, as
/// tshark lists a BSON document's elements (relaxed Extended JSON keeps a document's keys and
/// strings as they are).
fn elements(message: &serde_json::Value) -> (Counts, Counts) {
    fn walk(value: &serde_json::Value, names: &mut Vec<String>, strings: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (name, value) in map {
                    names.push(name.clone());
                    walk(value, names, strings);
                }
            }
            serde_json::Value::Array(list) => {
                for (i, value) in list.iter().enumerate() {
                    names.push(i.to_string());
                    walk(value, names, strings);
                }
            }
            serde_json::Value::String(s) => strings.push(s.clone()),
            _ => {}
        }
    }
    let body = message["body"].as_str().expect("a body");
    let body: serde_json::Value = serde_json::from_str(body).expect("JSON");
    let (mut names, mut strings) = (Vec::new(), Vec::new());
    walk(&body, &mut names, &mut strings);
    (counted(names), counted(strings))
}

/// Strings and how often each occurs.
type Counts = std::collections::BTreeMap<String, usize>;

#[test]
fn every_request_tshark_reads_is_an_entry_with_its_command_and_opcode() {
    let theirs: Vec<_> = messages()
        .into_iter()
        .filter(|m| m.1 == 0 && !m.3.is_empty())
        .map(|(request, _, op, names, _)| (request, names[0].clone(), op.to_string()))
        .collect();
    // The zstd client's two handshakes are plain OP_QUERY, which tshark reads; the snappy
    // client's two handshakes and its compressed find are all read.
    assert_eq!(theirs.len(), 19, "{theirs:?}");
    let entries = entries(r#"mongo and !(request.compressor == "zstd")"#);
    let ours: Vec<_> = entries
        .iter()
        .map(|e| {
            let r = &e["request"];
            (
                r["requestId"].as_i64().expect("requestId"),
                text(&r["command"]),
                our_opcode(r),
            )
        })
        .collect();
    assert_eq!(counted(ours), counted(theirs));
    assert!(
        entries.iter().all(|e| e["error"].is_null()),
        "no entry failed"
    );
}

#[test]
fn replies_pair_by_response_to_and_carry_the_error_tshark_reads() {
    let replies: Vec<_> = messages()
        .into_iter()
        .filter(|m| m.1 != 0 && !m.3.is_empty())
        .collect();
    assert_eq!(replies.len(), 18, "the unacknowledged write has none");
    let mut theirs = Vec::new();
    for (_, to, op, names, strings) in &replies {
        let has = |name: &str| names.iter().any(|n| n == name);
        let errmsg = if has("errmsg") {
            strings[0].clone()
        } else {
            String::new()
        };
        let code_name = if has("codeName") {
            strings.last().cloned().unwrap_or_default()
        } else {
            String::new()
        };
        // A cursor's documents each have one _id here.
        let documents = if has("cursor") {
            names.iter().filter(|n| *n == "_id").count().to_string()
        } else {
            String::new()
        };
        theirs.push((*to, op.to_string(), errmsg, code_name, documents));
    }
    let mut ours = Vec::new();
    for e in entries(r#"mongo and response.opcode != nil and !(request.compressor == "zstd")"#) {
        let r = &e["response"];
        let documents = if text(&e["request"]["command"]).ends_with("ore")
            || text(&e["request"]["command"]) == "find"
        {
            text(&r["documents"])
        } else {
            String::new()
        };
        ours.push((
            e["request"]["requestId"].as_i64().expect("requestId"),
            our_opcode(r),
            text(&r["errmsg"]),
            text(&r["codeName"]),
            documents,
        ));
    }
    theirs.sort();
    ours.sort();
    assert_eq!(ours, theirs);
}

#[test]
fn a_duplicate_key_and_an_unknown_command_fail_with_their_codes() {
    let duplicate = entries("mongo and response.status == 11000");
    assert_eq!(duplicate.len(), 1);
    let d = &duplicate[0];
    assert_eq!(
        (
            text(&d["request"]["command"]),
            text(&d["response"]["code"]),
            text(&d["response"]["ok"])
        ),
        ("insert".into(), "11000".into(), "1".into()),
        "a write error: the command itself succeeded"
    );
    let unknown = entries(r#"mongodb && mongodb_error_code_name == "CommandNotFound""#);
    assert_eq!(unknown.len(), 1);
    let u = &unknown[0];
    assert_eq!(
        (
            text(&u["request"]["command"]),
            text(&u["response"]["status"]),
            text(&u["response"]["ok"])
        ),
        ("frobnicate".into(), "59".into(), "0".into())
    );
    // KFL2's names read the same fields.
    assert_eq!(entries(r#"mongodb_command == "getMore""#).len(), 2);
    assert_eq!(entries("mongodb_error_code != 0").len(), 2);
    assert_eq!(
        entries("mongodb && !mongodb_success").len(),
        3,
        "and the write that got no reply"
    );
    assert_eq!(
        entries(r#"mongodb_database == "shop" && mongodb_collection == "users" && mongodb_opcode == "OP_MSG""#).len(),
        10,
        "inserts (one unacknowledged), finds (three compressed), getMores"
    );
    let quiet = entries("mongo and request.body.contains(\"quiet\")");
    assert_eq!(quiet.len(), 1);
    assert!(
        quiet[0]["response"]
            .as_object()
            .is_none_or(|r| r.is_empty()),
        "w: 0 gets no reply"
    );
    assert!(quiet[0]["error"].is_null(), "and none was owed");
}

#[test]
fn entries_count_every_byte_tshark_sees() {
    let all_payload = tcp_payload_bytes(&session().pcap);
    assert!(all_payload > 3000);
    assert_eq!(entry_bytes(&entries("mongo")), all_payload);
}

#[test]
fn every_field_is_listed_and_the_table_names_command_namespace_and_outcome() {
    crate::fields::assert_every_field_listed(&entries("mongo"));
    let table = run_ok(
        crate::util::shark()
            .args(["query", "--store"])
            .arg(&session().store)
            .arg("mongodb"),
    )
    .stdout;
    let line = |needle: &str| crate::fields::table_row(&table, needle);
    assert!(line("frobnicate").contains("CommandNotFound 59"), "{table}");
    assert!(line("find").contains("shop.users"), "{table}");
    assert!(line("getMore").contains("OK, 2 documents"), "{table}");
    // The map's edge counts the two failed commands as errors.
    let map = run_ok(
        crate::util::shark()
            .args(["map", "--store"])
            .arg(&session().store),
    )
    .stdout;
    let edge = map
        .lines()
        .find(|l| l.contains("mongo"))
        .unwrap_or_else(|| panic!("no mongo edge:\n{map}"));
    let cells: Vec<&str> = edge.split('┆').map(str::trim).collect();
    assert_eq!(cells.get(3..5), Some(&["20", "2"][..]), "{map}");
}

#[test]
fn a_zstd_compressed_find_is_read_where_tshark_cannot() {
    // tshark names the compressor it cannot undo; the zstd client's three requests are those.
    let mut undecoded: Vec<i64> = messages()
        .into_iter()
        .filter(|m| m.1 == 0 && m.3.is_empty())
        .map(|m| m.0)
        .collect();
    let mut ids: Vec<i64> = entries(r#"mongo and request.compressor == "zstd""#)
        .iter()
        .map(|e| e["request"]["requestId"].as_i64().expect("requestId"))
        .collect();
    ids.sort();
    undecoded.sort();
    assert_eq!(ids, undecoded, "the same requests, read by us");
    let (request, _) = compressed_find("zstd");
    assert!(request["body"].as_str().unwrap_or("").contains("36"));
}

/// The request and response of the one find the client compressing with `compressor` sent,
/// asserted to be on shop.users, compressed so both ways, and to have found one document (the
/// user aged 36).
fn compressed_find(compressor: &str) -> (serde_json::Value, serde_json::Value) {
    let packed = entries(&format!(
        r#"mongo and request.compressor == "{compressor}""#
    ));
    let mut finds = packed
        .into_iter()
        .filter(|e| text(&e["request"]["command"]) == "find");
    let (Some(mut find), None) = (finds.next(), finds.next()) else {
        panic!("not one {compressor} find");
    };
    let (request, response) = (find["request"].take(), find["response"].take());
    assert_eq!(
        (
            text(&request["database"]),
            text(&request["collection"]),
            text(&response["compressor"]),
            text(&response["documents"]),
        ),
        ("shop".into(), "users".into(), compressor.into(), "1".into()),
        "the {compressor} client found the one user aged 36"
    );
    (request, response)
}

#[test]
fn a_snappy_compressed_find_is_read_as_tshark_reads_it() {
    let (request, response) = compressed_find("snappy");
    // tshark undoes snappy: the find and its reply hold the elements it reads, the same names
    // and strings.
    let id = request["requestId"].as_i64().expect("requestId");
    let theirs = messages();
    let asked = theirs
        .iter()
        .find(|m| m.0 == id && m.1 == 0)
        .expect("tshark reads the find");
    let answered = theirs
        .iter()
        .find(|m| m.1 == id)
        .expect("tshark reads its reply");
    for (ours, (_, _, opcode, names, strings)) in [(&request, asked), (&response, answered)] {
        assert_eq!(*opcode, "OP_COMPRESSED");
        assert_eq!(
            elements(ours),
            (counted(names.clone()), counted(strings.clone()))
        );
    }
    let body: serde_json::Value =
        serde_json::from_str(response["body"].as_str().expect("a body")).expect("JSON");
    assert_eq!(body["cursor"]["firstBatch"][0]["name"], "ada");
}
