//! The KFL schema of an [`Entry`](crate::Entry): every field a filter may name, with its type.

use kfl::{FieldType, Schema};

fn text() -> FieldType {
    FieldType::Str
}

fn int() -> FieldType {
    FieldType::Int
}

fn texts() -> FieldType {
    FieldType::List(Box::new(FieldType::Str))
}

fn ints() -> FieldType {
    FieldType::List(Box::new(FieldType::Int))
}

fn headers() -> FieldType {
    FieldType::Map {
        value: Box::new(FieldType::Str),
        case_insensitive: true,
    }
}

/// HTTP cookies by name, read from the `Cookie` (request) or `Set-Cookie` (response) header.
fn cookies() -> FieldType {
    FieldType::Map {
        value: Box::new(FieldType::Str),
        case_insensitive: false,
    }
}

fn endpoint() -> FieldType {
    FieldType::Struct(vec![
        ("ip", text()),
        ("port", int()),
        ("name", text()),
        ("namespace", text()),
        ("kind", text()),
        ("pod", text()),
        ("service", text()),
        ("workload", text()),
        ("node", text()),
        (
            "labels",
            FieldType::Map {
                value: Box::new(FieldType::Str),
                case_insensitive: false,
            },
        ),
    ])
}

/// Request fields of every protocol (see the dissectors' field table). `query` is both HTTP's query
/// map and Postgres' SQL text, so it is dynamically typed.
fn request() -> FieldType {
    FieldType::Struct(vec![
        // HTTP, gRPC
        ("method", text()),
        ("path", text()),
        ("url", text()),
        ("host", text()),
        ("query", FieldType::Any),
        ("headers", headers()),
        ("cookies", cookies()),
        ("body", text()),
        ("bodyTruncated", FieldType::Bool),
        ("bodyEncoding", text()),
        ("bodyDecodeError", text()),
        // The whole message on the wire, every protocol (HTTP: start line, headers and body;
        // HTTP/2: its HEADERS, CONTINUATION and DATA frames); HTTP's body alone is `bodySize`.
        ("size", int()),
        ("bodySize", int()),
        // gRPC: the RPC's service and method (`request.method` stays the HTTP method, POST)
        ("service", text()),
        ("grpcMethod", text()),
        ("messages", FieldType::Any),
        ("messageSizes", ints()),
        // DNS
        ("id", int()),
        ("questions", texts()),
        ("qtype", text()),
        // Redis
        ("command", text()),
        ("key", text()),
        ("args", texts()),
        // Postgres (`query` above), also Redis-free `type`
        ("type", text()),
        ("statement", text()),
        // Kafka
        ("apiKey", int()),
        ("apiName", text()),
        ("apiVersion", int()),
        ("correlationId", int()),
        ("clientId", text()),
        ("topic", text()),
        ("topics", texts()),
        // TLS
        ("sni", text()),
        ("alpn", texts()),
        ("versions", texts()),
        ("ciphers", int()),
        // TCP, UDP
        ("packets", int()),
        // MySQL (`command`, `query` above)
        ("user", text()),
        ("database", text()),
        ("tls", FieldType::Bool),
        ("statementId", int()),
        // ICMP (`type`, `id` above): an echo's sequence number; an error's code, the host that
        // sent it and the flow it reports
        ("seq", int()),
        ("code", int()),
        ("from", text()),
        ("reported", text()),
        // AMQP (also `method`, `type`, `body`, `size`, `bodySize` above)
        ("channel", int()),
        ("exchange", text()),
        ("routingKey", text()),
        ("queue", text()),
        ("consumerTag", text()),
        ("deliveryTag", int()),
        ("redelivered", FieldType::Bool),
        ("multiple", FieldType::Bool),
        ("requeue", FieldType::Bool),
        ("source", text()),
        ("vhost", text()),
        ("replyCode", int()),
        ("replyText", text()),
        ("properties", FieldType::Any),
        ("product", text()),
        ("mechanism", text()),
        ("version", text()),
        // WebSocket (also `body`, `bodyEncoding`, `bodyDecodeError`, `bodySize`, `size`)
        ("opcode", text()),
        ("frames", int()),
        ("compressed", FieldType::Bool),
        ("closeCode", int()),
        ("closeReason", text()),
        // MongoDB (also `opcode`, `command`, `database`, `body`, `size` above)
        ("collection", text()),
        ("requestId", int()),
        ("compressor", text()),
        // GraphQL over HTTP (`gql`): the operation a request carries
        (
            "graphql",
            FieldType::Struct(vec![
                ("operationType", text()),
                ("operationName", text()),
                ("query", text()),
                ("variables", FieldType::Any),
            ]),
        ),
    ])
}

/// Response fields of every protocol.
fn response() -> FieldType {
    FieldType::Struct(vec![
        ("status", int()),
        ("statusText", text()),
        ("headers", headers()),
        ("cookies", cookies()),
        ("body", text()),
        ("bodyTruncated", FieldType::Bool),
        ("bodyEncoding", text()),
        ("bodyDecodeError", text()),
        ("size", int()),
        ("bodySize", int()),
        ("messages", FieldType::Any),
        ("messageSizes", ints()),
        // HTTP/2 and gRPC: trailing headers; gRPC: the HTTP status beside the gRPC one in `status`
        ("trailers", headers()),
        ("httpStatus", int()),
        // DNS
        ("answers", texts()),
        // Redis
        ("type", text()),
        // Postgres
        ("rows", int()),
        ("error", text()),
        ("code", text()),
        // TLS
        ("version", text()),
        ("cipher", text()),
        ("alpn", text()),
        // TCP, UDP connection records (`size` above): how it ended (`fin`, `rst`, `timeout`,
        // `evicted`, `open`), the handshake RTT in ms, the protocols found on it
        ("packets", int()),
        ("state", text()),
        ("rtt", FieldType::Float),
        ("l7", texts()),
        // MySQL (`rows`, `error`, `code`, `version` above)
        ("columns", texts()),
        ("affectedRows", int()),
        // ICMP (`type` above): the host that sent an error answering an echo request
        ("from", text()),
        // AMQP: the reply method and what it says (a get-ok's message: `body`, `properties`, …)
        ("method", text()),
        ("channel", int()),
        ("exchange", text()),
        ("routingKey", text()),
        ("queue", text()),
        ("consumerTag", text()),
        ("deliveryTag", int()),
        ("redelivered", FieldType::Bool),
        ("messageCount", int()),
        ("consumerCount", int()),
        ("properties", FieldType::Any),
        ("product", text()),
        ("mechanism", text()),
        // WebSocket (also `body`, `bodyEncoding`, `bodyDecodeError`, `bodySize`, `size`)
        ("opcode", text()),
        ("frames", int()),
        ("compressed", FieldType::Bool),
        ("closeCode", int()),
        ("closeReason", text()),
        // MongoDB (also `opcode`, `compressor`, `code` (text), `status` (the code as a number))
        ("ok", int()),
        ("errmsg", text()),
        ("codeName", text()),
        ("documents", int()),
        ("compressor", text()),
        // GraphQL over HTTP (`gql`): the messages of the response's `errors`
        ("graphql", FieldType::Struct(vec![("errors", texts())])),
    ])
}

/// The schema filters over [`Entry`](crate::Entry) are checked against (the field names `kubectl shark fields` lists),
/// with the KFL2 and legacy names of its fields (see `kfl2.rs`).
pub fn entry_schema() -> Schema {
    Schema {
        aliases: crate::kfl2::aliases(),
        undissected: crate::kfl2::undissected(),
        root: FieldType::Struct(vec![
            ("id", int()),
            // The cluster an entry was captured in: `kubectl-shark` answers it from the cluster
            // it asked (a store itself holds one cluster and leaves it nil).
            ("cluster", text()),
            ("timestamp", FieldType::Time),
            ("elapsedTime", FieldType::Float),
            (
                "node",
                FieldType::Struct(vec![("name", text()), ("ip", text())]),
            ),
            ("src", endpoint()),
            ("dst", endpoint()),
            (
                "protocol",
                FieldType::Struct(vec![("name", text()), ("version", text())]),
            ),
            ("request", request()),
            ("response", response()),
            ("error", text()),
            ("stream", int()),
            (
                "packets",
                FieldType::Struct(vec![("first", int()), ("last", int())]),
            ),
        ]),
    }
}
