//! ICMP in the pipeline: echo requests and replies between two hosts are one flow (ports 0) whose
//! parser pairs them; an error quoting one of its echo requests (time exceeded on the way)
//! answers that request. Any other error (unreachable, time exceeded) becomes an entry of the
//! TCP or UDP flow whose packet it quotes, filed under that flow's stream so an export of the flow
//! carries it, or of the ICMP flow between the reporting host and the sender when that flow is
//! not tracked.

use std::net::SocketAddr;

use serde_json::json;
use shark_store::Message;

use super::Pipeline;
use crate::decode::{IcmpMessage, IpPacket, icmp_error_text, icmp_type_name, parse_icmp};
use crate::dispatch::FlowProtocol;
use crate::dissect::icmp::IcmpParser;
use crate::dissect::{ChunkMeta, Direction, Exchange};
use crate::flow::{FlowKey, Transport};
use crate::{Packet, Sink};

impl Pipeline {
    /// An ICMP or ICMPv6 message `data` carried by `ip`.
    pub(super) fn icmp<S: Sink>(
        &mut self,
        packet: &Packet<'_>,
        ip: &IpPacket<'_>,
        data: &[u8],
        sink: &mut S,
    ) -> Result<(), S::Error> {
        let v6 = ip.src.is_ipv6();
        let from = SocketAddr::new(ip.src, 0);
        let to = SocketAddr::new(ip.dst, 0);
        match parse_icmp(data, v6) {
            IcmpMessage::Echo { reply, .. } => {
                // The host sending requests is the client, whichever message came first.
                let (client, server) = if reply { (to, from) } else { (from, to) };
                let key = self.icmp_flow(client, server, v6, packet.ts_ns, sink)?;
                let Some(flow) = self.flows.get_mut(&key) else {
                    return Ok(());
                };
                let number = sink.packet(packet, Some(flow.stream))?;
                let dir = flow.direction_from(from);
                flow.count(dir, data.len(), packet.ts_ns, number);
                let meta = ChunkMeta {
                    ts_ns: packet.ts_ns,
                    packet: number,
                };
                if let FlowProtocol::Pinned(parser) = &mut flow.protocol {
                    parser.feed(dir, data, meta, &mut self.exchanges);
                }
                self.emit(&key, sink)
            }
            IcmpMessage::Error {
                kind,
                code,
                quoted,
                echo,
            } => {
                let reported = quoted.and_then(|(transport, src, dst)| {
                    let transport = match transport {
                        6 => Transport::Tcp,
                        17 => Transport::Udp,
                        _ => Transport::Icmp,
                    };
                    let key = FlowKey::new(transport, src, dst);
                    self.flows.get_mut(&key).map(|_| key)
                });
                if let Some(key) = reported
                    && echo.is_some()
                {
                    return self.echo_error(key, packet, ip, data, sink);
                }
                let key = match reported {
                    Some(key) => key,
                    None => self.icmp_flow(to, from, v6, packet.ts_ns, sink)?,
                };
                let Some(flow) = self.flows.get_mut(&key) else {
                    return Ok(());
                };
                let number = sink.packet(packet, Some(flow.stream))?;
                let meta = ChunkMeta {
                    ts_ns: packet.ts_ns,
                    packet: number,
                };
                let mut request = Message::new();
                request.insert("type".into(), json!(icmp_type_name(kind, v6)));
                request.insert("code".into(), json!(code));
                request.insert("from".into(), json!(ip.src.to_string()));
                if let Some((transport, src, dst)) = quoted {
                    let name = match transport {
                        6 => "tcp",
                        17 => "udp",
                        _ => "icmp",
                    };
                    request.insert("reported".into(), json!(format!("{name} {src} -> {dst}")));
                }
                request.insert("size".into(), json!(data.len()));
                self.exchanges.push(Exchange {
                    protocol: "icmp",
                    version: if v6 { "6" } else { "4" }.to_string(),
                    request,
                    error: Some(format!(
                        "{} (from {})",
                        icmp_error_text(kind, code, v6),
                        ip.src
                    )),
                    start: Some(meta),
                    end: Some(meta),
                    ..Exchange::default()
                });
                self.emit(&key, sink)
            }
            IcmpMessage::Other => self.other(packet, sink),
        }
    }

    /// An error quoting an echo request of the ICMP flow `key`: its parser pairs the two, and
    /// the exchange names the host that sent the error.
    fn echo_error<S: Sink>(
        &mut self,
        key: FlowKey,
        packet: &Packet<'_>,
        ip: &IpPacket<'_>,
        data: &[u8],
        sink: &mut S,
    ) -> Result<(), S::Error> {
        let Some(flow) = self.flows.get_mut(&key) else {
            return Ok(());
        };
        let number = sink.packet(packet, Some(flow.stream))?;
        flow.count(Direction::ToClient, data.len(), packet.ts_ns, number);
        let meta = ChunkMeta {
            ts_ns: packet.ts_ns,
            packet: number,
        };
        let before = self.exchanges.len();
        if let FlowProtocol::Pinned(parser) = &mut flow.protocol {
            parser.feed(Direction::ToClient, data, meta, &mut self.exchanges);
        }
        for exchange in self.exchanges.iter_mut().skip(before) {
            exchange
                .response
                .insert("from".into(), json!(ip.src.to_string()));
        }
        self.emit(&key, sink)
    }

    /// The ICMP flow from `client` (the host sending echo requests) to `server`, started if new.
    fn icmp_flow<S: Sink>(
        &mut self,
        client: SocketAddr,
        server: SocketAddr,
        v6: bool,
        ts_ns: i64,
        sink: &mut S,
    ) -> Result<FlowKey, S::Error> {
        let key = FlowKey::new(Transport::Icmp, client, server);
        if self.flows.get_mut(&key).is_none() {
            // `Some(false)`: the client is known, as a SYN makes it known.
            self.ensure_flow(
                key,
                Transport::Icmp,
                client,
                server,
                Some(false),
                ts_ns,
                sink,
            )?;
            if let Some(flow) = self.flows.get_mut(&key) {
                flow.in_handshake = false;
                flow.protocol = FlowProtocol::Pinned(Box::new(IcmpParser::new(v6)));
            }
        }
        Ok(key)
    }
}
