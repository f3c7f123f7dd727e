//! Throughput of the DNS, Redis, PostgreSQL, Kafka, MySQL, AMQP, WebSocket and MongoDB parsers over large synthetic streams.
//!
//! Each stream is built once in memory (requests in batches of 100, then their responses), fed in
//! 1448-byte chunks (one Ethernet MSS; DNS: one datagram per feed), and timed best of 3 runs.
//! Prints MB/s of payload (both directions) and exchanges per second for each parser.
//!
//! Run: `cargo run --release -p shark-pipeline --example bench_dissectors`

use std::time::{Duration, Instant};

use shark_pipeline::dissect::amqp::AmqpDissector;
use shark_pipeline::dissect::dns::DnsDissector;
use shark_pipeline::dissect::kafka::KafkaDissector;
use shark_pipeline::dissect::mongo::MongoDissector;
use shark_pipeline::dissect::mysql::MysqlDissector;
use shark_pipeline::dissect::postgres::PostgresDissector;
use shark_pipeline::dissect::redis::RedisDissector;
use shark_pipeline::dissect::{ChunkMeta, Direction, Dissector, Http1Dissector, ParserSettings};

/// Segment size for stream protocols.
const MSS: usize = 1448;
/// Requests sent before their responses.
const BATCH: usize = 100;
/// Approximate bytes per synthetic stream.
const TARGET: usize = 64 << 20;

/// A stream as the parser sees it: (direction, bytes) pieces in order, and whether it is datagrams.
struct Workload {
    name: &'static str,
    pieces: Vec<(Direction, Vec<u8>)>,
    datagrams: bool,
}

fn main() {
    let workloads = [
        dns(),
        redis(),
        postgres(),
        kafka(),
        mysql(),
        amqp(),
        websocket(),
        mongo(),
    ];
    let dissectors: [&dyn Dissector; 8] = [
        &DnsDissector,
        &RedisDissector,
        &PostgresDissector,
        &KafkaDissector,
        &MysqlDissector,
        &AmqpDissector,
        &Http1Dissector,
        &MongoDissector,
    ];
    println!(
        "{:<10} {:>10} {:>10} {:>12} {:>14}",
        "parser", "MB", "MB/s", "exchanges", "exchanges/s"
    );
    for (workload, dissector) in workloads.iter().zip(dissectors) {
        let bytes: usize = workload.pieces.iter().map(|(_, b)| b.len()).sum();
        let (best, exchanges) = (0..3)
            .map(|_| run(dissector, workload))
            .min_by_key(|(t, _)| *t)
            .unwrap_or_default();
        let seconds = best.as_secs_f64().max(1e-9);
        println!(
            "{:<10} {:>10.1} {:>10.0} {:>12} {:>14.0}",
            workload.name,
            bytes as f64 / 1e6,
            bytes as f64 / 1e6 / seconds,
            exchanges,
            exchanges as f64 / seconds
        );
    }
}

fn run(dissector: &dyn Dissector, workload: &Workload) -> (Duration, usize) {
    let mut parser = dissector.parser(&ParserSettings::default());
    let mut out = Vec::with_capacity(1024);
    let mut exchanges = 0;
    let meta = ChunkMeta {
        ts_ns: 0,
        packet: 0,
    };
    let start = Instant::now();
    for (dir, bytes) in &workload.pieces {
        let size = if workload.datagrams {
            bytes.len().max(1)
        } else {
            MSS
        };
        for chunk in bytes.chunks(size) {
            parser.feed(*dir, chunk, meta, &mut out);
        }
        exchanges += out.len();
        out.clear();
    }
    parser.close("end", &mut out);
    exchanges += out.len();
    (start.elapsed(), exchanges)
}

/// Builds batches of `BATCH` requests then their responses until about `TARGET` bytes.
fn batches(
    name: &'static str,
    mut request: impl FnMut(usize) -> Vec<u8>,
    mut response: impl FnMut(usize) -> Vec<u8>,
) -> Workload {
    let mut pieces = Vec::new();
    let mut total = 0;
    let mut n = 0;
    while total < TARGET {
        let requests: Vec<u8> = (n..n + BATCH).flat_map(&mut request).collect();
        let responses: Vec<u8> = (n..n + BATCH).flat_map(&mut response).collect();
        total += requests.len() + responses.len();
        pieces.push((Direction::ToServer, requests));
        pieces.push((Direction::ToClient, responses));
        n += BATCH;
    }
    Workload {
        name,
        pieces,
        datagrams: false,
    }
}

/// UDP DNS: A queries and responses with two answers, one datagram per feed.
fn dns() -> Workload {
    let mut pieces = Vec::new();
    let mut total = 0;
    let mut id: u16 = 0;
    while total < TARGET / 4 {
        id = id.wrapping_add(1);
        let question = b"\x03api\x04shop\x03svc\x07cluster\x05local\x00\x00\x01\x00\x01";
        let mut query = id.to_be_bytes().to_vec();
        query.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
        query.extend_from_slice(question);
        let mut answer = id.to_be_bytes().to_vec();
        answer.extend_from_slice(&[0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0]);
        answer.extend_from_slice(question);
        for last in [7u8, 8] {
            answer.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 10, 0, 0, last]);
        }
        total += query.len() + answer.len();
        pieces.push((Direction::ToServer, query));
        pieces.push((Direction::ToClient, answer));
    }
    Workload {
        name: "dns",
        pieces,
        datagrams: true,
    }
}

/// Redis: pipelined SET and GET of 100-byte values.
fn redis() -> Workload {
    let value = "v".repeat(100);
    batches(
        "redis",
        |i| {
            let key = format!("user:{i:010}");
            if i % 2 == 0 {
                format!(
                    "*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n${}\r\n{value}\r\n",
                    key.len(),
                    value.len()
                )
                .into_bytes()
            } else {
                format!("*2\r\n$3\r\nGET\r\n${}\r\n{key}\r\n", key.len()).into_bytes()
            }
        },
        |i| {
            if i % 2 == 0 {
                b"+OK\r\n".to_vec()
            } else {
                format!("${}\r\n{value}\r\n", value.len()).into_bytes()
            }
        },
    )
}

/// PostgreSQL: extended-protocol cycles (Parse/Bind/Describe/Execute/Sync) returning 10 rows each.
fn postgres() -> Workload {
    let msg = |kind: u8, body: &[u8]| {
        let mut out = vec![kind];
        out.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
        out.extend_from_slice(body);
        out
    };
    let row = msg(
        b'D',
        &[
            &[0, 2, 0, 0, 0, 8][..],
            b"12345678",
            &[0, 0, 0, 20],
            b"some text column val",
        ]
        .concat(),
    );
    batches(
        "postgres",
        |_| {
            [
                msg(
                    b'P',
                    b"\x00select id, name from users where id = $1\x00\x00\x00",
                ),
                msg(b'B', b"\x00\x00\x00\x00\x00\x01\x00\x00\x00\x0242\x00\x00"),
                msg(b'D', b"P\x00"),
                msg(b'E', b"\x00\x00\x00\x00\x00"),
                msg(b'S', b""),
            ]
            .concat()
        },
        |_| {
            let mut reply = [msg(b'1', b""), msg(b'2', b""), msg(b'T', &[0u8; 50])].concat();
            for _ in 0..10 {
                reply.extend_from_slice(&row);
            }
            reply.extend_from_slice(&msg(b'C', b"SELECT 10\x00"));
            reply.extend_from_slice(&msg(b'Z', b"I"));
            reply
        },
    )
}

/// Kafka: Produce v7 requests with a 1 KiB record batch, and their responses.
fn kafka() -> Workload {
    let string = |s: &str| {
        [
            (s.len() as i16).to_be_bytes().to_vec(),
            s.as_bytes().to_vec(),
        ]
        .concat()
    };
    batches(
        "kafka",
        |i| {
            let mut body = [0i16.to_be_bytes(), 7i16.to_be_bytes()].concat();
            body.extend_from_slice(&(i as i32).to_be_bytes());
            body.extend_from_slice(&string("checkout-producer"));
            body.extend_from_slice(&(-1i16).to_be_bytes()); // transactional id: null
            body.extend_from_slice(&[0, 1, 0, 0, 0x75, 0x30]); // acks, timeout
            body.extend_from_slice(&1i32.to_be_bytes());
            body.extend_from_slice(&string("orders"));
            body.extend_from_slice(&1i32.to_be_bytes());
            body.extend_from_slice(&0i32.to_be_bytes());
            body.extend_from_slice(&1024i32.to_be_bytes());
            body.extend_from_slice(&[0x2a; 1024]);
            [(body.len() as u32).to_be_bytes().to_vec(), body].concat()
        },
        |i| {
            let mut body = (i as i32).to_be_bytes().to_vec();
            body.extend_from_slice(&1i32.to_be_bytes());
            body.extend_from_slice(&string("orders"));
            body.extend_from_slice(&1i32.to_be_bytes());
            body.extend_from_slice(&[0u8; 4 + 2 + 8 + 8 + 8 + 4]);
            [(body.len() as u32).to_be_bytes().to_vec(), body].concat()
        },
    )
}

/// MySQL: COM_QUERY selecting two columns, answered with a classic result set of 10 rows.
fn mysql() -> Workload {
    let packet = |seq: u8, payload: &[u8]| {
        let mut out = (payload.len() as u32).to_le_bytes()[..3].to_vec();
        out.push(seq);
        out.extend_from_slice(payload);
        out
    };
    let column = |seq: u8, name: &str| {
        let mut def = Vec::new();
        for part in ["def", "shop", "users", "users", name, name] {
            def.push(part.len() as u8);
            def.extend_from_slice(part.as_bytes());
        }
        def.extend_from_slice(&[0x0C, 45, 0, 80, 0, 0, 0, 253, 0, 0, 0, 0, 0]);
        packet(seq, &def)
    };
    let eof = |seq: u8| packet(seq, &[0xFE, 0, 0, 2, 0]);
    batches(
        "mysql",
        |_| packet(0, b"\x03select id, name from users where id = 42"),
        |_| {
            let mut reply = [packet(1, &[2]), column(2, "id"), column(3, "name"), eof(4)].concat();
            for seq in 5..15 {
                reply.extend_from_slice(&packet(seq, b"\x0812345678\x14some text column val"));
            }
            reply.extend_from_slice(&eof(15));
            reply
        },
    )
}

/// AMQP: basic.publish of a 1 KiB JSON-ish body with a content type (method, content header and
/// body frames), and the broker's basic.deliver of the same message to a consumer.
fn amqp() -> Workload {
    let frame = |kind: u8, payload: &[u8]| {
        let mut out = vec![kind, 0, 1];
        out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        out.extend_from_slice(payload);
        out.push(0xCE);
        out
    };
    let short = |s: &str| [&[s.len() as u8][..], s.as_bytes()].concat();
    let body = [b'{'; 1024];
    let content = |out: &mut Vec<u8>| {
        let header = [
            &60u16.to_be_bytes()[..],
            &[0, 0],
            &(body.len() as u64).to_be_bytes(),
            &0x8000u16.to_be_bytes(),
            &short("application/json"),
        ]
        .concat();
        out.extend(frame(2, &header));
        out.extend(frame(3, &body));
    };
    batches(
        "amqp",
        |_| {
            let args = [&[0, 0][..], &short("orders"), &short("orders.new"), &[0]].concat();
            let mut out = frame(1, &[&[0, 60, 0, 40][..], &args].concat());
            content(&mut out);
            out
        },
        |i| {
            let args = [
                &short("ctag-1")[..],
                &(i as u64).to_be_bytes(),
                &[0],
                &short("orders"),
                &short("orders.new"),
            ]
            .concat();
            let mut out = frame(1, &[&[0, 60, 0, 60][..], &args].concat());
            content(&mut out);
            out
        },
    )
}

/// WebSocket (through HTTP/1.1's upgrade): masked 1 KiB text messages from the client and their
/// unmasked echoes.
fn websocket() -> Workload {
    let frame = |masked: bool| {
        let mut out = vec![0x81, if masked { 0x80 | 126 } else { 126 }];
        out.extend_from_slice(&1024u16.to_be_bytes());
        if masked {
            out.extend_from_slice(&[0x12, 0x34, 0x56, 0x78]);
        }
        out.extend_from_slice(&[b'w'; 1024]);
        out
    };
    let mut workload = batches("websocket", |_| frame(true), |_| frame(false));
    let handshake = [
        (
            Direction::ToServer,
            b"GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: x\r\nSec-WebSocket-Version: 13\r\n\r\n".to_vec(),
        ),
        (
            Direction::ToClient,
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: y\r\n\r\n".to_vec(),
        ),
    ];
    workload.pieces.splice(0..0, handshake);
    workload
}

/// MongoDB: an OP_MSG `find` with a filter, answered with a cursor's first batch of 10 documents.
fn mongo() -> Workload {
    let doc = |elements: &[(u8, &str, Vec<u8>)]| {
        let mut body = Vec::new();
        for (kind, name, value) in elements {
            body.push(*kind);
            body.extend_from_slice(name.as_bytes());
            body.push(0);
            body.extend_from_slice(value);
        }
        body.push(0);
        [((body.len() + 4) as i32).to_le_bytes().to_vec(), body].concat()
    };
    let string = |s: &str| {
        [
            &((s.len() + 1) as i32).to_le_bytes()[..],
            s.as_bytes(),
            &[0],
        ]
        .concat()
    };
    let message = |id: i32, to: i32, doc: Vec<u8>| {
        let body = [&[0u8; 5][..], &doc].concat();
        let header = [(body.len() as i32 + 16), id, to, 2013]
            .map(i32::to_le_bytes)
            .concat();
        [header, body].concat()
    };
    let user = |i: i32| {
        doc(&[
            (0x10, "_id", i.to_le_bytes().to_vec()),
            (0x02, "name", string("some user name")),
            (0x02, "email", string("someone@example.com")),
        ])
    };
    batches(
        "mongo",
        |i| {
            let filter = doc(&[(0x02, "status", string("active"))]);
            let find = doc(&[
                (0x02, "find", string("users")),
                (0x03, "filter", filter),
                (0x10, "limit", 10i32.to_le_bytes().to_vec()),
                (0x02, "$db", string("shop")),
            ]);
            message(i as i32, 0, find)
        },
        |i| {
            let batch = doc(&(0..10)
                .map(|n| {
                    (
                        0x03,
                        ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"][n],
                        user(n as i32),
                    )
                })
                .collect::<Vec<_>>());
            let cursor = doc(&[
                (0x04, "firstBatch", batch),
                (0x12, "id", 0i64.to_le_bytes().to_vec()),
                (0x02, "ns", string("shop.users")),
            ]);
            let reply = doc(&[
                (0x03, "cursor", cursor),
                (0x01, "ok", 1f64.to_le_bytes().to_vec()),
            ]);
            message(1_000_000 + i as i32, i as i32, reply)
        },
    )
}
