//! The Internet checksum (RFC 1071) used by IPv4, TCP and UDP.

/// Adds `data` to a running ones'-complement sum; odd lengths are padded with a zero byte.
pub(crate) fn add(mut sum: u64, data: &[u8]) -> u64 {
    let mut words = data.chunks_exact(4);
    for word in &mut words {
        sum += u64::from(u32::from_be_bytes([word[0], word[1], word[2], word[3]]));
    }
    let rest = words.remainder();
    let mut tail = [0u8; 4];
    if let Some(head) = tail.get_mut(..rest.len()) {
        head.copy_from_slice(rest);
    }
    sum + u64::from(u32::from_be_bytes(tail))
}

/// Folds a running sum into the 16-bit checksum field value.
pub(crate) fn finish(mut sum: u64) -> u16 {
    while sum > 0xFFFF {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::{add, finish};

    #[test]
    fn rfc1071_example() {
        // RFC 1071 section 3: the sum of 0001 f203 f4f5 f6f7 is ddf2, so the checksum is 220d.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(finish(add(0, &data)), !0xddf2);
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(
            finish(add(0, &[0x12, 0x34, 0x56])),
            finish(add(0, &[0x12, 0x34, 0x56, 0x00]))
        );
    }

    #[test]
    fn a_packet_with_its_checksum_sums_to_zero() {
        let mut header = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        let sum = finish(add(0, &header));
        header[10..12].copy_from_slice(&sum.to_be_bytes());
        assert_eq!(finish(add(0, &header)), 0);
        assert_eq!(sum, 0xb861);
    }
}
