//! Dissector fuzz target, one for all: the first byte picks a dissector from the registry (so a
//! newly registered dissector is fuzzed without a new target); the rest is split into chunks,
//! each headed by a byte giving its direction, whether a gap precedes it, and its length.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shark_agent::dissect::{ChunkMeta, Direction, ParserSettings, registry};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, mut rest)) = data.split_first() else { return };
    let dissectors = registry();
    let Some(dissector) = dissectors.get(usize::from(pick) % dissectors.len().max(1)) else { return };
    let mut parser = dissector.parser(&ParserSettings::default());
    let mut out = Vec::new();
    let mut packet = 0u64;
    while let [head, tail @ ..] = rest {
        let len = usize::from(head & 0x3f) * 8 + 1;
        let (chunk, next) = tail.split_at(len.min(tail.len()));
        rest = next;
        packet += 1;
        let dir = if head & 0x80 != 0 { Direction::ToClient } else { Direction::ToServer };
        let _ = dissector.probe(chunk, dir);
        if head & 0x40 != 0 {
            parser.gap(dir, &mut out);
        }
        parser.feed(dir, chunk, ChunkMeta { ts_ns: packet as i64, packet }, &mut out);
        out.clear();
    }
    parser.close("fuzz", &mut out);
});
