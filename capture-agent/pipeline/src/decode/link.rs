//! Link layers: Ethernet (with 802.1Q/802.1ad tags), Linux cooked SLL and SLL2, raw IP, BSD loopback.
//! SLL and SLL2 are read by hand: their loopback hardware type (772) is not Ethernet.

use super::error::{DecodeError, field};

/// IP version carried by the link layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkProtocol {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

const ETHERNET: u32 = 1;
const RAW: u32 = 101;
const RAW_BSD_12: u32 = 12;
const RAW_BSD_14: u32 = 14;
const NULL: u32 = 0;
const LOOP: u32 = 108;
const SLL: u32 = 113;
const SLL2: u32 = 276;
const IPV4: u32 = 228;
const IPV6: u32 = 229;

/// Whether [`link_payload`] can decode this LINKTYPE_* number.
pub fn link_type_supported(linktype: u32) -> bool {
    matches!(
        linktype,
        ETHERNET | RAW | RAW_BSD_12 | RAW_BSD_14 | NULL | LOOP | SLL | SLL2 | IPV4 | IPV6
    )
}

/// Strips the link-layer header: the IP version and the bytes from the IP header on.
pub fn link_payload(linktype: u32, data: &[u8]) -> Result<(NetworkProtocol, &[u8]), DecodeError> {
    match linktype {
        ETHERNET => {
            let [a, b] = field::<2>(data, 12, "ethernet")?;
            ethertype_payload(
                u16::from_be_bytes([a, b]),
                data.get(14..).unwrap_or_default(),
                "ethernet",
            )
        }
        SLL => {
            let [a, b] = field::<2>(data, 14, "linux sll")?;
            ethertype_payload(
                u16::from_be_bytes([a, b]),
                data.get(16..).unwrap_or_default(),
                "linux sll",
            )
        }
        SLL2 => {
            let [a, b] = field::<2>(data, 0, "linux sll2")?;
            field::<20>(data, 0, "linux sll2")?;
            ethertype_payload(
                u16::from_be_bytes([a, b]),
                data.get(20..).unwrap_or_default(),
                "linux sll2",
            )
        }
        RAW | RAW_BSD_12 | RAW_BSD_14 => raw_ip(data),
        IPV4 => Ok((NetworkProtocol::V4, data)),
        IPV6 => Ok((NetworkProtocol::V6, data)),
        NULL | LOOP => {
            let family = field::<4>(data, 0, "loopback")?;
            // The family is in the capturing host's byte order (NULL) or network order (LOOP);
            // accept either: the values never collide.
            let family = u32::from_le_bytes(family).min(u32::from_be_bytes(family));
            let payload = data.get(4..).unwrap_or_default();
            match family {
                2 => Ok((NetworkProtocol::V4, payload)),
                // AF_INET6 differs between BSDs (24, 28, 30) and Linux (10).
                10 | 24 | 28 | 30 => Ok((NetworkProtocol::V6, payload)),
                other => Err(DecodeError::NotIp(other)),
            }
        }
        other => Err(DecodeError::UnsupportedLinkType(other)),
    }
}

/// Follows an ethertype through VLAN tags to IPv4 or IPv6.
fn ethertype_payload<'a>(
    mut ethertype: u16,
    mut payload: &'a [u8],
    layer: &'static str,
) -> Result<(NetworkProtocol, &'a [u8]), DecodeError> {
    loop {
        match ethertype {
            0x0800 => return Ok((NetworkProtocol::V4, payload)),
            0x86dd => return Ok((NetworkProtocol::V6, payload)),
            0x8100 | 0x88a8 | 0x9100 => {
                let [a, b] = field::<2>(payload, 2, layer)?;
                ethertype = u16::from_be_bytes([a, b]);
                payload = payload.get(4..).unwrap_or_default();
            }
            other => return Err(DecodeError::NotIp(u32::from(other))),
        }
    }
}

/// Raw IP: the version nibble says which.
fn raw_ip(data: &[u8]) -> Result<(NetworkProtocol, &[u8]), DecodeError> {
    let [first] = field::<1>(data, 0, "ip")?;
    match first >> 4 {
        4 => Ok((NetworkProtocol::V4, data)),
        6 => Ok((NetworkProtocol::V6, data)),
        _ => Err(DecodeError::Malformed {
            layer: "ip",
            reason: "version is neither 4 nor 6",
        }),
    }
}
