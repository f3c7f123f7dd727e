//! Where a flow's packets lie in one segment: (packet number, byte offset) pairs, delta-encoded as
//! LEB128 varints so a packet costs two or three bytes of index.

/// Encodes `(packet, offset)` pairs, both ascending.
pub(crate) fn encode(pairs: &[(u64, u64)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(pairs.len() * 3);
    let (mut last_packet, mut last_offset) = (0u64, 0u64);
    for &(packet, offset) in pairs {
        put_varint(&mut out, packet.wrapping_sub(last_packet));
        put_varint(&mut out, offset.wrapping_sub(last_offset));
        (last_packet, last_offset) = (packet, offset);
    }
    out
}

/// Decodes what [`encode`] wrote; a damaged tail is ignored.
pub(crate) fn decode(mut data: &[u8]) -> Vec<(u64, u64)> {
    let mut pairs = Vec::new();
    let (mut packet, mut offset) = (0u64, 0u64);
    while let (Some(dp), Some(doff)) = (take_varint(&mut data), take_varint(&mut data)) {
        packet = packet.wrapping_add(dp);
        offset = offset.wrapping_add(doff);
        pairs.push((packet, offset));
    }
    pairs
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn take_varint(data: &mut &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = data.split_first()?;
        *data = rest;
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_round_trip_compactly() {
        let pairs = vec![
            (1_000_000, 24),
            (1_000_003, 1_514),
            (1_000_009, 70_000),
            (u64::MAX, u64::MAX),
        ];
        assert_eq!(decode(&encode(&pairs)), pairs);
        let near: Vec<(u64, u64)> = (0..100)
            .map(|i| (5_000_000 + i * 2, 24 + i * 100))
            .collect();
        assert!(encode(&near).len() < 2 * 100 + 10);
        assert_eq!(decode(&[0x80]), vec![]);
    }
}
