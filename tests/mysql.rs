//! MySQL end to end: real MariaDB traffic captured by `tests/protocols/mysql.sh` (a server and
//! real clients in network namespaces), imported, and every entry compared with tshark's `mysql.*`
//! dissection of the same capture: commands, SQL, logins, errors, affected rows, columns, and the
//! bytes each way.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::Command;

use crate::fields::assert_every_field_listed;
use crate::util::{import, query_json, run_ok, text, tshark, workspace};

/// tshark's fields per frame, by name.
type Frames = BTreeMap<u64, HashMap<&'static str, String>>;

/// The tshark fields the comparison reads.
const FIELDS: [&str; 14] = [
    "tcp.stream",
    "mysql.command",
    "mysql.query",
    "mysql.version",
    "mysql.user",
    "mysql.schema",
    "mysql.caps.sl",
    "mysql.error_code",
    "mysql.sqlstate",
    "mysql.error.message",
    "mysql.affected_rows",
    "mysql.num_fields",
    "mysql.field.name",
    "mysql.stmt_id",
];

/// Every frame tshark dissects as MySQL, with [`FIELDS`].
fn tshark_frames(capture: &Path) -> Frames {
    let mut args = vec![
        "-r",
        capture.to_str().expect("utf-8"),
        "-Y",
        "mysql",
        "-T",
        "fields",
    ];
    args.extend(["-E", "separator=\t", "-e", "frame.number"]);
    for field in FIELDS {
        args.extend(["-e", field]);
    }
    tshark(&args)
        .into_iter()
        .filter_map(|row| {
            let frame = row.first()?.parse().ok()?;
            let fields = FIELDS
                .iter()
                .zip(row.iter().skip(1))
                .filter(|(_, value)| !value.is_empty())
                .map(|(name, value)| (*name, value.clone()))
                .collect();
            Some((frame, fields))
        })
        .collect()
}

/// The command names entries use, by tshark's command number.
fn command_name(number: &str) -> &'static str {
    match number {
        "1" => "COM_QUIT",
        "2" => "COM_INIT_DB",
        "3" => "COM_QUERY",
        "22" => "COM_STMT_PREPARE",
        "23" => "COM_STMT_EXECUTE",
        "25" => "COM_STMT_CLOSE",
        "26" => "COM_STMT_RESET",
        other => panic!("the capture has a command this test does not name: {other}"),
    }
}

/// A tshark boolean (4.0 prints `1`, later versions `True`).
fn is_set(value: Option<&String>) -> bool {
    value.is_some_and(|v| v == "1" || v == "True")
}

/// A field of an entry's JSON as text, "" when absent; numbers and booleans as JSON prints them.
fn field(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Captures the traffic of `tests/protocols/mysql.sh` into `dir`.
fn capture(dir: &Path) -> std::path::PathBuf {
    let capture = dir.join("mysql.pcap");
    run_ok(
        Command::new("bash")
            .arg(workspace().join("tests/protocols/mysql.sh"))
            .arg(&capture)
            .env(
                "SHARK_CLUSTER",
                format!("my{}", std::process::id() % 100_000),
            ),
    );
    capture
}

#[test]
fn mariadb_entries_say_what_tshark_says() {
    let dir = tempfile::tempdir().expect("temp dir");
    let capture = capture(dir.path());
    let store = dir.path().join("store");
    import(&store, &capture, "node-a");
    let entries = query_json(&store, &["mysql"]);
    let frames = tshark_frames(&capture);

    // One entry per request tshark finds: every command, and one login per connection.
    let requests = frames
        .values()
        .filter(|f| {
            f.contains_key("mysql.command")
                || f.contains_key("mysql.user")
                || is_set(f.get("mysql.caps.sl")) && !f.contains_key("mysql.version")
        })
        .count();
    assert_eq!(entries.len(), requests, "entries: {entries:#?}");
    assert!(entries.len() >= 30, "the capture holds the whole script");

    for entry in &entries {
        let first = entry["packets"]["first"].as_u64().expect("first packet");
        let last = entry["packets"]["last"].as_u64().expect("last packet");
        let req = &entry["request"];
        let resp = &entry["response"];
        let at = |frame: u64| {
            frames
                .get(&frame)
                .unwrap_or_else(|| panic!("tshark has no MySQL in frame {frame}: {entry}"))
        };
        let context = format!("{entry}");
        assert!(entry["error"].is_null(), "{context}");
        if text(&req["command"]) == "HANDSHAKE" {
            // The greeting, then the login (or SSL request) in the same stream.
            let greeting = at(first);
            assert_eq!(
                greeting.get("mysql.version").map(String::as_str),
                Some(text(&resp["version"]).as_str()),
                "{context}"
            );
            let stream = greeting.get("tcp.stream");
            let (_, login) = frames
                .range(first + 1..)
                .find(|(_, f)| f.get("tcp.stream") == stream && f.contains_key("mysql.caps.sl"))
                .expect("a login after the greeting");
            assert_eq!(
                field(&req["user"]),
                login.get("mysql.user").cloned().unwrap_or_default(),
                "{context}"
            );
            assert_eq!(
                field(&req["database"]),
                login.get("mysql.schema").cloned().unwrap_or_default(),
                "{context}"
            );
            assert_eq!(
                req["tls"].as_bool(),
                Some(is_set(login.get("mysql.caps.sl"))),
                "{context}"
            );
        } else {
            let command = at(first);
            let number = command.get("mysql.command").expect("a command");
            assert_eq!(text(&req["command"]), command_name(number), "{context}");
            if let Some(query) = command.get("mysql.query") {
                assert_eq!(&text(&req["query"]), query, "{context}");
            }
            if let Some(id) = command.get("mysql.stmt_id") {
                assert_eq!(&field(&req["statementId"]), id, "{context}");
            }
        }
        if resp.as_object().is_none_or(|r| r.is_empty()) {
            // Commands the server does not answer: tshark sees no reply either.
            assert!(
                matches!(
                    text(&req["command"]).as_str(),
                    "COM_QUIT" | "COM_STMT_CLOSE"
                ),
                "{context}"
            );
            continue;
        }
        if req["tls"].as_bool() == Some(true) {
            continue; // The SSL request: the greeting is all the reply.
        }
        let reply = at(last);
        let want = |name: &str| reply.get(name).cloned().unwrap_or_default();
        assert_eq!(
            field(&resp["status"]),
            reply
                .get("mysql.error_code")
                .cloned()
                .unwrap_or_else(|| "0".into()),
            "{context}"
        );
        assert_eq!(field(&resp["code"]), want("mysql.sqlstate"), "{context}");
        assert_eq!(
            field(&resp["error"]),
            want("mysql.error.message"),
            "{context}"
        );
        // (A login's OK says 0 rows changed; its entry does not repeat it.)
        if reply.contains_key("mysql.affected_rows") && text(&req["command"]) != "HANDSHAKE" {
            assert_eq!(
                field(&resp["affectedRows"]),
                want("mysql.affected_rows"),
                "{context}"
            );
        }
        if let Some(count) = reply.get("mysql.num_fields") {
            let names = want("mysql.field.name");
            let names: Vec<&str> = names.split(',').filter(|n| !n.is_empty()).collect();
            let columns: Vec<String> = resp["columns"]
                .as_array()
                .map(|c| c.iter().map(text).collect())
                .unwrap_or_default();
            assert_eq!(columns.len().to_string(), *count, "{context}");
            // A prepare's reply lists its parameters first; an execute's may carry no
            // definitions (MariaDB's cached metadata), named from the prepare instead.
            if !names.is_empty() {
                assert_eq!(columns, names[names.len() - columns.len()..], "{context}");
            }
        }
    }

    // The data is known: rows each result set gave.
    let rows = |command: &str, query: &str| -> Vec<u64> {
        entries
            .iter()
            .filter(|e| {
                text(&e["request"]["command"]) == command && text(&e["request"]["query"]) == query
            })
            .map(|e| e["response"]["rows"].as_u64().expect("rows"))
            .collect()
    };
    assert_eq!(
        rows("COM_QUERY", "SELECT id, item, qty FROM orders ORDER BY id"),
        [3]
    );
    assert_eq!(
        rows("COM_QUERY", "SELECT item FROM orders WHERE qty > 100"),
        [0]
    );
    assert_eq!(
        rows(
            "COM_STMT_EXECUTE",
            "SELECT item, qty FROM orders WHERE id >= ?"
        ),
        [2, 1]
    );

    // The bytes each way: the connections not encrypted add up to tshark's TCP payload.
    let plain: Vec<&serde_json::Value> = entries
        .iter()
        .filter(|e| e["request"]["tls"].as_bool() != Some(true))
        .collect();
    let ports: Vec<String> = plain.iter().map(|e| e["src"]["port"].to_string()).collect();
    let mut payload = [0u64; 2];
    for row in tshark(&[
        "-r",
        capture.to_str().expect("utf-8"),
        "-Y",
        "tcp.len > 0",
        "-T",
        "fields",
        "-e",
        "tcp.srcport",
        "-e",
        "tcp.dstport",
        "-e",
        "tcp.len",
    ]) {
        let [src, dst, len] = &row[..] else { continue };
        let len: u64 = len.parse().unwrap_or(0);
        if ports.contains(src) {
            payload[0] += len;
        } else if ports.contains(dst) {
            payload[1] += len;
        }
    }
    let sum = |side: &str| -> u64 {
        plain
            .iter()
            .map(|e| e[side]["size"].as_u64().unwrap_or(0))
            .sum()
    };
    assert_eq!(
        [sum("request"), sum("response")],
        payload,
        "bytes to the server, to the client"
    );

    // KFL2's names read the same entries.
    let duplicate = query_json(&store, &["mysql_error_code == 1062"]);
    assert_eq!(duplicate.len(), 1);
    assert_eq!(
        text(&duplicate[0]["request"]["command"]),
        "COM_STMT_EXECUTE"
    );
    // The failed execute, and the close the server never answers (no status: no success).
    let statements = query_json(&store, &["mysql_statement_id == 2 && !mysql_success"]);
    assert_eq!(statements.len(), 2);
    assert_eq!(
        query_json(&store, &[r#"mysql_database == "shop""#]).len(),
        4,
        "three logins and a COM_INIT_DB"
    );

    // Every field the entries carry is one `kubectl shark fields` lists.
    assert_every_field_listed(&entries);
}
