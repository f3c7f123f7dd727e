//! Turning a parser's [`Exchange`] into a store [`Entry`]: flow endpoints, node, identities,
//! timing, packet span, and the body caps (`--max-body` for the entry, `--index-body` for what
//! the index keeps inline), and GraphQL recognised in HTTP exchanges.

use std::net::{IpAddr, SocketAddr};

use shark_store::{
    Endpoint, Entry, Message, PacketSpan, Protocol, cut_inline, keep_args_prefix, keep_body_prefix,
};

use crate::config::PipelineConfig;
use crate::conn::{ConnState, EVICTED};
use crate::dissect::{ChunkMeta, Exchange, graphql};
use crate::flow::{Flow, Transport};
use crate::identity::IdentityResolver;

/// The exchange that stands for an ICMP echo flow no dissector claimed: bytes and packets each
/// way.
pub fn unclaimed_exchange(flow: &Flow) -> Exchange {
    let side = |i: usize| {
        let mut m = Message::new();
        m.insert("size".into(), flow.bytes[i].into());
        m.insert("packets".into(), flow.packets[i].into());
        m
    };
    Exchange {
        protocol: transport_name(flow.transport),
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

/// The connection record of a TCP/UDP flow (see [`crate::conn`]): payload bytes and packets each
/// way since its last record (`request` the client's, `response` the server's), and in
/// `response` its `state`, handshake `rtt` (ms) and the protocols found on it (`l7`). Its span
/// is the packets since the last record; [`conn_entry`] stamps it.
/// Marks the flow's counters recorded.
pub fn conn_exchange(flow: &mut Flow, state: ConnState) -> Exchange {
    let record = &flow.conn;
    let side = |i: usize| {
        let mut m = Message::new();
        m.insert(
            "size".into(),
            (flow.bytes[i] - record.recorded_bytes[i].min(flow.bytes[i])).into(),
        );
        m.insert(
            "packets".into(),
            (flow.packets[i] - record.recorded_packets[i].min(flow.packets[i])).into(),
        );
        m
    };
    let request = side(0);
    let mut response = side(1);
    response.insert("state".into(), state.word().into());
    if let Some(rtt) = record.rtt_ns {
        response.insert("rtt".into(), (rtt as f64 / 1e6).into());
    }
    if !record.l7.is_empty() {
        response.insert("l7".into(), record.l7.clone().into());
    }
    let (first_packet, first_ts) = record.since.unwrap_or((flow.last_packet, flow.last_ts));
    let exchange = Exchange {
        protocol: transport_name(flow.transport),
        version: String::new(),
        request,
        response,
        error: (state == ConnState::Evicted).then(|| EVICTED.to_string()),
        start: Some(ChunkMeta {
            ts_ns: first_ts,
            packet: first_packet,
        }),
        end: Some(ChunkMeta {
            ts_ns: flow.last_ts,
            packet: flow.last_packet,
        }),
    };
    flow.conn.cut(flow.bytes, flow.packets);
    exchange
}

/// The entry of a connection record stamped `now_ns` (see [`crate::conn`]), its `elapsedTime`
/// the time its packets span.
pub fn conn_entry(
    exchange: Exchange,
    flow: &Flow,
    now_ns: i64,
    config: &PipelineConfig,
    identity: &dyn IdentityResolver,
) -> Entry {
    let mut entry = build_entry(exchange, flow, config, identity);
    entry.timestamp = now_ns.max(entry.timestamp);
    entry
}

fn transport_name(transport: Transport) -> &'static str {
    match transport {
        Transport::Tcp => "tcp",
        Transport::Udp => "udp",
        Transport::Icmp => "icmp",
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
        ip: ip_text(addr.ip()),
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

/// `ip` in its usual text form. An IPv4 address is written digit by digit: through `Display`
/// (which supports padding) it was two thirds of naming an endpoint.
fn ip_text(ip: IpAddr) -> String {
    let IpAddr::V4(v4) = ip else {
        return ip.to_string();
    };
    let mut text = String::with_capacity("255.255.255.255".len());
    for (i, octet) in v4.octets().into_iter().enumerate() {
        if i > 0 {
            text.push('.');
        }
        if octet >= 100 {
            text.push(char::from(b'0' + octet / 100));
        }
        if octet >= 10 {
            text.push(char::from(b'0' + octet / 10 % 10));
        }
        text.push(char::from(b'0' + octet % 10));
    }
    text
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    #[test]
    fn addresses_are_written_as_display_writes_them() {
        for octet in 0..=u8::MAX {
            for ip in [
                Ipv4Addr::new(octet, 0, 10, octet),
                Ipv4Addr::new(9, octet, octet, 255),
            ] {
                assert_eq!(ip_text(ip.into()), ip.to_string());
            }
        }
        let v6 = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1);
        assert_eq!(ip_text(v6.into()), "fd00::1");
    }
}
