//! Where a flow's packets lie in one segment: (packet number, byte offset) pairs, delta-encoded as
//! LEB128 varints, then (since schema version 10) compressed with deflate behind a zero byte when
//! that is smaller. The differences repeat (a benchmark's or a service's exchanges have the same
//! sizes, interleaved the same way), so deflate takes the locations from 5.4–6.0 bytes per entry
//! to 0.8–1.7 on real traffic (BENCHMARKS.md, "A leaner index"). A packet number is never 0, so
//! data written before, which starts with the first one, never starts with a zero byte.
//!
//! They stay deflated while blocks moved to zstd (format 6): zstd made the locations of the
//! benchmark slices 12–16 % larger (1.33 against 1.15 bytes per entry on HTTP at level 3), and
//! compressing them costs little, once per flow and segment (BENCHMARKS.md, "Index blocks
//! compressed with zstd").

use std::io::{Read, Write};

use flate2::Compression;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;

use super::binary::{self, Reader};
use super::deflate::inflate;

/// The first byte of compressed locations.
const DEFLATED: u8 = 0;

/// Encodes `(packet, offset)` pairs, both ascending, packet numbers from 1.
pub(crate) fn encode(pairs: &[(u64, u64)]) -> Vec<u8> {
    let mut raw = Vec::with_capacity(pairs.len() * 3);
    let (mut last_packet, mut last_offset) = (0u64, 0u64);
    for &(packet, offset) in pairs {
        binary::put_u64(&mut raw, packet.wrapping_sub(last_packet));
        binary::put_u64(&mut raw, offset.wrapping_sub(last_offset));
        (last_packet, last_offset) = (packet, offset);
    }
    let mut deflated = vec![DEFLATED];
    let mut encoder = DeflateEncoder::new(&mut deflated, Compression::default());
    // Writing into a `Vec` cannot fail.
    let _ = encoder.write_all(&raw);
    let _ = encoder.finish();
    if deflated.len() < raw.len() {
        deflated
    } else {
        raw
    }
}

/// Decodes what [`encode`] wrote (or builds before schema version 10); a damaged tail is ignored.
pub(crate) fn decode(data: &[u8]) -> Vec<(u64, u64)> {
    let inflated;
    let raw = match data.split_first() {
        Some((&DEFLATED, rest)) => {
            // The thread's inflater, reset per blob (a new decoder per blob was 2.6 % of a body
            // read-back); on damage, a decoder of its own keeps what inflated before it.
            inflated = inflate(rest).unwrap_or_else(|_| {
                let mut out = Vec::new();
                let _ = DeflateDecoder::new(rest).read_to_end(&mut out);
                out
            });
            inflated.as_slice()
        }
        _ => data,
    };
    let mut r = Reader::new(raw);
    let mut pairs = Vec::new();
    let (mut packet, mut offset) = (0u64, 0u64);
    while let (Ok(dp), Ok(doff)) = (r.u64(), r.u64()) {
        packet = packet.wrapping_add(dp);
        offset = offset.wrapping_add(doff);
        pairs.push((packet, offset));
    }
    pairs
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
        // Exchanges of the same sizes on interleaved flows: a byte or less per packet.
        let near: Vec<(u64, u64)> = (0..1000)
            .map(|i| (5_000_000 + i * 2, 24 + i * 146 + (i % 2) * 90))
            .collect();
        let encoded = encode(&near);
        assert!(encoded.len() < 1000, "{} bytes", encoded.len());
        assert_eq!(decode(&encoded), near);
        assert_eq!(decode(&[0x80]), vec![]);
    }

    #[test]
    fn locations_written_before_compression_still_read() {
        // As builds before schema version 10 wrote them: the varints as they are.
        let old = [0x81, 0x01, 24, 3, 0xe6, 0x0b];
        assert_eq!(decode(&old), [(129, 24), (132, 1_534)]);
    }

    #[test]
    fn damaged_locations_give_what_they_can() {
        let pairs: Vec<(u64, u64)> = (1..500).map(|i| (i * 3, i * 200)).collect();
        let encoded = encode(&pairs);
        assert_eq!(encoded[0], DEFLATED);
        for cut in 0..encoded.len() {
            let got = decode(&encoded[..cut]);
            assert!(pairs.starts_with(&got), "cut at {cut}");
        }
        let kept = decode(&encoded[..encoded.len() * 3 / 4]);
        assert!(
            !kept.is_empty(),
            "a cut blob keeps the pairs before the cut"
        );
        for at in 0..encoded.len() {
            let mut bad = encoded.clone();
            bad[at] ^= 0x5a;
            let _ = decode(&bad);
        }
    }
}
