//! MySQL's unit tests: the login, queries with result sets in either EOF style, errors, prepared
//! statements, TLS, wire sizes however the bytes are chunked, gaps, the end of the flow and probes.

use serde_json::{Value, json};

use super::MysqlDissector;
use crate::dissect::test_support::{META, feed_in_pieces, sizes};
use crate::dissect::{Confidence, Direction, Dissector, Exchange, ParserSettings};

/// A packet: 3-byte length, sequence number, payload.
fn packet(seq: u8, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut out = len.to_le_bytes()[..3].to_vec();
    out.push(seq);
    out.extend_from_slice(payload);
    out
}

/// A greeting from server `version` with capabilities `caps`.
fn greeting(version: &str, caps: u32) -> Vec<u8> {
    let mut p = vec![10];
    p.extend_from_slice(version.as_bytes());
    p.push(0);
    p.extend_from_slice(&7u32.to_le_bytes()); // connection id
    p.extend_from_slice(b"12345678\0");
    p.extend_from_slice(&(caps as u16).to_le_bytes());
    p.push(45);
    p.extend_from_slice(&2u16.to_le_bytes());
    p.extend_from_slice(&((caps >> 16) as u16).to_le_bytes());
    p.push(21);
    p.extend_from_slice(&[0; 10]);
    p.extend_from_slice(b"123456789012\0mysql_native_password\0");
    packet(0, &p)
}

const PROTOCOL_41: u32 = 0x200;
const WITH_DB: u32 = 0x8;
const SECURE: u32 = 0x8000;
const SSL: u32 = 0x800;
const DEPRECATE_EOF: u32 = 0x100_0000;

/// A login for `user` (and `database`) with capabilities `caps`.
fn login(caps: u32, user: &str, database: Option<&str>) -> Vec<u8> {
    let caps = caps | PROTOCOL_41 | SECURE | if database.is_some() { WITH_DB } else { 0 };
    let mut p = caps.to_le_bytes().to_vec();
    p.extend_from_slice(&(1u32 << 24).to_le_bytes());
    p.push(45);
    p.extend_from_slice(&[0; 23]);
    p.extend_from_slice(user.as_bytes());
    p.push(0);
    p.push(20);
    p.extend_from_slice(&[0xAB; 20]);
    if let Some(db) = database {
        p.extend_from_slice(db.as_bytes());
        p.push(0);
    }
    packet(1, &p)
}

fn ok(seq: u8, affected: u8) -> Vec<u8> {
    packet(seq, &[0, affected, 0, 2, 0, 0, 0])
}

fn eof(seq: u8) -> Vec<u8> {
    packet(seq, &[0xFE, 0, 0, 2, 0])
}

fn err(seq: u8, code: u16, state: &str, message: &str) -> Vec<u8> {
    let mut p = vec![0xFF];
    p.extend_from_slice(&code.to_le_bytes());
    p.push(b'#');
    p.extend_from_slice(state.as_bytes());
    p.extend_from_slice(message.as_bytes());
    packet(seq, &p)
}

fn lenenc_str(s: &str) -> Vec<u8> {
    let mut out = vec![s.len() as u8];
    out.extend_from_slice(s.as_bytes());
    out
}

fn column(seq: u8, name: &str) -> Vec<u8> {
    let mut p = Vec::new();
    for part in ["def", "shop", "orders", "orders", name, name] {
        p.extend(lenenc_str(part));
    }
    p.extend_from_slice(&[0x0C, 45, 0, 80, 0, 0, 0, 253, 0, 0, 0, 0, 0]);
    packet(seq, &p)
}

fn row(seq: u8, values: &[&str]) -> Vec<u8> {
    packet(
        seq,
        &values
            .iter()
            .flat_map(|v| lenenc_str(v))
            .collect::<Vec<_>>(),
    )
}

fn command(command: u8, args: &[u8]) -> Vec<u8> {
    packet(0, &[&[command][..], args].concat())
}

/// A classic result set of `columns` and `rows` rows, sequence numbers from 1.
fn result_set(columns: &[&str], rows: usize, deprecate_eof: bool) -> Vec<u8> {
    let mut seq = 1;
    let mut next = || {
        seq += 1;
        seq - 1
    };
    let mut out = packet(next(), &[columns.len() as u8]);
    for name in columns {
        out.extend(column(next(), name));
    }
    if !deprecate_eof {
        out.extend(eof(next()));
    }
    for _ in 0..rows {
        out.extend(row(next(), &vec!["x"; columns.len()]));
    }
    if deprecate_eof {
        out.extend(packet(next(), &[0xFE, 0, 0, 2, 0, 0, 0]));
    } else {
        out.extend(eof(next()));
    }
    out
}

fn run_in_pieces(steps: &[(Direction, Vec<u8>)], piece: usize) -> Vec<Exchange> {
    let mut parser = MysqlDissector.parser(&ParserSettings::default());
    let mut out = Vec::new();
    for (dir, bytes) in steps {
        feed_in_pieces(parser.as_mut(), *dir, bytes, piece, &mut out);
    }
    parser.close("FIN", &mut out);
    out
}

fn run(steps: &[(Direction, Vec<u8>)]) -> Vec<Exchange> {
    run_in_pieces(steps, usize::MAX)
}

fn get<'a>(message: &'a shark_store::Message, key: &str) -> &'a Value {
    message.get(key).unwrap_or(&Value::Null)
}

/// A session: greeting, login naming a database, a SELECT of two columns and three rows, an
/// UPDATE, a syntax error, COM_QUIT.
fn session(deprecate_eof: bool) -> Vec<(Direction, Vec<u8>)> {
    let caps = if deprecate_eof { DEPRECATE_EOF } else { 0 };
    vec![
        (
            Direction::ToClient,
            greeting("5.5.5-10.11.19-MariaDB", 0xFFFF_FFFF),
        ),
        (Direction::ToServer, login(caps, "app", Some("shop"))),
        (Direction::ToClient, ok(2, 0)),
        (
            Direction::ToServer,
            command(3, b"SELECT id, item FROM orders"),
        ),
        (
            Direction::ToClient,
            result_set(&["id", "item"], 3, deprecate_eof),
        ),
        (
            Direction::ToServer,
            command(3, b"UPDATE orders SET qty = 1"),
        ),
        (Direction::ToClient, ok(1, 2)),
        (Direction::ToServer, command(3, b"SELEC broken")),
        (
            Direction::ToClient,
            err(1, 1064, "42000", "You have an error"),
        ),
        (Direction::ToServer, command(1, b"")),
    ]
}

#[test]
fn a_session_gives_the_login_each_query_and_the_quit() {
    for deprecate_eof in [false, true] {
        let out = run(&session(deprecate_eof));
        let commands: Vec<_> = out
            .iter()
            .map(|e| get(&e.request, "command").clone())
            .collect();
        assert_eq!(
            commands,
            [
                json!("HANDSHAKE"),
                json!("COM_QUERY"),
                json!("COM_QUERY"),
                json!("COM_QUERY"),
                json!("COM_QUIT")
            ]
        );
        let login = &out[0];
        assert_eq!(get(&login.request, "user"), "app");
        assert_eq!(get(&login.request, "database"), "shop");
        assert_eq!(get(&login.request, "tls"), false);
        assert_eq!(get(&login.response, "version"), "5.5.5-10.11.19-MariaDB");
        assert_eq!(get(&login.response, "status"), 0);
        let select = &out[1];
        assert_eq!(get(&select.request, "query"), "SELECT id, item FROM orders");
        assert_eq!(get(&select.response, "columns"), &json!(["id", "item"]));
        assert_eq!(
            get(&select.response, "rows"),
            3,
            "deprecate_eof {deprecate_eof}"
        );
        assert_eq!(get(&out[2].response, "affectedRows"), 2);
        assert_eq!(get(&out[2].response, "rows"), &Value::Null);
        let error = &out[3].response;
        assert_eq!(
            (
                get(error, "status"),
                get(error, "code"),
                get(error, "error")
            ),
            (&json!(1064), &json!("42000"), &json!("You have an error"))
        );
        assert!(out[4].response.is_empty() && out.iter().all(|e| e.error.is_none()));
    }
}

#[test]
fn sizes_are_the_packets_each_way_however_the_bytes_are_chunked() {
    let steps = session(false);
    let to = |dir: Direction| -> u64 {
        steps
            .iter()
            .filter(|(d, _)| *d == dir)
            .map(|(_, b)| b.len() as u64)
            .sum()
    };
    let whole = run(&steps);
    for piece in [1, 2, 3, 5, 7, 64] {
        let out = run_in_pieces(&steps, piece);
        assert_eq!(sizes(&out), sizes(&whole), "pieces of {piece}");
        assert_eq!(out.len(), whole.len());
    }
    let sum = |side: fn(&Exchange) -> &shark_store::Message| -> u64 {
        whole
            .iter()
            .map(|e| side(e).get("size").and_then(Value::as_u64).unwrap_or(0))
            .sum()
    };
    assert_eq!(sum(|e| &e.request), to(Direction::ToServer));
    assert_eq!(sum(|e| &e.response), to(Direction::ToClient));
}

#[test]
fn an_execute_names_the_sql_its_prepare_gave_an_id() {
    let prepare_ok = packet(1, &[0, 9, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0]);
    let steps = vec![
        (
            Direction::ToServer,
            command(0x16, b"SELECT item FROM orders WHERE id >= ?"),
        ),
        (
            Direction::ToClient,
            [
                prepare_ok,
                column(2, "?"),
                eof(3),
                column(4, "item"),
                eof(5),
            ]
            .concat(),
        ),
        (
            Direction::ToServer,
            command(
                0x17,
                &[
                    9, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 0, 2, 0, 0, 0, 0, 0, 0, 0,
                ],
            ),
        ),
        (
            Direction::ToClient,
            [
                packet(1, &[1]),
                column(2, "item"),
                eof(3),
                packet(4, &[0, 0, 3, b'p', b'e', b'n']),
                eof(5),
            ]
            .concat(),
        ),
        (Direction::ToServer, command(0x19, &[9, 0, 0, 0])),
        (
            Direction::ToServer,
            command(0x17, &[9, 0, 0, 0, 0, 1, 0, 0, 0]),
        ),
        (
            Direction::ToClient,
            err(1, 1243, "HY000", "Unknown prepared statement handler"),
        ),
    ];
    let out = run(&steps);
    let got: Vec<_> = out
        .iter()
        .map(|e| {
            (
                get(&e.request, "command").clone(),
                get(&e.request, "statementId").clone(),
                get(&e.request, "query").clone(),
                get(&e.response, "status").clone(),
            )
        })
        .collect();
    let sql = json!("SELECT item FROM orders WHERE id >= ?");
    assert_eq!(
        got,
        [
            (json!("COM_STMT_PREPARE"), json!(9), sql.clone(), json!(0)),
            (json!("COM_STMT_EXECUTE"), json!(9), sql.clone(), json!(0)),
            (json!("COM_STMT_CLOSE"), json!(9), sql, Value::Null),
            (
                json!("COM_STMT_EXECUTE"),
                json!(9),
                Value::Null,
                json!(1243)
            ),
        ]
    );
    assert_eq!(get(&out[0].response, "columns"), &json!(["item"]));
    assert_eq!(get(&out[1].response, "rows"), 1);
}

#[test]
fn a_prepare_without_eofs_does_not_swallow_the_next_reply() {
    let steps = vec![
        (Direction::ToServer, command(0x16, b"SELECT ?")),
        (
            Direction::ToClient,
            [
                packet(1, &[0, 1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0]),
                column(2, "?"),
                column(3, "?"),
            ]
            .concat(),
        ),
        (Direction::ToServer, command(0x0E, b"")),
        (Direction::ToClient, ok(1, 0)),
    ];
    let out = run(&steps);
    let got: Vec<_> = out
        .iter()
        .map(|e| {
            (
                get(&e.request, "command").clone(),
                get(&e.response, "status").clone(),
                e.error.clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (json!("COM_STMT_PREPARE"), json!(0), None),
            (json!("COM_PING"), json!(0), None)
        ]
    );
}

#[test]
fn a_login_asking_for_tls_ends_what_can_be_read() {
    let mut ssl = (PROTOCOL_41 | SSL | SECURE).to_le_bytes().to_vec();
    ssl.extend_from_slice(&[0; 28]);
    let out = run(&[
        (Direction::ToClient, greeting("8.0.36", 0xFFFF_FFFF)),
        (Direction::ToServer, packet(1, &ssl)),
        (Direction::ToServer, vec![0x16, 3, 1, 0, 5, 1, 2, 3, 4, 5]),
        (Direction::ToClient, vec![0x16, 3, 3, 0, 1, 9]),
    ]);
    assert_eq!(out.len(), 1);
    assert_eq!(get(&out[0].request, "tls"), true);
    assert_eq!(get(&out[0].response, "version"), "8.0.36");
    assert_eq!(out[0].error, None);
}

#[test]
fn a_query_without_reply_or_a_reply_cut_short_is_an_error_at_close() {
    let out = run(&[
        (Direction::ToServer, command(3, b"SELECT 1")),
        (
            Direction::ToClient,
            [packet(1, &[1]), column(2, "1")].concat(),
        ),
        (Direction::ToServer, command(3, b"SELECT 2")),
    ]);
    let errors: Vec<_> = out
        .iter()
        .map(|e| e.error.clone().unwrap_or_default())
        .collect();
    assert_eq!(
        errors,
        [
            "response incomplete when the flow ended (FIN)",
            "no response before the flow ended (FIN)"
        ]
    );
    assert_eq!(get(&out[0].response, "columns"), &json!(["1"]));
}

#[test]
fn a_greeting_without_login_and_a_refusal_are_reported() {
    let out = run(&[(Direction::ToClient, greeting("8.0.36", 0))]);
    assert_eq!(
        out[0].error.as_deref(),
        Some("no login before the flow ended (FIN)")
    );
    let out = run(&[(
        Direction::ToClient,
        err(0, 1040, "08004", "Too many connections"),
    )]);
    assert_eq!(
        (get(&out[0].response, "status"), out[0].error.clone()),
        (&json!(1040), None)
    );
}

#[test]
fn after_a_server_gap_waiting_commands_are_given_up_and_reading_resumes() {
    let mut parser = MysqlDissector.parser(&ParserSettings::default());
    let mut out = Vec::new();
    parser.feed(
        Direction::ToServer,
        &command(3, b"SELECT 1"),
        META,
        &mut out,
    );
    parser.feed(Direction::ToClient, &packet(1, &[1])[..3], META, &mut out);
    parser.gap(Direction::ToClient, &mut out);
    assert_eq!(
        out[0].error.as_deref(),
        Some("response lost in a capture gap")
    );
    parser.feed(Direction::ToServer, &command(0x0E, b""), META, &mut out);
    parser.feed(
        Direction::ToClient,
        &[b"junk".to_vec(), ok(1, 0)].concat(),
        META,
        &mut out,
    );
    parser.close("FIN", &mut out);
    assert_eq!(out.len(), 2);
    assert_eq!(
        (
            get(&out[1].request, "command"),
            get(&out[1].response, "status"),
            &out[1].error
        ),
        (&json!("COM_PING"), &json!(0), &None)
    );
}

#[test]
fn a_huge_row_costs_its_kept_prefix_only() {
    let big = "y".repeat(200_000);
    let mut rows = packet(1, &[1]);
    rows.extend(column(2, "blob"));
    rows.extend(eof(3));
    let mut value = vec![0xFD];
    value.extend_from_slice(&(big.len() as u32).to_le_bytes()[..3]);
    value.extend_from_slice(big.as_bytes());
    rows.extend(packet(4, &value));
    rows.extend(eof(5));
    let out = run_in_pieces(
        &[
            (Direction::ToServer, command(3, b"SELECT blob")),
            (Direction::ToClient, rows.clone()),
        ],
        4096,
    );
    assert_eq!(get(&out[0].response, "rows"), 1);
    assert_eq!(get(&out[0].response, "size"), rows.len() as u64);
}

#[test]
fn probes_know_a_greeting_a_login_and_a_query() {
    let d = MysqlDissector;
    assert_eq!(
        d.probe(&greeting("8.0.36", 0xFFFF), Direction::ToClient),
        Confidence::Yes
    );
    assert_eq!(
        d.probe(&login(0, "app", None), Direction::ToServer),
        Confidence::Maybe
    );
    assert_eq!(
        d.probe(&command(3, b"SELECT 1"), Direction::ToServer),
        Confidence::Maybe
    );
    assert_eq!(
        d.probe(&command(3, b"SELECT 1")[..6], Direction::ToServer),
        Confidence::NeedMore
    );
    // A length-prefixed binary message is not taken for a command.
    assert_eq!(
        d.probe(&[2, 0, 0, 0, 0x0E, 0x01], Direction::ToServer),
        Confidence::No
    );
    assert_eq!(
        d.probe(&command(3, &[0x01, 0x02]), Direction::ToServer),
        Confidence::No
    );
    assert_eq!(
        d.probe(b"GET / HTTP/1.1\r\n\r\n", Direction::ToServer),
        Confidence::No
    );
    assert_eq!(
        d.probe(b"*1\r\n$4\r\nPING\r\n", Direction::ToServer),
        Confidence::No
    );
    assert_eq!(
        d.probe(b"HTTP/1.1 200 OK\r\n", Direction::ToClient),
        Confidence::No
    );
}
