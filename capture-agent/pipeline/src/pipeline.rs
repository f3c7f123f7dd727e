//! The pipeline: packets in, entries out. Decode → flow → TCP reassembly → dispatch → parser →
//! entry, with every packet handed to the sink on the way (decodable or not). ICMP takes its own
//! way (`icmp`): echo is a flow between two hosts, an error joins the flow it reports.

use std::net::SocketAddr;
use std::time::Duration;

use crate::config::PipelineConfig;
use crate::conn::{CLOSE_GRACE_NS, CONN_INTERVAL_NS, ConnState, EVICTED};
use crate::decode::{
    Defragmenter, TcpSegment, UdpDatagram, link_payload, parse_ip, parse_tcp, parse_udp,
};
use crate::dispatch::{Dispatcher, FlowProtocol};
use crate::dissect::{ChunkMeta, Direction, Exchange, registry};
use crate::entry::{build_entry, conn_entry, conn_exchange, unclaimed_exchange};
use crate::flow::{Flow, FlowKey, FlowTable, Transport};
use crate::identity::{IdentityResolver, NoIdentity};
use crate::reassembly::{Chunk, SegmentIn};
use crate::{Packet, Sink};

mod icmp;

/// How often (in capture time) idle flows are looked for.
const SWEEP_EVERY_NS: i64 = 1_000_000_000;

/// What the pipeline saw, for status and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PipelineStats {
    /// Packets pushed.
    pub packets: u64,
    /// Bytes on the wire of those packets.
    pub bytes: u64,
    /// Entries produced.
    pub entries: u64,
    /// Packets that could not be decoded (truncated or malformed headers, unknown link type).
    pub decode_errors: u64,
    /// Packets that are not TCP, UDP or ICMP echo and errors over IP (ARP, neighbour discovery,
    /// …); kept, not dissected.
    pub other_packets: u64,
    /// Flows seen.
    pub flows: u64,
    /// Flows closed early to stay within the memory budget (`--memory-limit`); their entries
    /// say `evicted (memory limit)`.
    pub flows_evicted: u64,
    /// Holes in TCP streams that were given up on (lost or uncaptured bytes).
    pub gaps: u64,
    /// IP datagrams whose fragments never all arrived.
    pub fragments_dropped: u64,
}

/// Turns packets into entries. Push packets in capture order, then [`Pipeline::finish`].
pub struct Pipeline {
    config: PipelineConfig,
    flows: FlowTable,
    defrag: Defragmenter,
    dispatcher: Dispatcher,
    identity: Box<dyn IdentityResolver>,
    stats: PipelineStats,
    exchanges: Vec<Exchange>,
    next_sweep_ns: Option<i64>,
    buffered_total: usize,
    /// Flows started since the one-way flows were last counted against their share.
    new_flows_since_check: usize,
    /// The latest packet timestamp pushed: when connection records are cut.
    newest_ns: i64,
}

/// A decoded transport header with its payload.
enum Transported<'a> {
    Tcp(TcpSegment<'a>),
    Udp(UdpDatagram<'a>),
}

impl Pipeline {
    /// A pipeline with all registered dissectors and no identity resolution.
    pub fn new(config: PipelineConfig) -> Self {
        Pipeline {
            defrag: Defragmenter::new(config.defrag),
            dispatcher: Dispatcher::new(registry(), config.parser_settings()),
            config,
            flows: FlowTable::default(),
            identity: Box::new(NoIdentity),
            stats: PipelineStats::default(),
            exchanges: Vec::new(),
            next_sweep_ns: None,
            buffered_total: 0,
            new_flows_since_check: 0,
            newest_ns: i64::MIN,
        }
    }

    /// Uses `identity` to name the endpoints of every entry from now on.
    pub fn with_identity(mut self, identity: Box<dyn IdentityResolver>) -> Self {
        self.identity = identity;
        self
    }

    /// Bounds the flow state by `bytes` from now on (see [`PipelineConfig::with_memory_limit`]).
    pub fn with_memory_limit(mut self, bytes: usize) -> Self {
        self.config = self.config.with_memory_limit(bytes);
        self
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &PipelineConfig {
        &self.config
    }

    /// Counters so far.
    pub fn stats(&self) -> PipelineStats {
        self.stats
    }

    /// The start of the earliest entry the flows open now can still send, if any: every entry
    /// the pipeline sends from now on starts at or after it, or begins with a packet not yet
    /// pushed. Costs a pass over the flows.
    pub fn earliest_unfinished(&self) -> Option<i64> {
        self.flows.earliest_unfinished(self.newest_ns, |transport| {
            self.config.timeout_ns(transport)
        })
    }

    /// Takes one packet: hands it to the sink and sends any entries it completes.
    pub fn push<S: Sink>(&mut self, packet: &Packet<'_>, sink: &mut S) -> Result<(), S::Error> {
        self.stats.packets += 1;
        self.stats.bytes += u64::from(packet.orig_len);
        self.newest_ns = self.newest_ns.max(packet.ts_ns);
        self.sweep(packet.ts_ns, sink)?;
        let ip = match link_payload(packet.linktype, packet.data)
            .and_then(|(version, bytes)| parse_ip(version, bytes))
        {
            Ok(ip) => ip,
            Err(crate::decode::DecodeError::NotIp(_)) => return self.other(packet, sink),
            Err(_) => {
                self.stats.decode_errors += 1;
                sink.packet(packet, None)?;
                return Ok(());
            }
        };
        let defragmented;
        let (transport_bytes, announced_len) = if ip.fragment.is_some() {
            let before = self.defrag.dropped();
            let whole = self.defrag.push(&ip, packet.ts_ns);
            self.stats.fragments_dropped += self.defrag.dropped() - before;
            match whole {
                Some(whole) => {
                    defragmented = whole;
                    (defragmented.as_slice(), defragmented.len())
                }
                None => return self.other(packet, sink),
            }
        } else {
            (ip.payload, ip.announced_len)
        };
        let transported = match ip.protocol {
            6 => parse_tcp(transport_bytes, announced_len).map(Transported::Tcp),
            17 => parse_udp(transport_bytes).map(Transported::Udp),
            1 | 58 => return self.icmp(packet, &ip, transport_bytes, sink),
            _ => return self.other(packet, sink),
        };
        match transported {
            Ok(Transported::Tcp(segment)) => {
                let src = SocketAddr::new(ip.src, segment.src_port);
                let dst = SocketAddr::new(ip.dst, segment.dst_port);
                self.tcp(packet, src, dst, &segment, sink)
            }
            Ok(Transported::Udp(datagram)) => {
                let src = SocketAddr::new(ip.src, datagram.src_port);
                let dst = SocketAddr::new(ip.dst, datagram.dst_port);
                self.udp(packet, src, dst, datagram.payload, sink)
            }
            Err(_) => {
                self.stats.decode_errors += 1;
                sink.packet(packet, None)?;
                Ok(())
            }
        }
    }

    /// Closes every flow (flushing what is pending) and returns the counters.
    pub fn finish<S: Sink>(mut self, sink: &mut S) -> Result<PipelineStats, S::Error> {
        for mut flow in self.flows.take_all() {
            self.close(&mut flow, "capture ended", sink)?;
        }
        Ok(self.stats)
    }

    fn other<S: Sink>(&mut self, packet: &Packet<'_>, sink: &mut S) -> Result<(), S::Error> {
        self.stats.other_packets += 1;
        sink.packet(packet, None)?;
        Ok(())
    }

    fn tcp<S: Sink>(
        &mut self,
        packet: &Packet<'_>,
        src: SocketAddr,
        dst: SocketAddr,
        segment: &TcpSegment<'_>,
        sink: &mut S,
    ) -> Result<(), S::Error> {
        let key = FlowKey::new(Transport::Tcp, src, dst);
        let opening = segment.flags.syn() && !segment.flags.ack();
        if opening {
            // A SYN with a new sequence number on a known 5-tuple is a new connection (port reuse).
            let reused = self.flows.get_mut(&key).is_some_and(|f| {
                f.closed
                    || f.client_isn.is_some_and(|isn| isn != segment.seq)
                    || (f.client_isn.is_none() && f.bytes != [0, 0])
            });
            if reused && let Some(mut old) = self.flows.remove(&key) {
                self.close(&mut old, "closed", sink)?;
            }
        }
        let syn = segment.flags.syn().then_some(segment.flags.ack());
        self.ensure_flow(key, Transport::Tcp, src, dst, syn, packet.ts_ns, sink)?;
        let Some(flow) = self.flows.get_mut(&key) else {
            return Ok(());
        };
        if opening {
            flow.client_isn = Some(segment.seq);
        }
        let number = sink.packet(packet, Some(flow.stream))?;
        if flow.in_handshake
            && (!segment.payload.is_empty() || segment.flags.fin() || segment.flags.rst())
        {
            flow.in_handshake = false;
            if flow.packets != [0, 0] {
                sink.handshake(flow.stream, flow.first_packet, flow.last_packet)?;
            }
        }
        let dir = flow.direction_from(src);
        flow.count(dir, segment.announced_len, packet.ts_ns, number);
        flow.conn.handshake(
            segment.flags.syn(),
            segment.flags.ack(),
            dir == Direction::ToServer,
            packet.ts_ns,
        );
        if flow.closed {
            return Ok(());
        }
        let meta = ChunkMeta {
            ts_ns: packet.ts_ns,
            packet: number,
        };
        let input = SegmentIn {
            seq: segment.seq,
            syn: segment.flags.syn(),
            payload: segment.payload,
            announced_len: segment.announced_len,
            meta,
        };
        let ports = flow.ports();
        let buffered_before = flow.reassembly[dir.slot()].buffered();
        let gaps_before = flow.reassembly[dir.slot()].gaps();
        let Flow {
            reassembly,
            protocol,
            ..
        } = &mut *flow;
        let mut turned = false;
        reassembly[dir.slot()].segment(input, &mut |chunk| {
            deliver(
                &self.dispatcher,
                protocol,
                ports,
                dir,
                chunk,
                &mut turned,
                &mut self.exchanges,
            )
        });
        if self
            .buffered_total
            .saturating_add(reassembly[dir.slot()].buffered())
            > self
                .config
                .max_buffered_total
                .saturating_add(buffered_before)
        {
            // Over the total bound: give up this flow's holes now.
            reassembly[dir.slot()].flush(&mut |chunk| {
                deliver(
                    &self.dispatcher,
                    protocol,
                    ports,
                    dir,
                    chunk,
                    &mut turned,
                    &mut self.exchanges,
                )
            });
        }
        self.buffered_total = (self.buffered_total + reassembly[dir.slot()].buffered())
            .saturating_sub(buffered_before);
        self.stats.gaps += reassembly[dir.slot()].gaps() - gaps_before;
        if turned {
            flow.flip();
        }
        if segment.flags.fin() {
            flow.fin[flow.direction_from(src).slot()] = true;
        }
        let ending = if segment.flags.rst() {
            Some("reset")
        } else if flow.fin == [true, true] {
            Some("closed")
        } else {
            None
        };
        self.emit(&key, sink)?;
        self.checkpoint(&key, sink)?;
        if let Some(reason) = ending {
            self.close_in_place(&key, reason, sink)?;
        }
        Ok(())
    }

    fn udp<S: Sink>(
        &mut self,
        packet: &Packet<'_>,
        src: SocketAddr,
        dst: SocketAddr,
        payload: &[u8],
        sink: &mut S,
    ) -> Result<(), S::Error> {
        let key = FlowKey::new(Transport::Udp, src, dst);
        self.ensure_flow(key, Transport::Udp, src, dst, None, packet.ts_ns, sink)?;
        let Some(flow) = self.flows.get_mut(&key) else {
            return Ok(());
        };
        let number = sink.packet(packet, Some(flow.stream))?;
        let dir = flow.direction_from(src);
        flow.count(dir, payload.len(), packet.ts_ns, number);
        let meta = ChunkMeta {
            ts_ns: packet.ts_ns,
            packet: number,
        };
        let ports = flow.ports();
        let mut turned = false;
        if !payload.is_empty() {
            deliver(
                &self.dispatcher,
                &mut flow.protocol,
                ports,
                dir,
                Chunk::Data(payload, meta),
                &mut turned,
                &mut self.exchanges,
            );
        }
        if turned {
            flow.flip();
        }
        self.emit(&key, sink)?;
        self.checkpoint(&key, sink)
    }

    /// Cuts an `open` record of the flow `key` once its packets since its last record span
    /// [`CONN_INTERVAL_NS`], stamped with the packet that made them do so.
    fn checkpoint<S: Sink>(&mut self, key: &FlowKey, sink: &mut S) -> Result<(), S::Error> {
        let Some(flow) = self.flows.get_mut(key) else {
            return Ok(());
        };
        let long = flow
            .conn
            .since
            .is_some_and(|(_, since)| flow.last_ts.saturating_sub(since) >= CONN_INTERVAL_NS);
        if !long || flow.closed {
            return Ok(());
        }
        emit_conn(
            flow,
            ConnState::Open,
            self.newest_ns,
            &self.config,
            self.identity.as_ref(),
            &mut self.stats,
            sink,
        )
    }

    /// Starts tracking the flow `key` (with a new stream id) if it is not tracked yet.
    #[allow(clippy::too_many_arguments)]
    fn ensure_flow<S: Sink>(
        &mut self,
        key: FlowKey,
        transport: Transport,
        src: SocketAddr,
        dst: SocketAddr,
        syn: Option<bool>,
        ts_ns: i64,
        sink: &mut S,
    ) -> Result<(), S::Error> {
        if self.flows.get_mut(&key).is_some() {
            return Ok(());
        }
        if self.flows.len() >= self.config.max_flows {
            let evict = (self.config.max_flows / 100).max(1);
            for mut old in self.flows.take_evictable(evict) {
                self.stats.flows_evicted += 1;
                self.close(&mut old, EVICTED, sink)?;
            }
        }
        self.stats.flows += 1;
        let stream = sink.alloc_stream();
        let flow = Flow::new(
            transport,
            src,
            dst,
            syn,
            stream,
            ts_ns,
            self.config.reassembly,
        );
        self.flows.insert(key, Box::new(flow));
        // Every hundredth of the table's size in new flows, look for one-way flows over their share.
        let every = (self.config.max_flows / 100).max(1);
        self.new_flows_since_check += 1;
        if self.new_flows_since_check >= every {
            self.new_flows_since_check = 0;
            let keep = self.config.max_one_way_flows();
            for mut old in self.flows.take_one_way_beyond(keep, every) {
                self.stats.flows_evicted += 1;
                self.close(&mut old, EVICTED, sink)?;
            }
        }
        Ok(())
    }

    /// Sends the exchanges collected for the flow `key` as entries.
    fn emit<S: Sink>(&mut self, key: &FlowKey, sink: &mut S) -> Result<(), S::Error> {
        let Some(flow) = self.flows.get_mut(key) else {
            self.exchanges.clear();
            return Ok(());
        };
        send_state_packets(flow, sink)?;
        if self.exchanges.is_empty() {
            return Ok(());
        }
        emit_entries(
            &mut self.exchanges,
            flow,
            &self.config,
            self.identity.as_ref(),
            &mut self.stats,
            sink,
        )
    }

    /// Closes a flow that stays in the table (as closed) to absorb its last packets.
    fn close_in_place<S: Sink>(
        &mut self,
        key: &FlowKey,
        reason: &str,
        sink: &mut S,
    ) -> Result<(), S::Error> {
        if let Some(mut flow) = self.flows.remove(key) {
            // The record waits a moment for the last ACK or RST (see `sweep`).
            self.close_flow(&mut flow, reason, true, sink)?;
            self.flows.insert(*key, flow);
        }
        Ok(())
    }

    /// Flushes a flow's reassembly and parser and sends its last entries, its connection
    /// record last.
    fn close<S: Sink>(
        &mut self,
        flow: &mut Flow,
        reason: &str,
        sink: &mut S,
    ) -> Result<(), S::Error> {
        self.close_flow(flow, reason, false, sink)
    }

    /// [`Pipeline::close`], keeping the connection record back a moment when `await_last`.
    fn close_flow<S: Sink>(
        &mut self,
        flow: &mut Flow,
        reason: &str,
        await_last: bool,
        sink: &mut S,
    ) -> Result<(), S::Error> {
        if flow.closed {
            // A closed flow's record may still wait for its last packets.
            if let Some(state) = flow.conn.closing {
                let last_ts = flow.last_ts;
                emit_conn(
                    flow,
                    state,
                    last_ts,
                    &self.config,
                    self.identity.as_ref(),
                    &mut self.stats,
                    sink,
                )?;
            }
            return Ok(());
        }
        flow.closed = true;
        let ports = flow.ports();
        let mut turned = false;
        for dir in [Direction::ToServer, Direction::ToClient] {
            let i = dir.slot();
            let gaps_before = flow.reassembly[i].gaps();
            self.buffered_total = self
                .buffered_total
                .saturating_sub(flow.reassembly[i].buffered());
            let Flow {
                reassembly,
                protocol,
                ..
            } = &mut *flow;
            reassembly[i].flush(&mut |chunk| {
                deliver(
                    &self.dispatcher,
                    protocol,
                    ports,
                    dir,
                    chunk,
                    &mut turned,
                    &mut self.exchanges,
                )
            });
            self.stats.gaps += flow.reassembly[i].gaps() - gaps_before;
        }
        if turned {
            flow.flip();
        }
        if flow
            .protocol
            .close(&self.dispatcher, flow.ports(), reason, &mut self.exchanges)
            == Some(true)
        {
            flow.flip();
        }
        send_state_packets(flow, sink)?;
        if flow.transport == Transport::Icmp && matches!(flow.protocol, FlowProtocol::Unclaimed) {
            let mut exchange = unclaimed_exchange(flow);
            if reason == EVICTED {
                exchange.error = Some(EVICTED.into());
            }
            self.exchanges.push(exchange);
        }
        // Free what the flow held; it may stay in the table as a closed tombstone.
        flow.protocol = FlowProtocol::Unclaimed;
        emit_entries(
            &mut self.exchanges,
            flow,
            &self.config,
            self.identity.as_ref(),
            &mut self.stats,
            sink,
        )?;
        if await_last {
            flow.conn.closing = Some(ConnState::closed_for(reason));
            return Ok(());
        }
        let state = ConnState::closed_for(reason);
        // A flow that timed out did so a timeout after its last packet (whenever the sweep
        // found it); one closed otherwise closes now.
        let stamp = if state == ConnState::Timeout {
            flow.last_ts
                .saturating_add(self.config.timeout_ns(flow.transport))
        } else {
            self.newest_ns
        };
        emit_conn(
            flow,
            state,
            stamp,
            &self.config,
            self.identity.as_ref(),
            &mut self.stats,
            sink,
        )
    }

    /// Closes flows idle longer than the timeout, at most once per second of capture time.
    fn sweep<S: Sink>(&mut self, now_ns: i64, sink: &mut S) -> Result<(), S::Error> {
        let due = self
            .next_sweep_ns
            .get_or_insert(now_ns.saturating_add(SWEEP_EVERY_NS));
        if now_ns < *due {
            return Ok(());
        }
        *due = now_ns.saturating_add(SWEEP_EVERY_NS);
        let cutoff = |timeout: Duration| {
            now_ns.saturating_sub(i64::try_from(timeout.as_nanos()).unwrap_or(i64::MAX))
        };
        let (tcp_cutoff, udp_cutoff) = (
            cutoff(self.config.flow_timeout),
            cutoff(self.config.udp_timeout),
        );
        for mut flow in self.flows.take_idle(tcp_cutoff, udp_cutoff) {
            self.close(&mut flow, "idle timeout", sink)?;
        }
        // Records of connections closed a moment ago, stamped with their last packet.
        let grace_cutoff = now_ns.saturating_sub(CLOSE_GRACE_NS);
        let due = self
            .flows
            .keys_where(|f| f.closed && f.conn.closing.is_some() && f.last_ts < grace_cutoff);
        for key in due {
            if let Some(flow) = self.flows.get_mut(&key) {
                let state = flow.conn.closing.unwrap_or(ConnState::Fin);
                let last_ts = flow.last_ts;
                emit_conn(
                    flow,
                    state,
                    last_ts,
                    &self.config,
                    self.identity.as_ref(),
                    &mut self.stats,
                    sink,
                )?;
            }
        }
        Ok(())
    }
}

/// Hands one reassembled chunk to the flow's protocol, in the direction it now has (`turned`
/// records that probing found client and server the wrong way round).
fn deliver(
    dispatcher: &Dispatcher,
    protocol: &mut FlowProtocol,
    ports: crate::dispatch::FlowPorts,
    dir: Direction,
    chunk: Chunk<'_>,
    turned: &mut bool,
    out: &mut Vec<Exchange>,
) {
    let dir = if *turned { dir.opposite() } else { dir };
    let ports = if *turned {
        crate::dispatch::FlowPorts {
            client: ports.server,
            server: ports.client,
            ..ports
        }
    } else {
        ports
    };
    match chunk {
        Chunk::Data(bytes, meta) => {
            if protocol.feed(dispatcher, ports, dir, bytes, meta, out) == Some(true) {
                *turned = !*turned;
            }
        }
        Chunk::Gap(_) => protocol.gap(dir, out),
    }
}

/// Hands `sink` the packet spans of `flow` its parser found carrying state that later exchanges
/// need to be decoded (see [`Sink::state_packets`]).
fn send_state_packets<S: Sink>(flow: &mut Flow, sink: &mut S) -> Result<(), S::Error> {
    let mut spans = Vec::new();
    flow.protocol.take_state_packets(&mut spans);
    for (first, last) in spans {
        sink.state_packets(flow.stream, first, last)?;
    }
    Ok(())
}

/// Turns the exchanges a parser produced on `flow` into entries for `sink`, counting them (and
/// noting their protocols for the flow's connection record).
fn emit_entries<S: Sink>(
    exchanges: &mut Vec<Exchange>,
    flow: &mut Flow,
    config: &PipelineConfig,
    identity: &dyn IdentityResolver,
    stats: &mut PipelineStats,
    sink: &mut S,
) -> Result<(), S::Error> {
    for exchange in exchanges.drain(..) {
        flow.conn.found(exchange.protocol);
        sink.entry(build_entry(exchange, flow, config, identity))?;
        stats.entries += 1;
    }
    Ok(())
}

/// Sends the connection record of a TCP/UDP `flow` cut at `now_ns` (see [`crate::conn`]),
/// counting it like any entry; a record in any `state` but `open` is the flow's last.
#[allow(clippy::too_many_arguments)]
fn emit_conn<S: Sink>(
    flow: &mut Flow,
    state: ConnState,
    now_ns: i64,
    config: &PipelineConfig,
    identity: &dyn IdentityResolver,
    stats: &mut PipelineStats,
    sink: &mut S,
) -> Result<(), S::Error> {
    if flow.conn.done || flow.transport == Transport::Icmp {
        return Ok(());
    }
    if state == ConnState::Open && flow.conn.since.is_none() {
        // Still open with nothing new since its last record: nothing to say.
        return Ok(());
    }
    let exchange = conn_exchange(flow, state);
    if state != ConnState::Open {
        flow.conn.done = true;
        flow.conn.closing = None;
    }
    sink.entry(conn_entry(exchange, flow, now_ns, config, identity))?;
    stats.entries += 1;
    Ok(())
}
