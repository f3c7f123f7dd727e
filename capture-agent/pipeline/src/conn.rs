//! Connection records: what a TCP connection or UDP conversation did as a whole, whatever its
//! payload, for its `tcp`/`udp` entry (see [`crate::entry::conn_exchange`]).
//!
//! Every TCP/UDP flow gets one record when it ends (closed by FIN, reset, timed out, evicted, or
//! still open when the capture ended), and one more, marked `open`, each time its packets since
//! its last record span a minute (the segments' default age), so a long connection shows up
//! while it lasts. Each record counts what happened since the previous one, so the records of a
//! flow add up to the flow and nothing is counted twice.
//!
//! A record is stamped with the moment it describes, which the packets alone decide (so import,
//! reindex and replay stamp it alike): a closed connection's last packet (after a moment's
//! grace for the last ACK), a timed-out one's last packet plus the timeout, a minute's record
//! the packet that completed the minute, an evicted one or one open at the end the latest
//! packet. Its `elapsedTime` is the time its packets span. Stamped no earlier than the pipeline
//! said was unfinished, records hold back nothing replay or follow waits for but themselves.

/// A long flow gets a record (state `open`) once its packets since its last one span this long.
pub const CONN_INTERVAL_NS: i64 = 60_000_000_000;

/// After both FINs (or an RST), the record waits this long without a packet (in capture time)
/// for the last ACK or RST, so its packets match what tshark counts for the connection.
pub const CLOSE_GRACE_NS: i64 = 1_000_000_000;

/// Why a flow closed early to keep the pipeline within its memory budget: its pending
/// requests, and its connection record, carry this error.
pub const EVICTED: &str = "evicted (memory limit)";

/// How a connection's record ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnState {
    /// Both sides sent FIN.
    Fin,
    /// A side sent RST.
    Rst,
    /// No packet for the flow timeout.
    Timeout,
    /// Closed early to keep the pipeline within its memory budget.
    Evicted,
    /// Still open: a long connection's record at a minute's mark, or the capture ended.
    Open,
}

impl ConnState {
    /// The state of a record cut because the flow closed for `reason` (the pipeline's words).
    pub fn closed_for(reason: &str) -> ConnState {
        match reason {
            "reset" => ConnState::Rst,
            "closed" => ConnState::Fin,
            "idle timeout" => ConnState::Timeout,
            EVICTED => ConnState::Evicted,
            _ => ConnState::Open,
        }
    }

    /// The word a record holds in `response.state`.
    pub fn word(self) -> &'static str {
        match self {
            ConnState::Fin => "fin",
            ConnState::Rst => "rst",
            ConnState::Timeout => "timeout",
            ConnState::Evicted => "evicted",
            ConnState::Open => "open",
        }
    }
}

/// What a flow's next connection record starts from, and what its handshake and payload showed.
#[derive(Debug, Default)]
pub struct ConnRecord {
    /// Payload bytes per direction (to server, to client) already in earlier records.
    pub recorded_bytes: [u64; 2],
    /// Packets per direction already in earlier records.
    pub recorded_packets: [u64; 2],
    /// The first packet since the last record: its number and timestamp.
    pub since: Option<(u64, i64)>,
    /// When the client's SYN was seen.
    syn_ts: Option<i64>,
    /// When the server's SYN/ACK answering it was seen.
    syn_ack_ts: Option<i64>,
    /// SYN to the client's ACK of the SYN/ACK, in nanoseconds, when the three were seen in order.
    pub rtt_ns: Option<i64>,
    /// The protocols the flow's exchanges were found to be, in order found (`icmp` errors aside).
    pub l7: Vec<&'static str>,
    /// The connection closed this way (FIN both ways, RST): the record waits a moment for the
    /// last packets.
    pub closing: Option<ConnState>,
    /// The flow's last record is out; later packets are not recorded.
    pub done: bool,
}

/// Protocols a flow's record names at most (a flow is pinned to one dissector; an HTTP
/// connection may turn into WebSocket).
const MAX_L7: usize = 4;

impl ConnRecord {
    /// A packet numbered `packet` at `ts_ns` was counted.
    pub fn counted(&mut self, packet: u64, ts_ns: i64) {
        self.since.get_or_insert((packet, ts_ns));
    }

    /// A TCP segment at `ts_ns`: `syn`/`ack` are its flags, `from_client` its direction.
    pub fn handshake(&mut self, syn: bool, ack: bool, from_client: bool, ts_ns: i64) {
        match (syn, ack, from_client) {
            (true, false, true) => {
                self.syn_ts = Some(ts_ns);
                self.syn_ack_ts = None;
                self.rtt_ns = None;
            }
            (true, true, false) if self.syn_ts.is_some() => {
                self.syn_ack_ts.get_or_insert(ts_ns);
            }
            (false, true, true) if self.rtt_ns.is_none() => {
                if let (Some(syn), Some(_)) = (self.syn_ts, self.syn_ack_ts) {
                    self.rtt_ns = Some(ts_ns.saturating_sub(syn).max(0));
                }
            }
            _ => {}
        }
    }

    /// An exchange of `protocol` was found on the flow.
    pub fn found(&mut self, protocol: &'static str) {
        if protocol != "icmp" && !self.l7.contains(&protocol) && self.l7.len() < MAX_L7 {
            self.l7.push(protocol);
        }
    }

    /// Client and server were turned round.
    pub fn flip(&mut self) {
        self.recorded_bytes.swap(0, 1);
        self.recorded_packets.swap(0, 1);
    }

    /// A record was cut at these totals: the next counts from them.
    pub fn cut(&mut self, bytes: [u64; 2], packets: [u64; 2]) {
        self.recorded_bytes = bytes;
        self.recorded_packets = packets;
        self.since = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_handshake_rtt_needs_syn_syn_ack_and_ack_in_order() {
        let mut record = ConnRecord::default();
        record.handshake(false, true, true, 5);
        assert_eq!(record.rtt_ns, None, "an ACK alone measures nothing");
        record.handshake(true, false, true, 10);
        record.handshake(true, true, false, 30);
        record.handshake(false, true, true, 45);
        record.handshake(false, true, true, 90);
        assert_eq!(record.rtt_ns, Some(35), "SYN at 10 to the first ACK at 45");
        let mut no_syn_ack = ConnRecord::default();
        no_syn_ack.handshake(true, false, true, 10);
        no_syn_ack.handshake(false, true, true, 45);
        assert_eq!(no_syn_ack.rtt_ns, None);
    }

    #[test]
    fn protocols_found_are_listed_once_and_icmp_errors_are_not() {
        let mut record = ConnRecord::default();
        for p in ["http", "icmp", "http", "ws"] {
            record.found(p);
        }
        assert_eq!(record.l7, ["http", "ws"]);
    }
}
