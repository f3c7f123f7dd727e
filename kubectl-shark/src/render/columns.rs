//! The protocol-neutral summary of an entry shown in table columns.

use shark_store::{Endpoint, Entry};

use super::outcome::status_cell;
use super::text::{shorten, text};

/// Text for the METHOD, PATH and STATUS columns: what each protocol calls its verb, object and outcome.
pub struct Summary {
    /// HTTP method, gRPC method, DNS qtype, Redis command, Kafka API, …
    pub method: String,
    /// HTTP path, DNS question, Redis key, SQL text, Kafka topic, TLS SNI, …
    pub path: String,
    /// The outcome in words ([`status_cell`]), and the error when the exchange failed.
    pub status: String,
}

/// The longest PATH cell before it is cut with an ellipsis.
const MAX_PATH: usize = 80;

impl Summary {
    /// Summarises `entry` for its protocol.
    pub fn of(entry: &Entry) -> Self {
        let req = |k: &str| text(entry.request.get(k));
        let (method, path) = match entry.protocol.name.as_str() {
            "http" => (
                req("method"),
                request_target(&req("url")).unwrap_or_else(|| req("path")),
            ),
            // The RPC (stores written before `grpcMethod` existed held it in `method`).
            "grpc" => (
                Some(req("grpcMethod"))
                    .filter(|rpc| !rpc.is_empty())
                    .unwrap_or_else(|| req("method")),
                req("path"),
            ),
            "gql" => graphql_operation(entry),
            "dns" => (req("qtype"), req("questions")),
            "redis" => (req("command"), req("key")),
            "postgres" => (req("type"), postgres_sql(entry)),
            "kafka" => (req("apiName"), req("topic")),
            "mysql" => (req("command"), mysql_object(entry)),
            "icmp" => (req("type"), icmp_object(entry)),
            "amqp" => amqp_method_and_target(entry),
            "mongo" => (req("command"), mongo_namespace(entry)),
            "ws" => websocket_message(entry),
            "tls" => (String::from("handshake"), req("sni")),
            _ => (String::new(), transfer(entry)),
        };
        Summary {
            method,
            path: shorten(&path, MAX_PATH),
            status: status_cell(entry),
        }
    }
}

/// The PATH of a `tcp`/`udp` entry: a connection record's packets each way (its STATUS has the
/// bytes); the bytes each way for an entry of a store written before connection records.
fn transfer(entry: &Entry) -> String {
    let (request, response) = (&entry.request, &entry.response);
    if request.contains_key("packets") {
        format!(
            "{} pkts →, {} pkts ←",
            text(request.get("packets")),
            text(response.get("packets"))
        )
    } else {
        format!(
            "{} B →, {} B ←",
            text(request.get("size")),
            text(response.get("size"))
        )
    }
}

/// The SQL a Postgres exchange ran, else the prepared statement it named (prepared before the
/// capture began, so its SQL was never seen).
fn postgres_sql(entry: &Entry) -> String {
    let query = text(entry.request.get("query"));
    let statement = text(entry.request.get("statement"));
    if query.is_empty() && !statement.is_empty() {
        format!("(prepared statement {statement})")
    } else {
        query
    }
}

/// What a MySQL exchange is about: its SQL, else the database (a login, COM_INIT_DB) or the
/// user it logged in as.
fn mysql_object(entry: &Entry) -> String {
    ["query", "database", "user"]
        .iter()
        .map(|key| text(entry.request.get(*key)))
        .find(|value| !value.is_empty())
        .unwrap_or_default()
}

/// The namespace a MongoDB command ran on: `db.collection`, or the database alone.
fn mongo_namespace(entry: &Entry) -> String {
    let database = text(entry.request.get("database"));
    let collection = text(entry.request.get("collection"));
    if collection.is_empty() {
        database
    } else {
        format!("{database}.{collection}")
    }
}

/// What an ICMP entry is about: the flow an error reports, else the echo's identifier and
/// sequence number.
fn icmp_object(entry: &Entry) -> String {
    let reported = text(entry.request.get("reported"));
    if reported.is_empty() {
        format!(
            "id={} seq={}",
            text(entry.request.get("id")),
            text(entry.request.get("seq"))
        )
    } else {
        reported
    }
}

/// An AMQP method (the reply's, for a reply seen without its method) and what it acts on:
/// `exchange → routing key` for a message, else the queue, else the exchange.
fn amqp_method_and_target(entry: &Entry) -> (String, String) {
    let side = if entry.request.contains_key("method") {
        &entry.request
    } else {
        &entry.response
    };
    let field = |k: &str| text(side.get(k));
    let (exchange, key, queue) = (field("exchange"), field("routingKey"), field("queue"));
    let target = if !key.is_empty() {
        let exchange = if exchange.is_empty() {
            "(default)"
        } else {
            exchange.as_str()
        };
        format!("{exchange} → {key}")
    } else if !queue.is_empty() {
        queue
    } else {
        exchange
    };
    (field("method"), target)
}

/// A GraphQL operation's type and name (its query's first line when anonymous).
fn graphql_operation(entry: &Entry) -> (String, String) {
    let graphql = entry.request.get("graphql");
    let field = |k: &str| text(graphql.and_then(|g| g.get(k)));
    let name = field("operationName");
    let shown = if name.is_empty() {
        field("query")
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_string()
    } else {
        name
    };
    (field("operationType"), shown)
}

/// A WebSocket message's opcode and what it says: a close's code and reason, else its body.
fn websocket_message(entry: &Entry) -> (String, String) {
    let side = if entry.request.contains_key("opcode") {
        &entry.request
    } else {
        &entry.response
    };
    let field = |k: &str| text(side.get(k));
    let said = if side.contains_key("closeCode") {
        format!("{} {}", field("closeCode"), field("closeReason"))
    } else {
        field("body")
    };
    (field("opcode"), said)
}

/// An endpoint as people know it: its name when it has one, else `ip:port`.
pub fn endpoint(ep: &Endpoint) -> String {
    if ep.name.is_empty() {
        if ep.ip.contains(':') {
            format!("[{}]:{}", ep.ip, ep.port)
        } else {
            format!("{}:{}", ep.ip, ep.port)
        }
    } else if ep.namespace.is_empty() {
        ep.name.clone()
    } else {
        format!("{}/{}", ep.namespace, ep.name)
    }
}

/// The request target as sent on the wire (path and query), from a full URL.
fn request_target(url: &str) -> Option<String> {
    let (_, rest) = url.split_once("://")?;
    Some(
        rest.find('/')
            .map_or_else(|| "/".to_string(), |i| rest[i..].to_string()),
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn tcp(request: serde_json::Value, response: serde_json::Value) -> Entry {
        let mut entry = Entry::default();
        entry.protocol.name = "tcp".into();
        entry.request = request.as_object().cloned().unwrap_or_default();
        entry.response = response.as_object().cloned().unwrap_or_default();
        entry
    }

    #[test]
    fn a_connection_records_path_counts_packets_and_an_older_tcp_entrys_bytes() {
        let record = tcp(
            json!({"size": 73, "packets": 8}),
            json!({"size": 5073, "packets": 5, "state": "fin"}),
        );
        assert_eq!(Summary::of(&record).path, "8 pkts →, 5 pkts ←");
        let before_records = tcp(json!({"size": 73}), json!({"size": 5073}));
        assert_eq!(Summary::of(&before_records).path, "73 B →, 5073 B ←");
    }
}
