//! Replays a connection's payload, extracted from a real capture with tshark, through a parser.
//!
//! Files under `tests/data/<protocol>/*.hex` hold one TCP segment a line: frame number, `C`
//! (client to server) or `S`, and the payload in hex; `#` lines are comments naming the source.

use shark_pipeline::dissect::{ChunkMeta, Direction, Exchange, Parser};

/// One segment of a replayed connection.
pub struct Segment {
    /// Frame number in the source capture.
    pub frame: u64,
    /// Which way it travelled.
    pub dir: Direction,
    /// TCP payload.
    pub payload: Vec<u8>,
}

/// Reads `tests/data/<name>.hex`.
pub fn segments(name: &str) -> Vec<Segment> {
    let path = format!("{}/tests/data/{name}.hex", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let mut cols = line.split('\t');
            let frame = cols
                .next()
                .and_then(|f| f.parse().ok())
                .expect("frame number");
            let dir = match cols.next() {
                Some("C") => Direction::ToServer,
                Some("S") => Direction::ToClient,
                other => panic!("{path}: bad direction {other:?}"),
            };
            let hex = cols.next().expect("payload").as_bytes();
            let payload = hex
                .chunks(2)
                .map(|pair| {
                    u8::from_str_radix(std::str::from_utf8(pair).expect("ascii"), 16).expect("hex")
                })
                .collect();
            Segment {
                frame,
                dir,
                payload,
            }
        })
        .collect()
}

/// Feeds every segment, cut into pieces of at most `chunk` bytes, then closes the flow.
pub fn replay_in_chunks(
    mut parser: Box<dyn Parser>,
    segments: &[Segment],
    chunk: usize,
) -> Vec<Exchange> {
    let mut out = Vec::new();
    for segment in segments {
        let meta = ChunkMeta {
            ts_ns: segment.frame as i64,
            packet: segment.frame,
        };
        for piece in segment.payload.chunks(chunk.max(1)) {
            parser.feed(segment.dir, piece, meta, &mut out);
        }
    }
    parser.close("end of capture", &mut out);
    out
}

/// Feeds every segment whole, then closes the flow.
pub fn replay(parser: Box<dyn Parser>, name: &str) -> Vec<Exchange> {
    replay_in_chunks(parser, &segments(name), usize::MAX)
}

/// Feeds the segments with bytes flipped by a fixed pseudo-random sequence: hostile input that must
/// not panic. Returns how many exchanges came out.
pub fn replay_mutated(make: impl Fn() -> Box<dyn Parser>, name: &str, rounds: u64) -> usize {
    let original = segments(name);
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut produced = 0;
    for _ in 0..rounds {
        let mut mutated: Vec<Segment> = original
            .iter()
            .map(|s| Segment {
                frame: s.frame,
                dir: s.dir,
                payload: s.payload.clone(),
            })
            .collect();
        for segment in &mut mutated {
            let len = segment.payload.len();
            if len == 0 {
                continue;
            }
            for _ in 0..1 + next() % 4 {
                let at = (next() % len as u64) as usize;
                if let Some(byte) = segment.payload.get_mut(at) {
                    *byte = next() as u8;
                }
            }
            if next() % 5 == 0 {
                segment.payload.truncate((next() % len as u64) as usize);
            }
        }
        let chunk = 1 + (next() % 64) as usize;
        produced += replay_in_chunks(make(), &mutated, chunk).len();
    }
    produced
}
