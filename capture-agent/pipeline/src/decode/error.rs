//! Why a packet could not be decoded, and the bounds-checked field read every layer uses.

/// Why a packet could not be decoded down to TCP or UDP.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// A header is cut off before its end.
    #[error("{layer} header cut off ({have} of {need} bytes)")]
    Truncated {
        /// Which header (`ethernet`, `ipv4`, `tcp`, …).
        layer: &'static str,
        /// Bytes present.
        have: usize,
        /// Bytes the header needs.
        need: usize,
    },
    /// The link layer carries something other than IPv4 or IPv6 (ARP, LLDP, …).
    #[error("not an IP packet (link protocol {0:#06x})")]
    NotIp(u32),
    /// The capture's link type is not one the decoder knows.
    #[error("unsupported link type {0}")]
    UnsupportedLinkType(u32),
    /// A header field holds an impossible value.
    #[error("malformed {layer} header: {reason}")]
    Malformed {
        /// Which header.
        layer: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
}

/// Returns `bytes[at..at + N]` as an array, or a truncation error naming `layer`.
pub(crate) fn field<const N: usize>(
    bytes: &[u8],
    at: usize,
    layer: &'static str,
) -> Result<[u8; N], DecodeError> {
    bytes
        .get(at..at.saturating_add(N))
        .and_then(|s| <[u8; N]>::try_from(s).ok())
        .ok_or(DecodeError::Truncated {
            layer,
            have: bytes.len(),
            need: at.saturating_add(N),
        })
}
