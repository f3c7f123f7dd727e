//! Cost of showing HTTP/1.1 bodies: one keep-alive stream of 16 KiB responses per body kind
//! (plain JSON, the same JSON gzip-encoded, bytes that are not text and become base64), fed to the
//! HTTP/1 parser in 1448-byte chunks, best of 3 runs. Prints MB/s of payload on the wire and
//! exchanges per second for each kind.
//!
//! Run: `cargo run --release -p shark-pipeline --example bench_bodies`

use std::io::Write;
use std::time::{Duration, Instant};

use shark_pipeline::dissect::{ChunkMeta, Direction, Dissector, Http1Dissector, ParserSettings};

/// Segment size (one Ethernet MSS).
const MSS: usize = 1448;
/// Bytes of each response body before any content coding.
const BODY: usize = 16 << 10;
/// Exchanges per stream.
const EXCHANGES: usize = 4000;

fn main() {
    let json = json_body();
    let binary: Vec<u8> = (0..BODY as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let workloads = [
        ("text", stream(&json, None)),
        ("gzip", stream(&gzip(&json), Some("gzip"))),
        ("binary", stream(&binary, None)),
    ];
    println!(
        "{:<8} {:>10} {:>10} {:>12} {:>14}",
        "body", "MB", "MB/s", "exchanges", "exchanges/s"
    );
    for (name, pieces) in &workloads {
        let bytes: usize = pieces.iter().map(|(_, b)| b.len()).sum();
        let (best, exchanges) = (0..3)
            .map(|_| run(pieces))
            .min_by_key(|(t, _)| *t)
            .unwrap_or_default();
        let seconds = best.as_secs_f64().max(1e-9);
        println!(
            "{:<8} {:>10.1} {:>10.0} {:>12} {:>14.0}",
            name,
            bytes as f64 / 1e6,
            bytes as f64 / 1e6 / seconds,
            exchanges,
            exchanges as f64 / seconds
        );
    }
}

/// Feeds `pieces` to a fresh HTTP/1 parser; the time taken and the exchanges found.
fn run(pieces: &[(Direction, Vec<u8>)]) -> (Duration, usize) {
    let mut parser = Http1Dissector.parser(&ParserSettings::default());
    let mut out = Vec::new();
    let mut found = 0;
    let started = Instant::now();
    for (n, (dir, bytes)) in pieces.iter().enumerate() {
        for chunk in bytes.chunks(MSS) {
            parser.feed(
                *dir,
                chunk,
                ChunkMeta {
                    ts_ns: n as i64,
                    packet: n as u64,
                },
                &mut out,
            );
        }
        found += out.len();
        out.clear();
    }
    parser.close("end", &mut out);
    (started.elapsed(), found + out.len())
}

/// A keep-alive stream of [`EXCHANGES`] GETs, each answered with `body` sent with `coding`.
fn stream(body: &[u8], coding: Option<&str>) -> Vec<(Direction, Vec<u8>)> {
    let coding = coding
        .map(|c| format!("Content-Encoding: {c}\r\n"))
        .unwrap_or_default();
    let mut response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{coding}Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    response.extend_from_slice(body);
    (0..EXCHANGES)
        .flat_map(|i| {
            let request =
                format!("GET /items/{i} HTTP/1.1\r\nHost: api\r\nAccept-Encoding: gzip\r\n\r\n");
            [
                (Direction::ToServer, request.into_bytes()),
                (Direction::ToClient, response.clone()),
            ]
        })
        .collect()
}

/// A JSON array of about [`BODY`] bytes.
fn json_body() -> Vec<u8> {
    let mut body = String::from("[");
    let mut i = 0;
    while body.len() < BODY - 80 {
        body.push_str(&format!(
            "{{\"id\":{i},\"name\":\"item {i}\",\"price\":{}.99,\"tags\":[\"a\",\"b\"]}},",
            i % 97
        ));
        i += 1;
    }
    body.push_str("{}]");
    body.into_bytes()
}

/// `data` gzip-compressed at the default level.
fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let written = encoder.write_all(data);
    match (written, encoder.finish()) {
        (Ok(()), Ok(zipped)) => zipped,
        _ => Vec::new(),
    }
}
