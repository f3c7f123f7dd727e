//! HTTP/2 parsing throughput: a large synthetic connection (prior knowledge) carrying many
//! concurrent streams, half gRPC and half plain HTTP/2, fed in TCP-segment-sized chunks.
//!
//! Run: `cargo run --release -p shark-pipeline --example bench_http2`

use std::time::Instant;

use loona_hpack::Encoder;
use shark_pipeline::dissect::http2::Http2Dissector;
use shark_pipeline::dissect::{ChunkMeta, Direction, Dissector, ParserSettings};

const STREAMS: u32 = 20_000;
const CONCURRENT: u32 = 100;
const SEGMENT: usize = 1448;
const ROUNDS: usize = 5;

fn frame(out: &mut Vec<u8>, kind: u8, flags: u8, stream: u32, payload: &[u8]) {
    let len = (payload.len() as u32).to_be_bytes();
    out.extend_from_slice(&[len[1], len[2], len[3], kind, flags]);
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
}

/// One batch of `CONCURRENT` interleaved streams per direction.
fn build() -> Vec<(Direction, Vec<u8>)> {
    let mut client_hpack = Encoder::new();
    let mut server_hpack = Encoder::new();
    let mut batches = Vec::new();
    let mut client = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    frame(&mut client, 4, 0, 0, &[]);
    let request_body = vec![b'q'; 1024];
    let response_chunk = vec![b'r'; 1024];
    for first in (0..STREAMS).step_by(CONCURRENT as usize) {
        let mut server = Vec::new();
        let ids: Vec<u32> = (first..first + CONCURRENT).map(|n| 2 * n + 1).collect();
        for &id in &ids {
            let grpc = id % 4 == 1;
            let path = format!("/shop.v1.Cart/Get{id}");
            let content_type = if grpc {
                "application/grpc"
            } else {
                "application/json"
            };
            let fields = [
                (&b":method"[..], &b"POST"[..]),
                (b":scheme", b"http"),
                (b":authority", b"cart.shop.svc:8080"),
                (b":path", path.as_bytes()),
                (b"content-type", content_type.as_bytes()),
                (b"user-agent", b"grpc-go/1.64.0"),
            ];
            frame(&mut client, 1, 4, id, &client_hpack.encode(fields));
        }
        for &id in &ids {
            frame(&mut client, 0, 1, id, &request_body);
        }
        for &id in &ids {
            let fields = [
                (&b":status"[..], &b"200"[..]),
                (b"content-type", b"application/grpc"),
            ];
            frame(&mut server, 1, 4, id, &server_hpack.encode(fields));
            for _ in 0..4 {
                frame(&mut server, 0, 0, id, &response_chunk);
            }
            let trailers = [(&b"grpc-status"[..], &b"0"[..]), (b"grpc-message", b"")];
            frame(&mut server, 1, 5, id, &server_hpack.encode(trailers));
        }
        batches.push((Direction::ToServer, std::mem::take(&mut client)));
        batches.push((Direction::ToClient, server));
    }
    batches
}

fn main() {
    let batches = build();
    let total: usize = batches.iter().map(|(_, bytes)| bytes.len()).sum();
    let mut rates = Vec::new();
    for _ in 0..ROUNDS {
        let mut parser = Http2Dissector.parser(&ParserSettings::default());
        let mut out = Vec::new();
        let mut exchanges = 0usize;
        let started = Instant::now();
        for (packet, (dir, bytes)) in batches.iter().enumerate() {
            let meta = ChunkMeta {
                ts_ns: packet as i64,
                packet: packet as u64,
            };
            for segment in bytes.chunks(SEGMENT) {
                parser.feed(*dir, segment, meta, &mut out);
            }
            exchanges += out.len();
            out.clear();
        }
        parser.close("end", &mut out);
        exchanges += out.len();
        let seconds = started.elapsed().as_secs_f64();
        assert_eq!(exchanges, STREAMS as usize, "every stream is one exchange");
        rates.push(total as f64 / seconds / 1e6);
    }
    rates.sort_by(f64::total_cmp);
    println!(
        "http2: {:.1} MB in {} streams ({} concurrent, {}-byte segments): median {:.0} MB/s, best {:.0} MB/s over {ROUNDS} rounds",
        total as f64 / 1e6,
        STREAMS,
        CONCURRENT,
        SEGMENT,
        rates[ROUNDS / 2],
        rates[ROUNDS - 1]
    );
}
