//! Reads the `.seg` files under `tests/data/<protocol>/` (one line per captured segment, written by
//! `tests/data/extract.sh` from the shared fixtures with tshark) and feeds them to a dissector's
//! parser the way the pipeline does: each direction in order, in chunks of a chosen size.

use std::path::Path;

use shark_pipeline::dissect::{ChunkMeta, Direction, Dissector, Exchange, Parser, ParserSettings};

/// One captured TCP segment or UDP datagram payload.
pub struct Segment {
    /// Frame number in the capture.
    pub frame: u64,
    /// tshark's stream index: segments of one connection (or UDP flow) share it.
    pub stream: u32,
    /// Which way it went.
    pub dir: Direction,
    /// Capture timestamp, ns since the epoch.
    pub ts_ns: i64,
    /// The payload.
    pub bytes: Vec<u8>,
}

/// Loads `tests/data/<rel>`.
pub fn load(rel: &str) -> Vec<Segment> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            let [frame, stream, dir, ts, hex] = fields[..] else {
                panic!("bad line in {rel}: {line}")
            };
            Segment {
                frame: frame.parse().expect("frame number"),
                stream: stream.parse().expect("stream index"),
                dir: if dir == "c" {
                    Direction::ToServer
                } else {
                    Direction::ToClient
                },
                ts_ns: ts.parse().expect("timestamp"),
                bytes: (0..hex.len() / 2)
                    .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex"))
                    .collect(),
            }
        })
        .collect()
}

/// Feeds every segment to its stream's parser (split into `chunk`-byte pieces, or whole when
/// `None`), then closes the streams in the order they appeared.
pub fn run(dissector: &dyn Dissector, segments: &[Segment], chunk: Option<usize>) -> Vec<Exchange> {
    let mut parsers: Vec<(u32, Box<dyn Parser>)> = Vec::new();
    let mut out = Vec::new();
    for segment in segments {
        let index = match parsers
            .iter()
            .position(|(stream, _)| *stream == segment.stream)
        {
            Some(index) => index,
            None => {
                parsers.push((segment.stream, dissector.parser(&ParserSettings::default())));
                parsers.len() - 1
            }
        };
        let parser = &mut parsers[index].1;
        let meta = ChunkMeta {
            ts_ns: segment.ts_ns,
            packet: segment.frame,
        };
        let size = chunk.unwrap_or(segment.bytes.len()).max(1);
        for piece in segment.bytes.chunks(size) {
            parser.feed(segment.dir, piece, meta, &mut out);
        }
    }
    for (_, mut parser) in parsers {
        parser.close("end of capture", &mut out);
    }
    out
}

/// Runs whole segments, then 1-byte and 7-byte chunks, and checks all three give the same exchanges.
pub fn run_all_chunkings(dissector: &dyn Dissector, rel: &str) -> Vec<Exchange> {
    let segments = load(rel);
    let whole = run(dissector, &segments, None);
    for size in [1, 7] {
        assert_eq!(
            run(dissector, &segments, Some(size)),
            whole,
            "{rel} fed in {size}-byte chunks"
        );
    }
    whole
}

/// A request or response field as text ("" when absent); arrays are joined with ",".
pub fn field(message: &shark_store::Message, key: &str) -> String {
    match message.get(key) {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
            .collect::<Vec<_>>()
            .join(","),
        Some(other) => other.to_string(),
    }
}
