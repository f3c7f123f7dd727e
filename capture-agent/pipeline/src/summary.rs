//! One line per entry with the key fields of its protocol: what the fixture tests compare with
//! tshark, and a compact way to eyeball what a capture holds.

use serde_json::Value;
use shark_store::{Entry, Message};

/// The entry's protocol and key fields on one line, then `error: …` if it failed.
///
/// `http/1.1 GET /path 200`, `grpc/2 pkg.Service/Method 0`, `dns example.com A NOERROR`,
/// `redis GET key 0`, `postgres SELECT 1 0`, `mysql COM_QUERY SELECT 1 0`,
/// `icmp/4 echo-request 3 echo-reply`, `kafka Produce 7`, `tls example.com TLSv1.3`,
/// `amqp basic.publish orders/new - -`, `ws text 23 -`, `mongo find shop.users 0 2`,
/// `tcp 10.0.0.1:40000 -> 10.0.0.2:80 120B/3p 560B/2p fin rtt 0.21 http` (a connection
/// record: state, handshake RTT in ms, protocols found). Missing fields print as `-`.
pub fn summary_line(entry: &Entry) -> String {
    let req = &entry.request;
    let resp = &entry.response;
    let mut line = match entry.protocol.name.as_str() {
        "http" => format!(
            "http/{} {} {} {}",
            entry.protocol.version,
            text(req, "method"),
            text(req, "path"),
            text(resp, "status")
        ),
        "gql" => {
            let graphql = req.get("graphql").and_then(Value::as_object);
            let op = |k: &str| graphql.map_or_else(|| "-".to_string(), |g| text(g, k));
            format!(
                "gql/{} {} {} {}",
                entry.protocol.version,
                op("operationType"),
                op("operationName"),
                text(resp, "status")
            )
        }
        "grpc" => format!(
            "grpc/{} {}/{} {}",
            entry.protocol.version,
            text(req, "service"),
            text(req, "grpcMethod"),
            text(resp, "status")
        ),
        "dns" => format!(
            "dns {} {} {}",
            text(req, "questions"),
            text(req, "qtype"),
            text(resp, "statusText")
        ),
        "redis" => format!(
            "redis {} {} {}",
            text(req, "command"),
            text(req, "key"),
            text(resp, "status")
        ),
        "postgres" => format!("postgres {} {}", text(req, "query"), text(resp, "status")),
        "mysql" => format!(
            "mysql {} {} {}",
            text(req, "command"),
            text(req, "query"),
            text(resp, "status")
        ),
        "icmp" => format!(
            "icmp/{} {} {} {}",
            entry.protocol.version,
            text(req, "type"),
            text(req, "seq"),
            text(resp, "type")
        ),
        "kafka" => format!(
            "kafka {} {}",
            text(req, "apiName"),
            text(req, "correlationId")
        ),
        "tls" => format!("tls {} {}", text(req, "sni"), text(resp, "version")),
        "ws" => {
            let side = if req.is_empty() { resp } else { req };
            format!(
                "ws {} {} {}",
                text(side, "opcode"),
                text(side, "bodySize"),
                text(side, "closeCode")
            )
        }
        "amqp" => format!(
            "amqp {} {}/{} {} {}",
            text(req, "method"),
            text(req, "exchange"),
            text(req, "routingKey"),
            text(resp, "method"),
            text(resp, "status")
        ),
        "mongo" => format!(
            "mongo {} {}.{} {} {}",
            text(req, "command"),
            text(req, "database"),
            text(req, "collection"),
            text(resp, "status"),
            text(resp, "documents")
        ),
        name => {
            let mut line = format!(
                "{name} {}:{} -> {}:{} {}B/{}p {}B/{}p",
                entry.src.ip,
                entry.src.port,
                entry.dst.ip,
                entry.dst.port,
                text(req, "size"),
                text(req, "packets"),
                text(resp, "size"),
                text(resp, "packets"),
            );
            // A connection record (`tcp`, `udp`): how it ended, its handshake, what it carried.
            if resp.contains_key("state") {
                line.push_str(&format!(
                    " {} rtt {} {}",
                    text(resp, "state"),
                    text(resp, "rtt"),
                    text(resp, "l7")
                ));
            }
            line
        }
    };
    if let Some(error) = &entry.error {
        line.push_str(" error: ");
        line.push_str(&one_line(error));
    }
    line
}

/// A field as text: strings as they are, lists joined by commas, absent or empty as `-`.
fn text(message: &Message, key: &str) -> String {
    let rendered = match message.get(key) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => one_line(s),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => one_line(s),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(","),
        Some(other) => other.to_string(),
    };
    if rendered.is_empty() {
        "-".to_string()
    } else {
        rendered
    }
}

/// Escapes line breaks so a field never splits the summary line.
fn one_line(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
}
