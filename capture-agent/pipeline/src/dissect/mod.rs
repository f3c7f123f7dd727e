//! Protocol dissectors and the registry that picks one per flow.
//!
//! A [`Dissector`] is a cheap, stateless description of a protocol: its name, the ports it usually
//! runs on, and a content probe. Once a flow is matched, the dissector makes a [`Parser`] that is
//! pinned to the flow and fed the reassembled bytes of each direction; it yields [`Exchange`]s.
//!
//! # Fields each protocol fills (KFL names; `request.` / `response.` keys in [`Exchange`])
//!
//! | protocol (version) | request | response |
//! |---|---|---|
//! | `http` (`1.0`, `1.1`, `2`) | `method`, `path`, `url`, `host`, `query` {name: value}, `headers` {Name: value}, `body` (content coding undone, capped; text, else base64 with `bodyEncoding` `base64`), `bodyDecodeError` (coding not undone), `size` (the whole message on the wire: request line, headers and body with its chunk framing; for HTTP/2 its HEADERS, CONTINUATION and DATA frames), `bodySize` (body bytes on the wire) | `status` (code), `statusText`, `headers`, `body`, `bodyEncoding`, `bodyDecodeError`, `size`, `bodySize` |
//! | `grpc` (`2`) | `method` (RPC method), `service`, `path`, `headers`, `size` (HEADERS, CONTINUATION and DATA frames), `bodySize` (DATA payload), `messages` | `status` (grpc-status), `statusText` (grpc-message), `headers`, `size`, `bodySize`, `messages` |
//! | `dns` | `id`, `questions` \[names\], `qtype` (`A`, `AAAA`, …), `size` (message bytes) | `status` (rcode number), `statusText` (`NOERROR`, `NXDOMAIN`, …), `answers` \[rdata text\], `size` |
//! | `redis` | `command` (upper case), `key`, `args` \[text\], `size` (RESP bytes) | `type` (`simple`, `error`, `integer`, `bulk`, `array`, `nil`, …), `status` (0 ok, 1 error), `statusText` (error text), `body`, `size` |
//! | `postgres` | `query` (SQL text), `statement` (named prepared statement bound), `type` (`simple`, `extended`, `startup`, `ssl`), `size` (frontend message bytes) | `status` (0 ok, 1 error), `statusText` (CommandComplete tag), `rows`, `error` (message), `code` (SQLSTATE), `size` (backend message bytes) |
//! | `mysql` | `command` (`HANDSHAKE`, `COM_QUERY`, `COM_STMT_PREPARE`, `COM_STMT_EXECUTE`, …), `query` (SQL; an execute's from its prepare), `statementId`, `user`, `database`, `tls` (the login asks for TLS), `size` (packet bytes) | `status` (0 ok, else the error code), `error` (message), `code` (SQLSTATE), `columns` \[names\], `rows`, `affectedRows`, `version` (server, on the login), `size` |
//! | `icmp` (`4`, `6`) | `type` (`echo-request`; an error's `destination-unreachable`, `time-exceeded`, …), `id`, `seq`, `code` and `from` (the host that sent an error), `reported` (the flow an error reports), `size` (ICMP message bytes) | `type` (`echo-reply`), `size` |
//! | `kafka` | `apiKey`, `apiName`, `apiVersion`, `correlationId`, `clientId`, `topic` (first), `topics` \[names\], `size` (frame bytes) | `status` (error code, 0 ok, where the version carries one), `size` |
//! | `amqp` | `method` (`basic.publish`, `queue.declare`, …), `channel`, `exchange`, `routingKey`, `queue`, `consumerTag`, `deliveryTag`, `multiple`, `requeue`, `vhost`, `replyCode`/`replyText` (closes), a message's `properties` {contentType, headers, …}, `body`, `bodyEncoding`, `bodySize`, `size` (frame bytes) | `method` (the reply: `queue.declare-ok`, `basic.get-ok` with its message, or the `channel.close` that failed it), `status` (0, or the close's reply code), `statusText`, `queue`, `messageCount`, `consumerCount`, `size` |
//! | `mongo` (OP_MSG, OP_QUERY/OP_REPLY, OP_COMPRESSED; see `mongo`) | `opcode`, `command` (first key: `find`, `insert`, …), `database`, `collection`, `requestId`, `compressor`, `body` (the command as relaxed Extended JSON), `size` (message bytes) | `opcode`, `ok`, `errmsg`, `code`, `codeName`, `status` (0, else the error code), `documents` (returned), `body`, `size` |
//! | `gql` (the HTTP version; an HTTP exchange carrying a GraphQL operation, see `graphql`) | the HTTP fields, and `graphql` {`operationType`, `operationName`, `query`, `variables`} | the HTTP fields, and `graphql` {`errors` \[messages\]} when the response has errors |
//! | `ws` (`13`; after HTTP/1.1's upgrade; one entry per message, a client's in `request`, a server's in `response`) | `opcode` (`text`, `binary`, `close`, `ping`, `pong`), `body` (unmasked, fragments joined, permessage-deflate undone, capped), `bodyEncoding`, `bodyDecodeError`, `bodySize` (payload as sent), `frames`, `compressed`, `closeCode`, `closeReason`, `size` (frame bytes) | the same, for a server's message |
//! | `tls` (negotiated version) | `sni`, `alpn` \[protocols\], `versions` \[offered\], `ciphers` (count), `size` (handshake record bytes) | `version`, `cipher`, `alpn` (chosen), `size` |
//! | `tcp`, `udp` (every connection's record, see `crate::conn`; not a dissector's) | `size` (payload bytes to the server), `packets` | `size`, `packets`, `state` (`fin`, `rst`, `timeout`, `evicted`, `open`), `rtt` (handshake, ms), `l7` \[protocols found\] |
//!
//! # What the dissectors share
//! Length-prefixed protocols (PostgreSQL, Kafka, DNS over TCP) only say how long a PDU is and
//! how much of it to keep; `pdu` cuts their streams into PDUs with bounded memory, as
//! Wireshark's `tcp_dissect_pdus` does. Request-response protocols without streams of their own
//! (DNS, Redis, PostgreSQL, Kafka) keep the requests waiting for an answer in `pending`'s bounded
//! queue, which also reports, in one way, the requests that never get one.

pub mod amqp;
mod body;
mod contract;
pub mod dns;
pub mod graphql;
mod grpc;
pub mod http2;
pub mod icmp;
pub mod kafka;
pub mod mongo;
pub mod mysql;
mod pdu;
mod pending;
pub mod postgres;
pub mod redis;
#[cfg(test)]
mod test_support;
pub mod tls;
mod websocket;

pub use contract::{
    ChunkMeta, Confidence, DEFAULT_MAX_BODY, Direction, Dissector, Exchange, MAX_BODY_LIMIT,
    Parser, ParserSettings, SettingsError, Unfinished,
};

mod http1;

pub use http1::Http1Dissector;

/// Every dissector, in content-probe order (the most specific probes first, the weakest last).
/// Dispatch tries port matches first, then these probes in this order.
pub fn registry() -> &'static [&'static dyn Dissector] {
    static REGISTRY: &[&dyn Dissector] = &[
        &tls::TlsDissector,
        &http2::Http2Dissector,
        &postgres::PostgresDissector,
        &kafka::KafkaDissector,
        &mysql::MysqlDissector,
        &amqp::AmqpDissector,
        &mongo::MongoDissector,
        &dns::DnsDissector,
        &redis::RedisDissector,
        &Http1Dissector,
    ];
    REGISTRY
}
