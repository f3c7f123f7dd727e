//! Dissector fuzz target, one for all: the first byte picks a dissector from the registry (so a
//! newly registered dissector is fuzzed without a new target) or one of the ICMP parsers (which
//! the pipeline pins by IP protocol, never from the registry); the rest is split into chunks,
//! each headed by a byte giving its direction, whether a gap precedes it, and its length.
//! Besides not panicking, every exchange must start no earlier than what the parser said was
//! unfinished before it came out (chunk `n` is stamped `n`, so "fed later" is "stamped later").
//! Exchanges then go through GraphQL recognition (HTTP bodies carrying operations).
#![no_main]

use libfuzzer_sys::fuzz_target;
use shark_pipeline::dissect::icmp::{ICMP4, ICMP6};
use shark_pipeline::dissect::{ChunkMeta, Direction, Dissector, Exchange, ParserSettings, Unfinished, graphql, registry};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, mut rest)) = data.split_first() else { return };
    let icmp: [&'static dyn Dissector; 2] = [&ICMP4, &ICMP6];
    let dissectors: Vec<&'static dyn Dissector> = registry().iter().copied().chain(icmp).collect();
    let Some(dissector) = dissectors.get(usize::from(pick) % dissectors.len().max(1)) else { return };
    let mut parser = dissector.parser(&ParserSettings::default());
    let mut out = Vec::new();
    let mut packet = 0u64;
    // No exchange sent from now on may start before this.
    let mut earliest_allowed = i64::MIN;
    // Every exchange also goes through GraphQL recognition, as the pipeline's entries do.
    let check = |out: &mut [Exchange], earliest_allowed: i64| {
        for exchange in out {
            graphql::annotate(exchange);
            if let Some(start) = exchange.start {
                assert!(start.ts_ns >= earliest_allowed, "{exchange:?} starts before {earliest_allowed}");
            }
        }
    };
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
        check(&mut out, earliest_allowed);
        out.clear();
        earliest_allowed = earliest_allowed.max(match parser.unfinished() {
            Unfinished::Since(ts_ns) => ts_ns,
            Unfinished::Nothing => packet as i64 + 1,
            Unfinished::Unknown => i64::MIN,
        });
    }
    parser.close("fuzz", &mut out);
    check(&mut out, earliest_allowed);
});
