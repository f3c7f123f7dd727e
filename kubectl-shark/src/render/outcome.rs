//! The STATUS cell: an exchange's outcome as each protocol's users read it (`200`, `OK`,
//! `ERR wrong number of arguments`, `ERROR 42P01`, `ERROR 1064 (42000)`, `NXDOMAIN`, `NOT_FOUND: no such key`,
//! `CommandNotFound 59`), where
//! the entry keeps the numbers filters and JSON use.

use shark_store::{Entry, grpc_status_name};

use super::text::{shorten, text};
use super::units::{bytes, duration_ms};

/// The longest outcome text (an error message) before it is cut with an ellipsis.
const MAX_OUTCOME: usize = 48;

/// The STATUS cell of `entry`: its outcome, and the error that cut the exchange short if any.
pub fn status_cell(entry: &Entry) -> String {
    let outcome = shorten(&outcome(entry), MAX_OUTCOME);
    match &entry.error {
        Some(error) if outcome.is_empty() => format!("error: {error}"),
        Some(error) => format!("{outcome} (error: {error})"),
        None => outcome,
    }
}

/// A connection record's outcome: how it ended, the bytes each way, the handshake RTT and
/// what was found on it (`FIN 1.2 KiB↑ 30.0 KiB↓ rtt 0.2ms http`).
fn connection(entry: &Entry, state: &str) -> String {
    let size = |m: &shark_store::Message| m.get("size").and_then(|s| s.as_u64()).unwrap_or(0);
    let mut cell = format!(
        "{} {}↑ {}↓",
        state.to_uppercase(),
        bytes(size(&entry.request)),
        bytes(size(&entry.response))
    );
    if let Some(rtt) = entry.response.get("rtt").and_then(|r| r.as_f64()) {
        cell.push_str(&format!(" rtt {}", duration_ms(rtt)));
    }
    let l7 = text(entry.response.get("l7"));
    if !l7.is_empty() {
        cell.push(' ');
        cell.push_str(&l7);
    }
    cell
}

/// The response's outcome by its protocol, or "" when there was no response.
fn outcome(entry: &Entry) -> String {
    let response = &entry.response;
    if entry.protocol.name == "icmp" {
        // ICMP: what answered (`echo-reply`, `time-exceeded`).
        return text(response.get("type"));
    }
    if let Some(state) = response
        .get("state")
        .filter(|_| matches!(entry.protocol.name.as_str(), "tcp" | "udp"))
    {
        return connection(entry, &text(Some(state)));
    }
    let Some(status) = response.get("status").filter(|s| !s.is_null()) else {
        return text(response.get("statusText"));
    };
    let detail = text(response.get("statusText"));
    let failed = status.as_i64().is_some_and(|code| code != 0);
    match entry.protocol.name.as_str() {
        "http" => text(Some(status)),
        // GraphQL: the HTTP status, and the first of the response's `errors`.
        "gql" => match response
            .get("graphql")
            .and_then(|g| g.get("errors"))
            .and_then(|e| e.get(0))
        {
            Some(error) => format!("{} {}", text(Some(status)), text(Some(error))),
            None => text(Some(status)),
        },
        "grpc" => {
            let name = status
                .as_u64()
                .and_then(|c| u32::try_from(c).ok())
                .map_or("UNKNOWN_CODE", grpc_status_name);
            if detail.is_empty() || detail == name {
                name.to_string()
            } else {
                format!("{name}: {detail}")
            }
        }
        // Redis: an error reply's text starts with its kind (`ERR …`, `WRONGTYPE …`).
        "redis" if failed => {
            if detail.is_empty() {
                "ERR".to_string()
            } else {
                detail
            }
        }
        "redis" => "OK".to_string(),
        // PostgreSQL: the SQLSTATE of an ErrorResponse, else the command tag (`SELECT 3`).
        "postgres" if failed => format!("ERROR {}", text(response.get("code")))
            .trim_end()
            .to_string(),
        "postgres" | "kafka" if !failed && detail.is_empty() => "OK".to_string(),
        // MySQL: the error number and SQLSTATE of an ERR, else the rows a result set gave.
        "mysql" if failed => format!(
            "ERROR {} ({})",
            text(Some(status)),
            text(response.get("code"))
        )
        .replace(" ()", ""),
        "mysql" => match response.get("rows").and_then(serde_json::Value::as_u64) {
            Some(rows) => format!("OK, {rows} rows"),
            None => "OK".to_string(),
        },
        "kafka" => format!("ERROR {}", text(Some(status))),
        // AMQP: the reply code and text of the close that answered the method.
        "amqp" if failed => format!("{} {detail}", text(Some(status)))
            .trim_end()
            .to_string(),
        "amqp" => "OK".to_string(),
        // MongoDB: the code's name and number (`DuplicateKey 11000`), else the documents returned.
        "mongo" if failed => format!("{} {}", text(response.get("codeName")), text(Some(status)))
            .trim_start()
            .to_string(),
        "mongo" => match response
            .get("documents")
            .and_then(serde_json::Value::as_u64)
        {
            Some(documents) => format!("OK, {documents} documents"),
            None => "OK".to_string(),
        },
        _ if detail.is_empty() => text(Some(status)),
        // DNS and the rest: the name of the code (`NXDOMAIN`), which the entry carries as text.
        _ => detail,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn entry(protocol: &str, response: Value) -> Entry {
        let mut entry = Entry::default();
        entry.protocol.name = protocol.into();
        entry.response = response.as_object().cloned().unwrap_or_default();
        entry
    }

    #[test]
    fn each_protocol_says_its_outcome_in_words() {
        let cases = [
            (
                "http",
                json!({"status": 404, "statusText": "Not Found"}),
                "404",
            ),
            (
                "redis",
                json!({"status": 0, "type": "simple", "body": "OK"}),
                "OK",
            ),
            (
                "redis",
                json!({"status": 0, "type": "bulk", "body": "42"}),
                "OK",
            ),
            (
                "redis",
                json!({"status": 1, "statusText": "ERR unknown command 'FOO'"}),
                "ERR unknown command 'FOO'",
            ),
            (
                "postgres",
                json!({"status": 1, "code": "42P01", "error": "relation \"x\" does not exist"}),
                "ERROR 42P01",
            ),
            (
                "postgres",
                json!({"status": 0, "statusText": "SELECT 1"}),
                "SELECT 1",
            ),
            (
                "postgres",
                json!({"status": 0, "statusText": "refused"}),
                "refused",
            ),
            (
                "dns",
                json!({"status": 0, "statusText": "NOERROR"}),
                "NOERROR",
            ),
            (
                "dns",
                json!({"status": 3, "statusText": "NXDOMAIN"}),
                "NXDOMAIN",
            ),
            ("grpc", json!({"status": 0, "statusText": "OK"}), "OK"),
            (
                "grpc",
                json!({"status": 5, "statusText": "no such key"}),
                "NOT_FOUND: no such key",
            ),
            (
                "grpc",
                json!({"status": 5, "statusText": "NOT_FOUND"}),
                "NOT_FOUND",
            ),
            ("kafka", json!({"status": 0}), "OK"),
            ("kafka", json!({"status": 3}), "ERROR 3"),
            ("amqp", json!({"status": 0}), "OK"),
            ("gql", json!({"status": 200}), "200"),
            (
                "gql",
                json!({"status": 200, "graphql": {"errors": ["no book 99"]}}),
                "200 no book 99",
            ),
            (
                "amqp",
                json!({"status": 404, "statusText": "NOT_FOUND - no queue 'q'"}),
                "404 NOT_FOUND - no queue 'q'",
            ),
            ("tls", json!({"version": "TLS 1.3"}), ""),
            (
                "mysql",
                json!({"status": 1064, "code": "42000", "error": "You have an error"}),
                "ERROR 1064 (42000)",
            ),
            ("mysql", json!({"status": 0, "rows": 3}), "OK, 3 rows"),
            ("mysql", json!({"status": 0, "affectedRows": 2}), "OK"),
            (
                "mongo",
                json!({"status": 59, "code": "59", "codeName": "CommandNotFound"}),
                "CommandNotFound 59",
            ),
            ("mongo", json!({"status": 11000, "code": "11000"}), "11000"),
            (
                "mongo",
                json!({"status": 0, "documents": 2}),
                "OK, 2 documents",
            ),
            (
                "icmp",
                json!({"type": "echo-reply", "size": 64}),
                "echo-reply",
            ),
        ];
        for (protocol, response, want) in cases {
            assert_eq!(
                status_cell(&entry(protocol, response.clone())),
                want,
                "{protocol} {response}"
            );
        }
    }

    #[test]
    fn a_connection_record_says_how_it_ended_its_bytes_rtt_and_protocol() {
        let record = entry(
            "tcp",
            json!({"size": 30720, "packets": 25, "state": "fin", "rtt": 0.2, "l7": ["http"]}),
        );
        let mut record = record;
        record.request.insert("size".into(), 1229.into());
        assert_eq!(
            status_cell(&record),
            "FIN 1.2 KiB↑ 30.0 KiB↓ rtt 200µs http"
        );
        let bare = entry("udp", json!({"size": 99, "state": "timeout"}));
        assert_eq!(status_cell(&bare), "TIMEOUT 0 B↑ 99 B↓");
    }

    #[test]
    fn a_cut_short_exchange_says_why() {
        let mut unanswered = entry("http", json!({}));
        unanswered.error = Some("no response".into());
        assert_eq!(status_cell(&unanswered), "error: no response");
        let mut reset = entry("redis", json!({"status": 0}));
        reset.error = Some("reset".into());
        assert_eq!(status_cell(&reset), "OK (error: reset)");
    }

    #[test]
    fn long_error_messages_are_cut() {
        let long = format!("ERR {}", "x".repeat(200));
        let cell = status_cell(&entry("redis", json!({"status": 1, "statusText": long})));
        assert_eq!(cell.chars().count(), MAX_OUTCOME);
        assert!(cell.ends_with('…'));
    }
}
