//! Pipeline benchmark: decode + flows + TCP reassembly + dissection over a capture file.
//!
//! ```text
//! cargo run --release -p shark-pipeline --example bench_pipeline -- generate /tmp/http.pcap --mb 200
//! cargo run --release -p shark-pipeline --example bench_pipeline -- generate /tmp/flows.pcap --connections 100000 --concurrent 100000 --requests 1 --body 512
//! cargo run --release -p shark-pipeline --example bench_pipeline -- run /tmp/http.pcap
//! ```
//! `generate` writes HTTP/1.1 keep-alive traffic (Ethernet/IPv4/TCP, handshake, requests with
//! realistic headers, responses of 1/8 to all of `--body` bytes in MSS-sized segments, FIN) with `--concurrent`
//! connections open at once; `run` streams the file through the pipeline and prints packets/s,
//! MB/s and entries. Compare with `tshark -r FILE -T fields -e http.request.method
//! -e http.request.uri -e http.response.code`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::process::ExitCode;
use std::time::Instant;

use shark_pipeline::{FileSource, OnEntry, Pipeline, PipelineConfig};
use shark_store::{Entry, Node};

const MSS: usize = 1448;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str, default: u64| -> u64 {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let result = match (args.first().map(String::as_str), args.get(1)) {
        (Some("generate"), Some(path)) => generate(
            path,
            flag("--mb", 0) << 20,
            flag("--connections", u64::MAX),
            flag("--concurrent", 64),
            flag("--requests", 10),
            flag("--body", 8192),
        ),
        (Some("run"), Some(path)) => run(path),
        _ => Err("usage: bench_pipeline generate FILE [--mb N] [--connections N] [--concurrent N] [--requests N] [--body MAX_BYTES] | run FILE".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(path: &str) -> Result<(), String> {
    let mut pipeline = Pipeline::new(PipelineConfig::new(Node {
        name: "bench".into(),
        ip: String::new(),
    }));
    let (mut entries, mut http) = (0u64, 0u64);
    let mut sink = OnEntry::new(|entry: Entry| {
        entries += 1;
        if entry.protocol.name == "http" && entry.error.is_none() {
            http += 1;
        }
    });
    let mut bytes = 0u64;
    let started = Instant::now();
    for packet in FileSource::open(path).map_err(|e| e.to_string())? {
        let packet = packet.map_err(|e| e.to_string())?;
        bytes += packet.data.len() as u64;
        let Ok(()) = pipeline.push(&packet.as_packet(), &mut sink);
    }
    let Ok(stats) = pipeline.finish(&mut sink);
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{} packets, {:.1} MB, {} flows, {} entries ({} http ok) in {:.2} s: {:.0} packets/s, {:.1} MB/s",
        stats.packets,
        bytes as f64 / 1e6,
        stats.flows,
        entries,
        http,
        secs,
        stats.packets as f64 / secs,
        bytes as f64 / 1e6 / secs
    );
    Ok(())
}

/// One simulated connection's progress.
struct Conn {
    client: [u8; 4],
    port: u16,
    client_seq: u32,
    server_seq: u32,
    step: usize,
    requests_left: u64,
    queue: Vec<(bool, u8, Vec<u8>)>,
}

fn generate(
    path: &str,
    max_bytes: u64,
    connections: u64,
    concurrent: u64,
    requests: u64,
    max_body: u64,
) -> Result<(), String> {
    if max_bytes == 0 && connections == u64::MAX {
        return Err("say how much to generate: --mb N or --connections N".into());
    }
    let file = File::create(path).map_err(|e| format!("cannot create {path}: {e}"))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    // Classic pcap, nanosecond timestamps, Ethernet.
    let header = [
        0xa1b2_3c4du32.to_le_bytes(),
        [2, 0, 4, 0],
        [0; 4],
        [0; 4],
        65535u32.to_le_bytes(),
        1u32.to_le_bytes(),
    ]
    .concat();
    out.write_all(&header).map_err(|e| e.to_string())?;
    let mut written = header.len() as u64;
    let mut ts_ns: i64 = 1_764_000_000_000_000_000;
    let mut started = 0u64;
    let mut active: Vec<Conn> = Vec::new();
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n.max(1)
    };
    loop {
        let budget_left = max_bytes == 0 || written < max_bytes;
        while budget_left && started < connections && (active.len() as u64) < concurrent {
            let id = started;
            started += 1;
            active.push(Conn {
                client: [10, 1 + (id >> 16) as u8, (id >> 8) as u8, id as u8],
                port: 1024 + (id % 60000) as u16,
                client_seq: next(u32::MAX as u64) as u32,
                server_seq: next(u32::MAX as u64) as u32,
                step: 0,
                requests_left: requests,
                queue: Vec::new(),
            });
        }
        if active.is_empty() {
            break;
        }
        let index = next(active.len() as u64) as usize;
        let conn = &mut active[index];
        if conn.queue.is_empty() {
            fill(conn, max_body, &mut next);
        }
        let (from_client, flags, payload) = conn.queue.remove(0);
        ts_ns += 2_000 + next(20_000) as i64;
        let frame = frame(conn, from_client, flags, &payload);
        let record = [
            (ts_ns / 1_000_000_000) as u32,
            (ts_ns % 1_000_000_000) as u32,
            frame.len() as u32,
            frame.len() as u32,
        ];
        for word in record {
            out.write_all(&word.to_le_bytes())
                .map_err(|e| e.to_string())?;
        }
        out.write_all(&frame).map_err(|e| e.to_string())?;
        written += 16 + frame.len() as u64;
        if from_client {
            conn.client_seq = conn
                .client_seq
                .wrapping_add(payload.len() as u32 + u32::from(flags & 0x03 != 0));
        } else {
            conn.server_seq = conn
                .server_seq
                .wrapping_add(payload.len() as u32 + u32::from(flags & 0x03 != 0));
        }
        if conn.step == usize::MAX && conn.queue.is_empty() {
            active.swap_remove(index);
        }
    }
    out.flush().map_err(|e| e.to_string())?;
    println!(
        "wrote {path}: {:.1} MB, {started} connections",
        written as f64 / 1e6
    );
    Ok(())
}

/// Response body text, repeated to the wanted length.
const BODY: &[u8] = b"{\"id\":12345,\"items\":[\"a\",\"b\"],\"total\":99.5}\n";
const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const PSH_ACK: u8 = 0x18;
const FIN_ACK: u8 = 0x11;

/// Queues the connection's next exchange of packets.
fn fill(conn: &mut Conn, max_body: u64, next: &mut impl FnMut(u64) -> u64) {
    match conn.step {
        0 => {
            conn.queue.push((true, SYN, Vec::new()));
            conn.queue.push((false, SYN | ACK, Vec::new()));
            conn.queue.push((true, ACK, Vec::new()));
            conn.step = 1;
        }
        _ if conn.requests_left > 0 => {
            conn.requests_left -= 1;
            let path = format!("/api/v1/orders/{}?page={}", next(100_000), next(50));
            let request = format!(
                "GET {path} HTTP/1.1\r\nHost: shop.default.svc.cluster.local\r\nUser-Agent: curl/8.5.0\r\nAccept: application/json\r\nX-Request-Id: {:016x}\r\n\r\n",
                next(u64::MAX)
            );
            conn.queue.push((true, PSH_ACK, request.into_bytes()));
            let body_len = (max_body / 8 + next(max_body - max_body / 8)) as usize;
            let body: Vec<u8> = BODY.iter().copied().cycle().take(body_len).collect();
            let status = if next(20) == 0 {
                "500 Internal Server Error"
            } else {
                "200 OK"
            };
            let mut response = format!("HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {body_len}\r\nServer: nginx/1.25\r\n\r\n").into_bytes();
            response.extend_from_slice(&body);
            for piece in response.chunks(MSS) {
                conn.queue.push((false, PSH_ACK, piece.to_vec()));
            }
            conn.queue.push((true, ACK, Vec::new()));
        }
        _ => {
            conn.queue.push((true, FIN_ACK, Vec::new()));
            conn.queue.push((false, FIN_ACK, Vec::new()));
            conn.queue.push((true, ACK, Vec::new()));
            conn.step = usize::MAX;
        }
    }
}

/// An Ethernet/IPv4/TCP frame (checksums left zero: nothing here verifies them).
fn frame(conn: &Conn, from_client: bool, flags: u8, payload: &[u8]) -> Vec<u8> {
    let server = [10, 0, 0, 1];
    let (src, dst, sport, dport, seq, ack) = if from_client {
        (
            conn.client,
            server,
            conn.port,
            80u16,
            conn.client_seq,
            conn.server_seq,
        )
    } else {
        (
            server,
            conn.client,
            80u16,
            conn.port,
            conn.server_seq,
            conn.client_seq,
        )
    };
    let mut f = Vec::with_capacity(54 + payload.len());
    f.extend_from_slice(&[2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00]);
    let total = (20 + 20 + payload.len()) as u16;
    f.extend_from_slice(&[
        0x45,
        0,
        (total >> 8) as u8,
        total as u8,
        0,
        0,
        0x40,
        0,
        64,
        6,
        0,
        0,
    ]);
    f.extend_from_slice(&src);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&sport.to_be_bytes());
    f.extend_from_slice(&dport.to_be_bytes());
    f.extend_from_slice(&seq.to_be_bytes());
    f.extend_from_slice(&(if flags & ACK != 0 { ack } else { 0 }).to_be_bytes());
    f.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    f.extend_from_slice(payload);
    f
}
