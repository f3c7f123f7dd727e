//! Turning a parser's [`Exchange`] into a store [`Entry`]: flow endpoints, node, identities,
//! timing, packet span, and the body caps (`--max-body` for the entry, `--index-body` for what
//! the index keeps inline), and GraphQL recognised in HTTP exchanges.

use std::net::SocketAddr;

use shark_store::{
    Endpoint, Entry, Message, PacketSpan, Protocol, cut_inline, keep_args_prefix, keep_body_prefix,
};

use crate::config::PipelineConfig;
use crate::dissect::{ChunkMeta, Exchange, graphql};
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
            Transport::Icmp => "icmp",
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

/// Builds the entry for `exchange` seen on `flow`, its bodies cut as `config` says.
pub fn build_entry(
    mut exchange: Exchange,
    flow: &Flow,
    config: &PipelineConfig,
    identity: &dyn IdentityResolver,
) -> Entry {
    graphql::annotate(&mut exchange);
    let start = exchange.start.unwrap_or(ChunkMeta {
        ts_ns: flow.first_ts,
        packet: flow.first_packet,
    });
    let end = exchange.end.unwrap_or(start);
    let end = if end.ts_ns < start.ts_ns { start } else { end };
    let mut request = exchange.request;
    let mut response = exchange.response;
    for message in [&mut request, &mut response] {
        cut_inline(message, config.max_body);
        keep_body_prefix(message, config.index_body);
    }
    // An exchange that did not complete may not be rebuilt from its packets (a reply cut short
    // ends its span at its first packet), so its arguments stay whole.
    if exchange.error.is_none() {
        keep_args_prefix(&mut request, config.index_body);
    }
    Entry {
        id: 0,
        timestamp: start.ts_ns,
        elapsed_time: (end.ts_ns - start.ts_ns) as f64 / 1e6,
        node: config.node.clone(),
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
        endpoint.node = who.node;
        endpoint.labels = who.labels;
    }
    endpoint
}
