//! ICMP and ICMPv6 messages: echo requests and replies (identifier, sequence), and the errors
//! that report a packet (destination unreachable, time exceeded, packet too big, parameter
//! problem) with the transport and addresses of the packet they quote.

use std::net::{IpAddr, SocketAddr};

use super::ip::parse_ip;
use super::link::NetworkProtocol;

/// What an ICMP message is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IcmpMessage {
    /// An echo request (`reply` false) or reply, by identifier and sequence number.
    Echo {
        /// A reply rather than a request.
        reply: bool,
        /// The identifier (one per ping process).
        id: u16,
        /// The sequence number.
        seq: u16,
    },
    /// An error about a packet, and the flow of the packet it quotes when readable.
    Error {
        /// The message type.
        kind: u8,
        /// The code.
        code: u8,
        /// The quoted packet's transport (6, 17, 1 or 58), source and destination (ports 0 for
        /// ICMP, as ICMP flows are keyed).
        quoted: Option<(u8, SocketAddr, SocketAddr)>,
        /// The identifier and sequence number of a quoted echo request.
        echo: Option<(u16, u16)>,
    },
    /// Anything else (router and neighbour discovery, …): not dissected.
    Other,
}

/// Reads the ICMP (`v6` false) or ICMPv6 message `data`.
pub fn parse_icmp(data: &[u8], v6: bool) -> IcmpMessage {
    let (Some(&kind), Some(&code)) = (data.first(), data.get(1)) else {
        return IcmpMessage::Other;
    };
    let word = |at: usize| -> Option<u16> {
        Some(u16::from_be_bytes([*data.get(at)?, *data.get(at + 1)?]))
    };
    let (request, reply, errors): (u8, u8, &[u8]) = if v6 {
        (128, 129, &[1, 2, 3, 4])
    } else {
        (8, 0, &[3, 4, 5, 11, 12])
    };
    if kind == request || kind == reply {
        return match (word(4), word(6)) {
            (Some(id), Some(seq)) => IcmpMessage::Echo {
                reply: kind == reply,
                id,
                seq,
            },
            _ => IcmpMessage::Other,
        };
    }
    if errors.contains(&kind) {
        let quoted = data.get(8..).unwrap_or_default();
        return IcmpMessage::Error {
            kind,
            code,
            quoted: quoted_flow(quoted, v6),
            echo: quoted_echo(quoted, v6),
        };
    }
    IcmpMessage::Other
}

/// The transport, source and destination of the packet an error quotes (its IP header and at
/// least the first 8 bytes after it).
fn quoted_flow(quoted: &[u8], v6: bool) -> Option<(u8, SocketAddr, SocketAddr)> {
    let version = if v6 {
        NetworkProtocol::V6
    } else {
        NetworkProtocol::V4
    };
    let ip = parse_ip(version, quoted).ok()?;
    let head = ip.payload;
    let port = |at: usize| -> Option<u16> {
        Some(u16::from_be_bytes([*head.get(at)?, *head.get(at + 1)?]))
    };
    let at = |addr: IpAddr, port: u16| SocketAddr::new(addr, port);
    match ip.protocol {
        6 | 17 => Some((ip.protocol, at(ip.src, port(0)?), at(ip.dst, port(2)?))),
        1 | 58 => Some((ip.protocol, at(ip.src, 0), at(ip.dst, 0))),
        _ => None,
    }
}

/// The identifier and sequence number of the echo request an error quotes.
fn quoted_echo(quoted: &[u8], v6: bool) -> Option<(u16, u16)> {
    let version = if v6 {
        NetworkProtocol::V6
    } else {
        NetworkProtocol::V4
    };
    let ip = parse_ip(version, quoted).ok()?;
    match parse_icmp(ip.payload, v6) {
        IcmpMessage::Echo {
            reply: false,
            id,
            seq,
        } if matches!(ip.protocol, 1 | 58) => Some((id, seq)),
        _ => None,
    }
}

/// The name of an ICMP (`v6` false) or ICMPv6 type, as tshark words it (`echo-request`,
/// `destination-unreachable`, `time-exceeded`, …), else the number.
pub fn icmp_type_name(kind: u8, v6: bool) -> String {
    let name = match (v6, kind) {
        (false, 0) | (true, 129) => "echo-reply",
        (false, 8) | (true, 128) => "echo-request",
        (false, 3) | (true, 1) => "destination-unreachable",
        (false, 11) | (true, 3) => "time-exceeded",
        (false, 4) => "source-quench",
        (false, 5) => "redirect",
        (false, 12) | (true, 4) => "parameter-problem",
        (true, 2) => "packet-too-big",
        _ => return kind.to_string(),
    };
    name.to_string()
}

/// Why a destination was unreachable, or the time exceeded, in words (`port unreachable`, …).
pub fn icmp_error_text(kind: u8, code: u8, v6: bool) -> String {
    let text = match (v6, kind, code) {
        (false, 3, 0) => "network unreachable",
        (false, 3, 1) | (true, 1, 3) => "host unreachable",
        (false, 3, 2) => "protocol unreachable",
        (false, 3, 3) | (true, 1, 4) => "port unreachable",
        (false, 3, 4) => "fragmentation needed",
        (false, 3, 13) | (true, 1, 1) => "administratively prohibited",
        (true, 1, 0) => "no route to destination",
        (false, 11, 0) | (true, 3, 0) => "time to live exceeded in transit",
        (false, 11, 1) | (true, 3, 1) => "fragment reassembly time exceeded",
        (true, 2, _) => "packet too big",
        (false, 3, _) | (true, 1, _) => "destination unreachable",
        (false, 11, _) | (true, 3, _) => "time exceeded",
        _ => "parameter problem",
    };
    text.to_string()
}
