//! TCP and UDP headers.

use super::error::{DecodeError, field};

/// TCP control flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    /// FIN: the sender is done sending.
    pub fn fin(self) -> bool {
        self.0 & 0x01 != 0
    }
    /// SYN: opens a connection; its sequence number precedes the first data byte.
    pub fn syn(self) -> bool {
        self.0 & 0x02 != 0
    }
    /// RST: the connection is aborted.
    pub fn rst(self) -> bool {
        self.0 & 0x04 != 0
    }
    /// ACK: the acknowledgment number is valid.
    pub fn ack(self) -> bool {
        self.0 & 0x10 != 0
    }
}

/// A TCP segment's header fields and payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpSegment<'a> {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number of the first payload byte (of the SYN when `flags.syn()`).
    pub seq: u32,
    /// Acknowledgment number.
    pub ack: u32,
    /// Control flags.
    pub flags: TcpFlags,
    /// Payload present in the capture.
    pub payload: &'a [u8],
    /// Payload length the IP header announces (larger than `payload` when cut by the snaplen).
    pub announced_len: usize,
}

/// A UDP datagram's ports and payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpDatagram<'a> {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Payload present in the capture.
    pub payload: &'a [u8],
}

/// Reads a TCP header from an IP payload whose announced length is `announced_len`.
pub fn parse_tcp(data: &[u8], announced_len: usize) -> Result<TcpSegment<'_>, DecodeError> {
    let h = field::<20>(data, 0, "tcp")?;
    let header_len = usize::from(h[12] >> 4) * 4;
    if header_len < 20 {
        return Err(DecodeError::Malformed {
            layer: "tcp",
            reason: "data offset below 20",
        });
    }
    let payload = data.get(header_len..).ok_or(DecodeError::Truncated {
        layer: "tcp",
        have: data.len(),
        need: header_len,
    })?;
    Ok(TcpSegment {
        src_port: u16::from_be_bytes([h[0], h[1]]),
        dst_port: u16::from_be_bytes([h[2], h[3]]),
        seq: u32::from_be_bytes([h[4], h[5], h[6], h[7]]),
        ack: u32::from_be_bytes([h[8], h[9], h[10], h[11]]),
        flags: TcpFlags(h[13]),
        payload,
        announced_len: announced_len.saturating_sub(header_len).max(payload.len()),
    })
}

/// Reads a UDP header; the payload ends where the UDP length says, or where the capture does.
pub fn parse_udp(data: &[u8]) -> Result<UdpDatagram<'_>, DecodeError> {
    let h = field::<8>(data, 0, "udp")?;
    let length = usize::from(u16::from_be_bytes([h[4], h[5]]));
    let end = if length >= 8 {
        length.min(data.len())
    } else {
        data.len()
    };
    Ok(UdpDatagram {
        src_port: u16::from_be_bytes([h[0], h[1]]),
        dst_port: u16::from_be_bytes([h[2], h[3]]),
        payload: data.get(8..end).unwrap_or_default(),
    })
}
