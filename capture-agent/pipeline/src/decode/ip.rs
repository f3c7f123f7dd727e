//! IPv4 and IPv6 headers (IPv6 extension headers included): addresses, protocol, payload, fragment.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::error::{DecodeError, field};
use super::link::NetworkProtocol;

/// Where a fragment belongs in its datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fragment {
    /// Identification shared by all fragments of one datagram.
    pub id: u32,
    /// Byte offset of this fragment's payload in the datagram's payload.
    pub offset: usize,
    /// More fragments follow.
    pub more: bool,
}

/// An IP packet's header fields and payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpPacket<'a> {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Transport protocol number (6 TCP, 17 UDP, …).
    pub protocol: u8,
    /// The payload present in the capture (may be shorter than announced when cut by the snaplen).
    pub payload: &'a [u8],
    /// Payload length the header announces.
    pub announced_len: usize,
    /// Set when the packet is a fragment of a larger datagram.
    pub fragment: Option<Fragment>,
}

/// Reads an IPv4 or IPv6 header.
pub fn parse_ip(version: NetworkProtocol, data: &[u8]) -> Result<IpPacket<'_>, DecodeError> {
    match version {
        NetworkProtocol::V4 => parse_v4(data),
        NetworkProtocol::V6 => parse_v6(data),
    }
}

fn parse_v4(data: &[u8]) -> Result<IpPacket<'_>, DecodeError> {
    let header = field::<20>(data, 0, "ipv4")?;
    let [
        version_ihl,
        _,
        len_hi,
        len_lo,
        id_hi,
        id_lo,
        flags_hi,
        flags_lo,
        _,
        protocol,
        _,
        _,
        s0,
        s1,
        s2,
        s3,
        d0,
        d1,
        d2,
        d3,
    ] = header;
    if version_ihl >> 4 != 4 {
        return Err(DecodeError::Malformed {
            layer: "ipv4",
            reason: "version is not 4",
        });
    }
    let header_len = usize::from(version_ihl & 0x0f) * 4;
    if header_len < 20 {
        return Err(DecodeError::Malformed {
            layer: "ipv4",
            reason: "header length below 20",
        });
    }
    let total_len = usize::from(u16::from_be_bytes([len_hi, len_lo]));
    // TSO/GRO captures carry total length 0; then the capture length rules.
    let total_len = if total_len == 0 {
        data.len()
    } else {
        total_len
    };
    if total_len < header_len {
        return Err(DecodeError::Malformed {
            layer: "ipv4",
            reason: "total length below header length",
        });
    }
    let end = total_len.min(data.len());
    let payload = data.get(header_len..end).ok_or(DecodeError::Truncated {
        layer: "ipv4",
        have: data.len(),
        need: header_len,
    })?;
    let flags = u16::from_be_bytes([flags_hi, flags_lo]);
    let more = flags & 0x2000 != 0;
    let offset = usize::from(flags & 0x1fff) * 8;
    let fragment = (more || offset > 0).then_some(Fragment {
        id: u32::from(u16::from_be_bytes([id_hi, id_lo])),
        offset,
        more,
    });
    Ok(IpPacket {
        src: IpAddr::V4(Ipv4Addr::new(s0, s1, s2, s3)),
        dst: IpAddr::V4(Ipv4Addr::new(d0, d1, d2, d3)),
        protocol,
        payload,
        announced_len: total_len - header_len,
        fragment,
    })
}

fn parse_v6(data: &[u8]) -> Result<IpPacket<'_>, DecodeError> {
    let header = field::<40>(data, 0, "ipv6")?;
    if header[0] >> 4 != 6 {
        return Err(DecodeError::Malformed {
            layer: "ipv6",
            reason: "version is not 6",
        });
    }
    let payload_len = usize::from(u16::from_be_bytes([header[4], header[5]]));
    let mut next = header[6];
    let src = Ipv6Addr::from(field::<16>(data, 8, "ipv6")?);
    let dst = Ipv6Addr::from(field::<16>(data, 24, "ipv6")?);
    // Jumbograms and TSO captures carry payload length 0; then the capture length rules.
    let announced_end = if payload_len == 0 {
        data.len()
    } else {
        40 + payload_len
    };
    let mut at = 40usize;
    let mut fragment = None;
    loop {
        match next {
            // Hop-by-hop, routing, destination options: next header, length in 8-byte units beyond the first 8.
            0 | 43 | 60 => {
                let [nh, len] = field::<2>(data, at, "ipv6 extension")?;
                next = nh;
                at = at.saturating_add((usize::from(len) + 1) * 8);
            }
            44 => {
                let ext = field::<8>(data, at, "ipv6 fragment")?;
                next = ext[0];
                let offset_flags = u16::from_be_bytes([ext[2], ext[3]]);
                fragment = Some(Fragment {
                    id: u32::from_be_bytes([ext[4], ext[5], ext[6], ext[7]]),
                    offset: usize::from(offset_flags >> 3) * 8,
                    more: offset_flags & 1 != 0,
                });
                at = at.saturating_add(8);
            }
            _ => break,
        }
    }
    if at > announced_end {
        return Err(DecodeError::Malformed {
            layer: "ipv6",
            reason: "extension headers run past the payload",
        });
    }
    let end = announced_end.min(data.len());
    let payload = data.get(at..end).ok_or(DecodeError::Truncated {
        layer: "ipv6",
        have: data.len(),
        need: at,
    })?;
    Ok(IpPacket {
        src: IpAddr::V6(src),
        dst: IpAddr::V6(dst),
        protocol: next,
        payload,
        announced_len: announced_end - at,
        fragment,
    })
}
