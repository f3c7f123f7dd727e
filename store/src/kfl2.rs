//! The other names an [`Entry`](crate::Entry)'s fields go by: Kubeshark's KFL2 variables
//! (`status_code`, `src.pod.name`, `dns_questions`, …) and the legacy KFL spellings this schema
//! does not use itself (`requestSize`, `response.content.text`, `protocol.abbr`), each with the
//! type and unit KFL2 documents and the expression over entry fields it stands for; and the
//! protocols whose KFL2 names are known but which are not dissected here.
//!
//! An alias is rewritten before a filter is checked, so `status_code >= 500` and
//! `response.status >= 500` are one filter: same check, same evaluation, same index plan.
//! A variable whose entry field other protocols share (sizes, `request.query`, the status) is
//! scoped to its protocol (`dns ? request.size : nil`), as KFL2 scopes protocol variables: on
//! another protocol's entry it is absent, so it matches no comparison.
//! A dissector that adds a protocol appends its names here (and removes the protocol from
//! [`undissected`]).

use kfl::{Alias, Undissected};

const fn alias(name: &'static str, target: &'static str, ty: &'static str) -> Alias {
    Alias { name, target, ty }
}

/// Every alias, in the order `kubectl shark fields` lists them.
pub fn aliases() -> Vec<Alias> {
    let mut all = Vec::new();
    all.extend(network());
    all.extend(kubernetes());
    all.extend(http());
    all.extend(others());
    all.extend(mysql_icmp());
    all.extend(amqp());
    all.extend(websocket());
    all.extend(mongodb());
    all.extend(connections());
    all.extend(legacy());
    all
}

fn network() -> [Alias; 4] {
    [
        alias("protocol", "protocol.name.upper()", "string (HTTP, DNS, …)"),
        // Request to response, as Kubeshark's examples and skills read it (its metadata table
        // says "age since timestamp"; see the README).
        alias("elapsed_time", "elapsedTime * 1000", "int µs"),
        alias("node_name", "node.name", "string"),
        alias("node_ip", "node.ip", "string"),
    ]
}

fn kubernetes() -> [Alias; 11] {
    [
        alias("src.pod.name", "src.pod", "string"),
        alias("src.pod.namespace", "src.namespace", "string"),
        alias("src.service.name", "src.service", "string"),
        alias("src.service.namespace", "src.namespace", "string"),
        alias("dst.pod.name", "dst.pod", "string"),
        alias("dst.pod.namespace", "dst.namespace", "string"),
        alias("dst.service.name", "dst.service", "string"),
        alias("dst.service.namespace", "dst.namespace", "string"),
        alias("namespaces", "[src.namespace, dst.namespace]", "[string]"),
        alias("pods", "[src.pod, dst.pod]", "[string]"),
        alias("services", "[src.service, dst.service]", "[string]"),
    ]
}

fn http() -> [Alias; 11] {
    [
        alias("method", "request.method", "string"),
        alias("url", "request.url", "string"),
        alias("path", "request.path", "string"),
        alias("http_version", "protocol.version", "string"),
        alias("status_code", "response.status", "int"),
        alias("query_string", "request.query", "map"),
        alias("request_body_size", "request.bodySize", "int bytes"),
        alias("response_body_size", "response.bodySize", "int bytes"),
        alias("grpc_method", "request.grpcMethod", "string"),
        alias("grpc_service", "request.service", "string"),
        alias("grpc_status", "grpc ? response.status : nil", "int"),
    ]
}

fn others() -> [Alias; 28] {
    [
        alias("dns_questions", "request.questions", "[string]"),
        alias("dns_answers", "response.answers", "[string]"),
        alias("dns_question_types", "[request.qtype]", "[string]"),
        alias(
            "dns_request_length",
            "dns ? request.size : nil",
            "int bytes",
        ),
        alias(
            "dns_response_length",
            "dns ? response.size : nil",
            "int bytes",
        ),
        alias(
            "dns_total_size",
            "dns ? request.size + response.size : nil",
            "int bytes",
        ),
        alias("tlsx_sni", "request.sni", "string"),
        alias("tlsx_alpn", "response.alpn", "string (chosen)"),
        alias(
            "tlsx_request_size",
            "tlsx ? request.size : nil",
            "int bytes",
        ),
        alias(
            "tlsx_response_size",
            "tlsx ? response.size : nil",
            "int bytes",
        ),
        alias("redis_type", "request.command", "string"),
        alias("redis_command", "request.command", "string"),
        alias("redis_key", "request.key", "string"),
        alias(
            "redis_request_size",
            "redis ? request.size : nil",
            "int bytes",
        ),
        alias(
            "redis_response_size",
            "redis ? response.size : nil",
            "int bytes",
        ),
        alias(
            "redis_total_size",
            "redis ? request.size + response.size : nil",
            "int bytes",
        ),
        alias("kafka_api_key", "request.apiKey", "int"),
        alias("kafka_api_key_name", "request.apiName", "string"),
        alias("kafka_client_id", "request.clientId", "string"),
        alias("kafka_request_summary", "request.topic", "string"),
        alias("kafka_size", "kafka ? request.size : nil", "int bytes"),
        alias(
            "kafka_request_size",
            "kafka ? request.size : nil",
            "int bytes",
        ),
        alias(
            "kafka_response_size",
            "kafka ? response.size : nil",
            "int bytes",
        ),
        alias(
            "postgresql_query",
            "postgres ? request.query : nil",
            "string",
        ),
        alias("postgresql_command", "request.type", "string"),
        alias(
            "postgresql_error_code",
            "response.code",
            "string (SQLSTATE)",
        ),
        alias("postgresql_error_message", "response.error", "string"),
        alias(
            "postgresql_success",
            "postgres and response.status == 0",
            "bool",
        ),
    ]
}

/// MySQL and ICMP (issue 19).
fn mysql_icmp() -> [Alias; 15] {
    [
        alias(
            "mysql_command",
            "mysql ? request.command : nil",
            "string (COM_QUERY, …)",
        ),
        alias("mysql_query", "mysql ? request.query : nil", "string"),
        alias("mysql_database", "mysql ? request.database : nil", "string"),
        alias(
            "mysql_statement_id",
            "mysql ? request.statementId : nil",
            "int",
        ),
        alias(
            "mysql_error_code",
            "mysql ? response.status : nil",
            "int (0 when none)",
        ),
        alias(
            "mysql_error_message",
            "mysql ? response.error : nil",
            "string",
        ),
        alias("mysql_success", "mysql and response.status == 0", "bool"),
        alias(
            "mysql_request_size",
            "mysql ? request.size : nil",
            "int bytes",
        ),
        alias(
            "mysql_response_size",
            "mysql ? response.size : nil",
            "int bytes",
        ),
        alias(
            "mysql_total_size",
            "mysql ? request.size + response.size : nil",
            "int bytes",
        ),
        alias(
            "icmp_type",
            "icmp ? request.type : nil",
            "string (echo-request, …)",
        ),
        alias(
            "icmp_version",
            "icmp ? (protocol.version == \"6\" ? 6 : 4) : nil",
            "int (4 or 6)",
        ),
        alias("icmp_length", "icmp ? request.size : nil", "int bytes"),
        alias(
            "icmp_request_length",
            "icmp ? request.size : nil",
            "int bytes",
        ),
        alias(
            "icmp_response_length",
            "icmp ? response.size : nil",
            "int bytes",
        ),
    ]
}

/// AMQP: the method (`basic.publish`), which side an entry holds, and the frame bytes.
fn amqp() -> [Alias; 6] {
    [
        alias("amqp_method", "amqp ? request.method : nil", "string"),
        alias("amqp_request", "amqp and request.method != nil", "bool"),
        alias("amqp_response", "amqp and response.method != nil", "bool"),
        alias(
            "amqp_request_length",
            "amqp ? request.size : nil",
            "int bytes",
        ),
        alias(
            "amqp_response_length",
            "amqp ? response.size : nil",
            "int bytes",
        ),
        alias(
            "amqp_total_size",
            "amqp ? request.size + response.size : nil",
            "int bytes",
        ),
    ]
}

/// MongoDB: the command and what it ran on, the wire opcode, the error and the message bytes.
fn mongodb() -> [Alias; 11] {
    [
        alias(
            "mongodb_command",
            "mongo ? request.command : nil",
            "string (find, insert, …)",
        ),
        alias(
            "mongodb_database",
            "mongo ? request.database : nil",
            "string",
        ),
        alias(
            "mongodb_collection",
            "mongo ? request.collection : nil",
            "string",
        ),
        alias(
            "mongodb_opcode",
            "mongo ? request.opcode : nil",
            "string (OP_MSG, OP_QUERY, …)",
        ),
        alias(
            "mongodb_error_code",
            "mongo ? response.status : nil",
            "int (0 when none)",
        ),
        alias(
            "mongodb_error_code_name",
            "mongo ? response.codeName : nil",
            "string",
        ),
        alias(
            "mongodb_error_message",
            "mongo ? response.errmsg : nil",
            "string",
        ),
        alias("mongodb_success", "mongo and response.status == 0", "bool"),
        alias(
            "mongodb_request_size",
            "mongo ? request.size : nil",
            "int bytes",
        ),
        alias(
            "mongodb_response_size",
            "mongo ? response.size : nil",
            "int bytes",
        ),
        alias(
            "mongodb_total_size",
            "mongo ? request.size + response.size : nil",
            "int bytes",
        ),
    ]
}

/// WebSocket: the opcode, which side sent the message, its payload and payload length.
fn websocket() -> [Alias; 6] {
    [
        alias(
            "ws_opcode",
            "request.opcode != nil ? request.opcode : response.opcode",
            "string (text, binary, close, ping, pong)",
        ),
        alias("ws_request", "ws and request.opcode != nil", "bool"),
        alias("ws_response", "ws and response.opcode != nil", "bool"),
        alias(
            "ws_request_payload_data",
            "ws ? request.body : nil",
            "string",
        ),
        alias(
            "ws_request_payload_length",
            "ws ? request.bodySize : nil",
            "int bytes",
        ),
        alias(
            "ws_response_payload_length",
            "ws ? response.bodySize : nil",
            "int bytes",
        ),
    ]
}

/// Connection and flow records (`tcp`/`udp` entries): local is the client (`src`), remote the
/// server (`dst`); `conn_state` is KFL2's `open` or `closed` (`response.state` says how it
/// closed); `*_id` is the flow every entry of the connection names in `stream`.
fn connections() -> [Alias; 20] {
    [
        alias(
            "conn_state",
            "conn ? (response.state == \"open\" ? \"open\" : \"closed\") : nil",
            "string (open, closed)",
        ),
        alias("conn_local_pkts", "conn ? request.packets : nil", "int"),
        alias("conn_remote_pkts", "conn ? response.packets : nil", "int"),
        alias("conn_local_bytes", "conn ? request.size : nil", "int bytes"),
        alias(
            "conn_remote_bytes",
            "conn ? response.size : nil",
            "int bytes",
        ),
        alias("conn_l7_detected", "conn ? response.l7 : nil", "[string]"),
        alias("conn_id", "stream", "int"),
        alias("flow_id", "stream", "int"),
        alias(
            "flow_state",
            "flow ? (response.state == \"open\" ? \"open\" : \"closed\") : nil",
            "string (open, closed)",
        ),
        alias("flow_local_pkts", "flow ? request.packets : nil", "int"),
        alias("flow_remote_pkts", "flow ? response.packets : nil", "int"),
        alias("flow_local_bytes", "flow ? request.size : nil", "int bytes"),
        alias(
            "flow_remote_bytes",
            "flow ? response.size : nil",
            "int bytes",
        ),
        alias(
            "flow_local_pps",
            "flow ? (elapsedTime > 0 ? request.packets * 1000 / elapsedTime : 0) : nil",
            "number packets/s",
        ),
        alias(
            "flow_remote_pps",
            "flow ? (elapsedTime > 0 ? response.packets * 1000 / elapsedTime : 0) : nil",
            "number packets/s",
        ),
        alias(
            "flow_local_bps",
            "flow ? (elapsedTime > 0 ? request.size * 8000 / elapsedTime : 0) : nil",
            "number bits/s",
        ),
        alias(
            "flow_remote_bps",
            "flow ? (elapsedTime > 0 ? response.size * 8000 / elapsedTime : 0) : nil",
            "number bits/s",
        ),
        alias("flow_l7_detected", "flow ? response.l7 : nil", "[string]"),
        alias(
            "conn.state",
            "conn ? response.state : nil",
            "string (fin, rst, timeout, evicted, open)",
        ),
        alias("conn.rtt", "conn ? response.rtt : nil", "float ms"),
    ]
}

/// Legacy KFL (basenine) spellings.
fn legacy() -> [Alias; 8] {
    [
        // Kubeshark's agent saw one pod's side; a node here sees both, so an exchange is outgoing
        // when its client runs on the node that captured it, incoming when its server does.
        alias("outgoing", "src.node == node.name", "bool"),
        alias("incoming", "dst.node == node.name", "bool"),
        alias("requestSize", "request.size", "int bytes"),
        alias("responseSize", "response.size", "int bytes"),
        alias("request.content.text", "request.body", "string"),
        alias("response.content.text", "response.body", "string"),
        alias("protocol.abbr", "protocol.name.upper()", "string"),
        alias("protocol.title", "protocol.name.upper()", "string"),
    ]
}

/// Protocols KFL2 names that are not dissected here.
pub fn undissected() -> Vec<Undissected> {
    [
        ("ldap", "LDAP"),
        ("radius", "RADIUS"),
        ("diameter", "Diameter"),
        ("sctp", "SCTP"),
    ]
    .into_iter()
    .map(|(prefix, protocol)| Undissected { prefix, protocol })
    .collect()
}
