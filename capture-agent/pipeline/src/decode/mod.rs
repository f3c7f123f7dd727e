//! Decoding packets: link layer → IP (with fragment reassembly) → TCP, UDP or ICMP.
//!
//! Each layer is read with bounds checks only (no panics on any input). A packet cut short by the
//! snaplen is decoded as far as it goes: a transport payload shorter than the headers announce is
//! returned with its announced length, so reassembly sees the missing bytes as a gap.

mod error;
mod fragments;
mod icmp;
mod ip;
mod link;
mod transport;

pub use error::DecodeError;
pub use fragments::{DefragLimits, Defragmenter};
pub use icmp::{IcmpMessage, icmp_error_text, icmp_type_name, parse_icmp};
pub use ip::{IpPacket, parse_ip};
pub use link::{NetworkProtocol, link_payload, link_type_supported};
pub use transport::{TcpFlags, TcpSegment, UdpDatagram, parse_tcp, parse_udp};
