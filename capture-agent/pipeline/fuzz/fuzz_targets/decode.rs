//! Decoder fuzz target: the first byte picks a link type, the rest is a series of packets
//! (2-byte length prefix each) pushed through a whole pipeline, so link, IP, fragment, TCP/UDP
//! decoding, flows, reassembly and dispatch all see hostile bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shark_pipeline::{OnEntry, Packet, Pipeline, PipelineConfig};
use shark_store::Node;

const LINK_TYPES: [u32; 9] = [1, 113, 276, 101, 12, 0, 108, 228, 229];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, mut rest)) = data.split_first() else { return };
    let linktype = LINK_TYPES[usize::from(pick) % LINK_TYPES.len()];
    let mut pipeline = Pipeline::new(PipelineConfig::new(Node::default()));
    let mut sink = OnEntry::new(drop);
    let mut ts_ns = 1_700_000_000_000_000_000i64;
    while let [a, b, tail @ ..] = rest {
        let len = usize::from(u16::from_le_bytes([*a, *b])).min(tail.len());
        let (bytes, next) = tail.split_at(len);
        ts_ns += i64::from(*a) * 1_000_000;
        let Ok(()) = pipeline.push(&Packet { ts_ns, orig_len: len as u32, linktype, data: bytes }, &mut sink);
        rest = next;
    }
    let Ok(stats) = pipeline.finish(&mut sink);
    assert_eq!(stats.packets, sink.packets());
});
