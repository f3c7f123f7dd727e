//! Turning a parser's [`Exchange`] into a store [`Entry`]: flow endpoints, node, identities,
//! timing, packet span, and the body cap.

use std::net::SocketAddr;

use serde_json::Value;
use shark_store::{Endpoint, Entry, Message, Node, PacketSpan, Protocol};

use crate::dissect::{ChunkMeta, Exchange};
use crate::flow::{Flow, Transport};
use crate::identity::IdentityResolver;

/// The exchange that stands for a flow no dissector claimed: bytes and packets each way.
pub fn unclaimed_exchange(flow: &Flow) -> Exchange {
    let side = |i: usize| {
        let mut m = Message::new();
        m.insert("size".into(), flow.bytes[i].into());
        m.insert("packets".into(), flow.packets[i].into());
        m
    };
    Exchange {
        protocol: match flow.transport {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
        },
        version: String::new(),
        request: side(0),
        response: side(1),
        error: None,
        start: Some(ChunkMeta {
            ts_ns: flow.first_ts,
            packet: flow.first_packet,
        }),
        end: Some(ChunkMeta {
            ts_ns: flow.last_ts,
            packet: flow.last_packet,
        }),
    }
}

/// Builds the entry for `exchange` seen on `flow`.
pub fn build_entry(
    exchange: Exchange,
    flow: &Flow,
    node: &Node,
    identity: &dyn IdentityResolver,
    max_body: usize,
) -> Entry {
    let start = exchange.start.unwrap_or(ChunkMeta {
        ts_ns: flow.first_ts,
        packet: flow.first_packet,
    });
    let end = exchange.end.unwrap_or(start);
    let end = if end.ts_ns < start.ts_ns { start } else { end };
    let mut request = exchange.request;
    let mut response = exchange.response;
    cap_body(&mut request, max_body);
    cap_body(&mut response, max_body);
    Entry {
        id: 0,
        timestamp: start.ts_ns,
        elapsed_time: (end.ts_ns - start.ts_ns) as f64 / 1e6,
        node: node.clone(),
        src: endpoint(flow.client, start.ts_ns, identity),
        dst: endpoint(flow.server, start.ts_ns, identity),
        protocol: Protocol {
            name: exchange.protocol.to_string(),
            version: exchange.version,
        },
        request,
        response,
        error: exchange.error,
        stream: flow.stream,
        packets: PacketSpan {
            first: start.packet,
            last: end.packet.max(start.packet),
        },
    }
}

fn endpoint(addr: SocketAddr, ts_ns: i64, identity: &dyn IdentityResolver) -> Endpoint {
    let mut endpoint = Endpoint {
        ip: addr.ip().to_string(),
        port: addr.port(),
        kind: "External".into(),
        ..Default::default()
    };
    if let Some(who) = identity.resolve(addr.ip(), ts_ns) {
        endpoint.name = who.name;
        endpoint.namespace = who.namespace;
        endpoint.kind = who.kind;
        endpoint.pod = who.pod;
        endpoint.service = who.service;
        endpoint.workload = who.workload;
        endpoint.labels = who.labels;
    }
    endpoint
}

/// Cuts a text `body` to at most `max` bytes, on a character boundary.
fn cap_body(message: &mut Message, max: usize) {
    if let Some(Value::String(body)) = message.get_mut("body")
        && body.len() > max
    {
        let mut cut = max;
        while !body.is_char_boundary(cut) {
            cut -= 1;
        }
        body.truncate(cut);
    }
}
