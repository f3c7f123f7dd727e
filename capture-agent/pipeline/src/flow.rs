//! Flows: TCP connections, UDP conversations and ICMP echo between two hosts, keyed by their 5-tuple, with client and server
//! told apart (from the SYN, else from well-known ports), per-direction counters and state, an
//! idle timeout and a bound on how many are tracked.

use std::collections::HashMap;
use std::net::SocketAddr;

use crate::conn::ConnRecord;
use crate::dispatch::{FlowPorts, FlowProtocol};
use crate::dissect::{Direction, Unfinished, registry};
use crate::reassembly::{ReassemblyLimits, TcpReassembler};

/// TCP or UDP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// A TCP connection.
    Tcp,
    /// A UDP conversation.
    Udp,
    /// ICMP or ICMPv6 echo between two hosts (ports 0).
    Icmp,
}

/// A flow's identity, the same for both directions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlowKey {
    transport: Transport,
    low: SocketAddr,
    high: SocketAddr,
}

impl FlowKey {
    /// The key of the flow a packet from `src` to `dst` belongs to.
    pub fn new(transport: Transport, src: SocketAddr, dst: SocketAddr) -> Self {
        let (low, high) = if src <= dst { (src, dst) } else { (dst, src) };
        FlowKey {
            transport,
            low,
            high,
        }
    }
}

/// One flow's state.
pub struct Flow {
    /// TCP or UDP.
    pub transport: Transport,
    /// The side that opened the connection (or sends requests).
    pub client: SocketAddr,
    /// The side that answers.
    pub server: SocketAddr,
    /// Flow id from the sink.
    pub stream: u64,
    /// Client and server are known from a SYN (not guessed).
    pub direction_known: bool,
    /// Timestamp of the first packet.
    pub first_ts: i64,
    /// Timestamp of the latest packet.
    pub last_ts: i64,
    /// Packet number of the first packet.
    pub first_packet: u64,
    /// Packet number of the latest packet.
    pub last_packet: u64,
    /// Payload bytes per direction (to server, to client).
    pub bytes: [u64; 2],
    /// Packets per direction (to server, to client).
    pub packets: [u64; 2],
    /// TCP reassembly per direction.
    pub reassembly: [TcpReassembler; 2],
    /// FIN seen per direction.
    pub fin: [bool; 2],
    /// The client's SYN sequence number, when seen.
    pub client_isn: Option<u32>,
    /// The flow began with the client's SYN and has carried no data yet: its packets so far are
    /// the TCP handshake, reported to the sink when the first data (or FIN/RST) arrives.
    pub in_handshake: bool,
    /// What the payload is handed to.
    pub protocol: FlowProtocol,
    /// The flow ended (FIN both ways or RST) and its entries were emitted; later packets (the
    /// last ACKs) are only counted until a new SYN reuses the 5-tuple or the flow goes idle.
    pub closed: bool,
    /// What its connection record starts from and says (handshake RTT, protocols found).
    pub conn: ConnRecord,
}

impl Flow {
    /// A new flow whose first packet went from `src` to `dst`. `syn` is `Some(ack)` for a TCP SYN.
    pub fn new(
        transport: Transport,
        src: SocketAddr,
        dst: SocketAddr,
        syn: Option<bool>,
        stream: u64,
        ts_ns: i64,
        limits: ReassemblyLimits,
    ) -> Self {
        let (client, server, direction_known) = match syn {
            Some(false) => (src, dst, true),
            Some(true) => (dst, src, true),
            None if looks_like_server(src.port(), dst.port()) => (dst, src, false),
            None => (src, dst, false),
        };
        Flow {
            transport,
            client,
            server,
            stream,
            direction_known,
            first_ts: ts_ns,
            last_ts: ts_ns,
            first_packet: 0,
            last_packet: 0,
            bytes: [0; 2],
            packets: [0; 2],
            reassembly: [TcpReassembler::new(limits), TcpReassembler::new(limits)],
            fin: [false; 2],
            client_isn: None,
            in_handshake: syn == Some(false),
            protocol: FlowProtocol::Probing(Box::default()),
            closed: false,
            conn: ConnRecord::default(),
        }
    }

    /// The direction of a packet sent from `src`.
    pub fn direction_from(&self, src: SocketAddr) -> Direction {
        if src == self.client {
            Direction::ToServer
        } else {
            Direction::ToClient
        }
    }

    /// The ports as currently labelled.
    pub fn ports(&self) -> FlowPorts {
        FlowPorts {
            client: self.client.port(),
            server: self.server.port(),
            direction_known: self.direction_known,
        }
    }

    /// Turns client and server round (content showed the guess was wrong).
    pub fn flip(&mut self) {
        std::mem::swap(&mut self.client, &mut self.server);
        self.bytes.swap(0, 1);
        self.packets.swap(0, 1);
        self.reassembly.swap(0, 1);
        self.fin.swap(0, 1);
        self.conn.flip();
    }

    /// The start of the earliest entry this flow can still emit, if it can emit one: what its
    /// parser holds unfinished; the flow's first packet when bytes wait out of order in
    /// reassembly (their exchange may have begun at any time), when no parser has claimed the
    /// flow yet (its bytes are held for probing), or when the parser cannot tell. Else, while
    /// its connection record is still to come, what it will be stamped at the earliest: a
    /// closed connection's last packet; for an open one, `newest_ns` (the latest packet pushed),
    /// or when it would time out (`timeout_ns` after its last packet) if that is earlier.
    pub fn unfinished_since(&self, newest_ns: i64, timeout_ns: i64) -> Option<i64> {
        let record = if self.transport == Transport::Icmp || self.conn.done {
            None
        } else if self.closed {
            self.conn.closing.map(|_| self.last_ts)
        } else {
            Some(newest_ns.min(self.last_ts.saturating_add(timeout_ns)))
        };
        if self.closed {
            return record;
        }
        let held_out_of_order = self.reassembly.iter().any(|r| r.buffered() > 0);
        match &self.protocol {
            FlowProtocol::Pinned(parser) if !held_out_of_order => match parser.unfinished() {
                Unfinished::Since(ts_ns) => Some(ts_ns),
                Unfinished::Nothing => record,
                Unfinished::Unknown => Some(self.first_ts),
            },
            FlowProtocol::Unclaimed if !held_out_of_order => record,
            _ => Some(self.first_ts),
        }
    }

    /// Whether packets went one way only so far: a half-open connection, an unanswered query.
    pub fn one_way(&self) -> bool {
        self.packets.contains(&0)
    }

    /// Counts a packet of `dir` carrying `payload` bytes.
    pub fn count(&mut self, dir: Direction, payload: usize, ts_ns: i64, packet: u64) {
        let i = dir.slot();
        self.bytes[i] += payload as u64;
        self.packets[i] += 1;
        self.last_ts = self.last_ts.max(ts_ns);
        if self.packets.iter().sum::<u64>() == 1 {
            self.first_packet = packet;
        }
        self.last_packet = packet;
        self.conn.counted(packet, ts_ns);
    }
}

/// Whether `src_port` looks like the server side of a flow towards `dst_port`: a registered or
/// well-known port facing an ephemeral one, else the lower port.
fn looks_like_server(src_port: u16, dst_port: u16) -> bool {
    let rank = |port: u16| -> u8 {
        if registry().iter().any(|d| d.ports().contains(&port)) {
            0
        } else if port < 1024 {
            1
        } else if port < 32768 {
            2
        } else {
            3
        }
    };
    (rank(src_port), src_port) < (rank(dst_port), dst_port)
}

/// The flows being tracked.
/// Flows are boxed so the table's slots stay small: growing it moves pointers, not flows, and
/// its spare capacity costs little (this matters with 100k flows open at once). Keys are hashed
/// with foldhash (seeded per process, so traffic cannot aim at its buckets): the pipeline looks a
/// flow up several times per packet, and SipHash over the two socket addresses was ~4 % of an
/// import's instructions. Nothing depends on the table's order (see [`FlowTable::take_sorted`]).
#[derive(Default)]
#[allow(clippy::len_without_is_empty)]
pub struct FlowTable {
    flows: HashMap<FlowKey, Box<Flow>, foldhash::fast::RandomState>,
}

impl FlowTable {
    /// Flows tracked now.
    pub fn len(&self) -> usize {
        self.flows.len()
    }

    /// The flow with this key.
    pub fn get_mut(&mut self, key: &FlowKey) -> Option<&mut Flow> {
        self.flows.get_mut(key).map(|f| &mut **f)
    }

    /// Starts tracking a flow (replacing none: the caller removed any old one).
    pub fn insert(&mut self, key: FlowKey, flow: Box<Flow>) {
        self.flows.insert(key, flow);
    }

    /// Stops tracking a flow and hands it back.
    pub fn remove(&mut self, key: &FlowKey) -> Option<Box<Flow>> {
        self.flows.remove(key)
    }

    /// The start of the earliest entry the flows tracked now can still emit (see
    /// [`Flow::unfinished_since`], `newest_ns` the latest packet pushed, `timeout_ns` a
    /// transport's idle timeout); `None` when none can.
    pub fn earliest_unfinished(
        &self,
        newest_ns: i64,
        timeout_ns: impl Fn(Transport) -> i64,
    ) -> Option<i64> {
        self.flows
            .values()
            .filter_map(|f| f.unfinished_since(newest_ns, timeout_ns(f.transport)))
            .min()
    }

    /// Removes the TCP flows idle since before `tcp_cutoff_ns` and the UDP flows idle since
    /// before `udp_cutoff_ns`, oldest first.
    pub fn take_idle(&mut self, tcp_cutoff_ns: i64, udp_cutoff_ns: i64) -> Vec<Flow> {
        let idle = |f: &Flow| match f.transport {
            Transport::Tcp => f.last_ts < tcp_cutoff_ns,
            Transport::Udp | Transport::Icmp => f.last_ts < udp_cutoff_ns,
        };
        let keys: Vec<FlowKey> = self
            .flows
            .iter()
            .filter(|(_, f)| idle(f))
            .map(|(k, _)| *k)
            .collect();
        self.take_sorted(keys)
    }

    /// Removes `count` flows to make room: those that carried packets one way only (what a SYN
    /// flood, a scan or unanswered queries leave) before those that were answered, and the
    /// longest idle first within each kind, so a flood gives up its own flows before the traffic
    /// that was answered loses any.
    pub fn take_evictable(&mut self, count: usize) -> Vec<Flow> {
        let mut ranks: Vec<(bool, i64, FlowKey)> = self
            .flows
            .iter()
            .map(|(k, f)| (!f.one_way(), f.last_ts, *k))
            .collect();
        let count = count.min(ranks.len());
        if count == 0 {
            return Vec::new();
        }
        if count < ranks.len() {
            ranks.select_nth_unstable_by_key(count - 1, |(answered, idle_since, _)| {
                (*answered, *idle_since)
            });
        }
        ranks.truncate(count);
        self.take_sorted(ranks.into_iter().map(|(_, _, k)| k).collect())
    }

    /// Removes the longest-idle flows that carried packets one way only when more than `keep`
    /// of them are tracked, down to `keep - slack` of them (so the next check is not at once).
    pub fn take_one_way_beyond(&mut self, keep: usize, slack: usize) -> Vec<Flow> {
        let mut one_way: Vec<(i64, FlowKey)> = self
            .flows
            .iter()
            .filter(|(_, f)| f.one_way())
            .map(|(k, f)| (f.last_ts, *k))
            .collect();
        if one_way.len() <= keep {
            return Vec::new();
        }
        let count = (one_way.len() - keep + slack).min(one_way.len());
        if count < one_way.len() {
            one_way.select_nth_unstable_by_key(count - 1, |(idle_since, _)| *idle_since);
        }
        one_way.truncate(count);
        self.take_sorted(one_way.into_iter().map(|(_, k)| k).collect())
    }

    /// The keys of the flows `pick` chooses, in the order their streams began.
    pub fn keys_where(&self, pick: impl Fn(&Flow) -> bool) -> Vec<FlowKey> {
        let mut picked: Vec<(u64, FlowKey)> = self
            .flows
            .iter()
            .filter(|(_, f)| pick(f))
            .map(|(k, f)| (f.stream, *k))
            .collect();
        picked.sort_unstable_by_key(|(stream, _)| *stream);
        picked.into_iter().map(|(_, k)| k).collect()
    }

    /// Removes every flow, oldest first.
    pub fn take_all(&mut self) -> Vec<Flow> {
        let keys: Vec<FlowKey> = self.flows.keys().copied().collect();
        self.take_sorted(keys)
    }

    /// Removes the flows of `keys`, oldest first (whatever order the table holds them in).
    fn take_sorted(&mut self, keys: Vec<FlowKey>) -> Vec<Flow> {
        let mut flows: Vec<Flow> = keys
            .iter()
            .filter_map(|k| self.flows.remove(k).map(|f| *f))
            .collect();
        flows.sort_by_key(|f| (f.first_ts, f.stream));
        flows
    }
}
