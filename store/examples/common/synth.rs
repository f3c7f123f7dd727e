//! Synthetic but realistic cluster traffic for the store's benchmarks: services in namespaces,
//! pods calling them over keep-alive HTTP/1.1 connections (with handshakes, ACKs and FINs), DNS
//! lookups and Redis commands; each exchange as valid Ethernet/IPv4/TCP-or-UDP frames and as the
//! entry the pipeline would make of it.

use shark_store::{Entry, NodeWriter, RawPacket, StoreConfig, StoreError};

/// One exchange: the entry (packet numbers unset) and its frames.
pub struct Exchange {
    pub entry: Entry,
    pub frames: Vec<Frame>,
}

/// Writes `x` to `w`: its frames when `with_packets`, then its entry pointing at them.
pub fn write(w: &mut NodeWriter, mut x: Exchange, with_packets: bool) -> Result<(), StoreError> {
    if with_packets {
        let stream = x.entry.stream;
        let mut numbers = Vec::with_capacity(x.frames.len());
        for f in &x.frames {
            let raw = RawPacket {
                ts_ns: f.ts_ns,
                orig_len: f.data.len() as u32,
                linktype: 1,
                data: &f.data,
            };
            numbers.push(w.write_packet(&raw, Some(stream))?);
        }
        x.entry.packets.first = numbers.first().copied().unwrap_or(0);
        x.entry.packets.last = numbers.last().copied().unwrap_or(0);
    }
    w.write_entry(x.entry)
}

/// A small, seeded random number generator (xorshift64*), so runs are repeatable.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Which protocols the traffic mixes, in percent of exchanges.
#[derive(Clone, Copy)]
pub struct Mix {
    pub http: u64,
    pub dns: u64,
    pub redis: u64,
}

const NAMESPACES: [&str; 5] = ["shop", "payments", "identity", "search", "platform"];
const SERVICES: [&str; 10] = [
    "web", "api", "checkout", "payments", "cart", "catalog", "users", "auth", "search", "orders",
];
/// Open connections kept per TCP protocol.
const POOL: usize = 64;
const RESOURCES: [&str; 6] = ["orders", "items", "users", "sessions", "carts", "invoices"];

/// A pod: name, namespace, IP.
#[derive(Clone)]
struct Pod {
    name: String,
    service: String,
    namespace: String,
    ip: [u8; 4],
}

/// An open TCP connection between a client pod and a server pod.
struct Conn {
    stream: u64,
    client: usize,
    server: usize,
    server_port: u16,
    port: u16,
    seq_c: u32,
    seq_s: u32,
    left: u32,
}

/// One frame to write: time, bytes.
pub struct Frame {
    pub ts_ns: i64,
    pub data: Vec<u8>,
}

/// Generates exchanges; see the module docs.
pub struct Synth {
    rng: Rng,
    pods: Vec<Pod>,
    conns: Vec<Option<Conn>>,
    mix: Mix,
    next_port: u16,
    next_stream: u64,
    pub node: String,
    /// Bytes of each body the index keeps inline, as the pipeline's `--index-body` (64 by default).
    pub index_body: usize,
}

impl Synth {
    pub fn new(seed: u64, mix: Mix, node: &str) -> Self {
        let mut pods = Vec::new();
        for (s, service) in SERVICES.iter().enumerate() {
            for replica in 0..3u8 {
                pods.push(Pod {
                    name: format!(
                        "{service}-7d9f8c6b5-{}",
                        ["x2kqp", "m8zrt", "c4vnw"][replica as usize]
                    ),
                    service: (*service).to_owned(),
                    namespace: NAMESPACES[s % NAMESPACES.len()].to_owned(),
                    ip: [10, 244, s as u8, 10 + replica],
                });
            }
        }
        let conns = (0..POOL * 2).map(|_| None).collect();
        Synth {
            rng: Rng::new(seed),
            pods,
            conns,
            mix,
            next_port: 32_768,
            next_stream: 0,
            index_body: 32,
            node: node.to_owned(),
        }
    }

    /// The next exchange, starting at `ts_ns`.
    pub fn exchange(&mut self, ts_ns: i64) -> Exchange {
        let roll = self.rng.below(100);
        let (mut entry, frames, stream) = if roll < self.mix.http {
            self.http(ts_ns)
        } else if roll < self.mix.http + self.mix.dns {
            self.dns(ts_ns)
        } else {
            self.redis(ts_ns)
        };
        entry.stream = stream;
        Exchange { entry, frames }
    }

    fn alloc_stream(&mut self) -> u64 {
        self.next_stream += 1;
        self.next_stream
    }

    fn endpoint(&self, pod: usize, port: u16) -> shark_store::Endpoint {
        let p = &self.pods[pod];
        shark_store::Endpoint {
            ip: format!("{}.{}.{}.{}", p.ip[0], p.ip[1], p.ip[2], p.ip[3]),
            port,
            name: p.name.clone(),
            namespace: p.namespace.clone(),
            kind: "Pod".into(),
            pod: p.name.clone(),
            service: p.service.clone(),
            workload: p.service.clone(),
            node: format!("worker-{}", pod % 3),
            labels: [("app".to_owned(), p.service.clone())]
                .into_iter()
                .collect(),
        }
    }

    fn base_entry(
        &self,
        ts_ns: i64,
        client: usize,
        cport: u16,
        server: usize,
        sport: u16,
        proto: &str,
    ) -> Entry {
        let mut e = Entry {
            timestamp: ts_ns,
            ..Entry::default()
        };
        e.node.name = self.node.clone();
        e.node.ip = "192.168.1.10".into();
        e.src = self.endpoint(client, cport);
        e.dst = self.endpoint(server, sport);
        e.protocol.name = proto.into();
        e
    }

    /// A TCP exchange on a kept-alive connection between a random client and server.
    fn tcp_exchange(
        &mut self,
        ts_ns: i64,
        server_port: u16,
        request: &[u8],
        response: &[u8],
    ) -> (usize, usize, u16, u64, Vec<Frame>) {
        let pool = if server_port == 6379 { POOL } else { 0 };
        let slot = pool + self.rng.below(POOL as u64) as usize;
        let mut frames = Vec::new();
        let mut t = ts_ns;
        let conn = match self.conns[slot].take() {
            Some(c) => c,
            None => {
                let client = self.rng.below(self.pods.len() as u64) as usize;
                let server = self.rng.below(self.pods.len() as u64) as usize;
                self.next_port = if self.next_port >= 60_999 {
                    32_768
                } else {
                    self.next_port + 1
                };
                let mut c = Conn {
                    stream: self.alloc_stream(),
                    server_port,
                    client,
                    server,
                    port: self.next_port,
                    seq_c: self.rng.next() as u32,
                    seq_s: self.rng.next() as u32,
                    left: 5 + self.rng.below(20) as u32,
                };
                // Handshake, before the request.
                t -= 300_000;
                frames.push(self.tcp(&c, t, true, 0x02, &[]));
                c.seq_c = c.seq_c.wrapping_add(1);
                frames.push(self.tcp(&c, t + 100_000, false, 0x12, &[]));
                c.seq_s = c.seq_s.wrapping_add(1);
                frames.push(self.tcp(&c, t + 150_000, true, 0x10, &[]));
                t = ts_ns;
                c
            }
        };
        let mut conn = conn;
        frames.push(self.tcp(&conn, t, true, 0x18, request));
        conn.seq_c = conn.seq_c.wrapping_add(request.len() as u32);
        t += 200_000 + self.rng.below(20_000_000) as i64;
        for (i, chunk) in response.chunks(1448).enumerate() {
            frames.push(self.tcp(&conn, t + i as i64 * 10_000, false, 0x18, chunk));
            conn.seq_s = conn.seq_s.wrapping_add(chunk.len() as u32);
        }
        frames.push(self.tcp(&conn, t + 60_000, true, 0x10, &[]));
        conn.left -= 1;
        let (client, server, port, stream) = (conn.client, conn.server, conn.port, conn.stream);
        if conn.left == 0 {
            let t = t + 1_000_000;
            frames.push(self.tcp(&conn, t, true, 0x11, &[]));
            conn.seq_c = conn.seq_c.wrapping_add(1);
            frames.push(self.tcp(&conn, t + 100_000, false, 0x11, &[]));
            conn.seq_s = conn.seq_s.wrapping_add(1);
            frames.push(self.tcp(&conn, t + 150_000, true, 0x10, &[]));
        } else {
            self.conns[slot] = Some(conn);
        }
        (client, server, port, stream, frames)
    }

    fn tcp(&self, c: &Conn, ts_ns: i64, to_server: bool, flags: u8, payload: &[u8]) -> Frame {
        let (client, server) = (&self.pods[c.client], &self.pods[c.server]);
        let (src, dst, sp, dp, seq, ack) = if to_server {
            (
                client.ip,
                server.ip,
                c.port,
                c.server_port,
                c.seq_c,
                c.seq_s,
            )
        } else {
            (
                server.ip,
                client.ip,
                c.server_port,
                c.port,
                c.seq_s,
                c.seq_c,
            )
        };
        let mut tcp = Vec::with_capacity(20 + payload.len());
        tcp.extend_from_slice(&sp.to_be_bytes());
        tcp.extend_from_slice(&dp.to_be_bytes());
        tcp.extend_from_slice(&seq.to_be_bytes());
        tcp.extend_from_slice(&(if flags & 0x10 != 0 { ack } else { 0 }).to_be_bytes());
        tcp.extend_from_slice(&[0x50, flags, 0xfa, 0xf0, 0, 0, 0, 0]);
        tcp.extend_from_slice(payload);
        Frame {
            ts_ns,
            data: ip_frame(src, dst, 6, &tcp),
        }
    }

    fn http(&mut self, ts_ns: i64) -> (Entry, Vec<Frame>, u64) {
        let post = self.rng.below(4) == 0;
        let resource = RESOURCES[self.rng.below(RESOURCES.len() as u64) as usize];
        let id = self.rng.below(1_000_000);
        let path = format!("/api/v1/{resource}/{id}");
        let request_id = format!("{:016x}{:016x}", self.rng.next(), self.rng.next());
        let trace = format!(
            "00-{:016x}{:016x}-{:016x}-01",
            self.rng.next(),
            self.rng.next(),
            self.rng.next()
        );
        let status = match self.rng.below(100) {
            0..=1 => 503,
            2..=4 => 404,
            _ => 200,
        };
        let body = format!(
            "{{\"id\":{id},\"kind\":\"{resource}\",\"owner\":\"user-{}\",\"total\":{}.{:02},\"items\":[{},{},{}],\"updated\":\"2026-11-26T14:0{}:00Z\"}}",
            self.rng.below(50_000),
            self.rng.below(1000),
            self.rng.below(100),
            self.rng.below(9999),
            self.rng.below(9999),
            self.rng.below(9999),
            self.rng.below(10)
        );
        let padding = "x".repeat(self.rng.below(2500) as usize);
        let full_body = format!("{body}{padding}");
        let method = if post { "POST" } else { "GET" };
        let host = format!("{resource}.shop.svc.cluster.local:8080");
        let req_body = if post { body.clone() } else { String::new() };
        let request = format!(
            "{method} {path}?expand=items HTTP/1.1\r\nHost: {host}\r\nUser-Agent: Go-http-client/1.1\r\nAccept: application/json\r\nAccept-Encoding: gzip\r\nX-Request-Id: {request_id}\r\ntraceparent: {trace}\r\nContent-Length: {}\r\n\r\n{req_body}",
            req_body.len()
        );
        let status_text = match status {
            200 => "OK",
            404 => "Not Found",
            _ => "Service Unavailable",
        };
        let response = format!(
            "HTTP/1.1 {status} {status_text}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nDate: Thu, 26 Nov 2026 14:02:00 GMT\r\nServer: envoy\r\nX-Envoy-Upstream-Service-Time: {}\r\n\r\n{full_body}",
            full_body.len(),
            self.rng.below(50)
        );
        let (client, server, port, stream, frames) =
            self.tcp_exchange(ts_ns, 8080, request.as_bytes(), response.as_bytes());
        let mut e = self.base_entry(ts_ns, client, port, server, 8080, "http");
        e.protocol.version = "1.1".into();
        e.elapsed_time = (frames.last().map_or(ts_ns, |f| f.ts_ns) - ts_ns) as f64 / 1e6;
        let r = &mut e.request;
        r.insert("method".into(), method.into());
        r.insert("path".into(), path.clone().into());
        r.insert("url".into(), format!("{path}?expand=items").into());
        r.insert("host".into(), host.into());
        r.insert("query".into(), serde_json::json!({"expand": "items"}));
        r.insert(
            "headers".into(),
            serde_json::json!({"Host": r.get("host"), "User-Agent": "Go-http-client/1.1", "Accept": "application/json",
                "Accept-Encoding": "gzip", "X-Request-Id": request_id, "traceparent": trace}),
        );
        r.insert("body".into(), req_body.clone().into());
        r.insert("size".into(), req_body.len().into());
        let s = &mut e.response;
        s.insert("status".into(), status.into());
        s.insert("statusText".into(), status_text.into());
        s.insert(
            "headers".into(),
            serde_json::json!({"Content-Type": "application/json", "Content-Length": full_body.len().to_string(),
                "Date": "Thu, 26 Nov 2026 14:02:00 GMT", "Server": "envoy"}),
        );
        // The pipeline keeps a prefix of each body in the index, marked; the packets hold the rest.
        s.insert("size".into(), full_body.len().into());
        s.insert("body".into(), full_body.into());
        shark_store::keep_body_prefix(&mut e.request, self.index_body);
        shark_store::keep_body_prefix(&mut e.response, self.index_body);
        (e, frames, stream)
    }

    fn dns(&mut self, ts_ns: i64) -> (Entry, Vec<Frame>, u64) {
        let client = self.rng.below(self.pods.len() as u64) as usize;
        let target = SERVICES[self.rng.below(SERVICES.len() as u64) as usize];
        let name = format!("{target}.shop.svc.cluster.local");
        let id = self.rng.below(65_536) as u16;
        let mut q = Vec::new();
        q.extend_from_slice(&id.to_be_bytes());
        q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
        for label in name.split('.') {
            q.push(label.len() as u8);
            q.extend_from_slice(label.as_bytes());
        }
        q.extend_from_slice(&[0, 0, 1, 0, 1]);
        let mut a = q.clone();
        a[2] = 0x81;
        a[3] = 0x80;
        a[7] = 1;
        a.extend_from_slice(&[
            0xc0,
            0x0c,
            0,
            1,
            0,
            1,
            0,
            0,
            0,
            30,
            0,
            4,
            10,
            96,
            0,
            self.rng.below(250) as u8,
        ]);
        self.next_port = if self.next_port >= 60_999 {
            32_768
        } else {
            self.next_port + 1
        };
        let port = self.next_port;
        let stream = self.alloc_stream();
        let dns_ip = [10, 96, 0, 10];
        let c = self.pods[client].ip;
        let frames = vec![
            Frame {
                ts_ns,
                data: ip_frame(c, dns_ip, 17, &udp(port, 53, &q)),
            },
            Frame {
                ts_ns: ts_ns + 400_000,
                data: ip_frame(dns_ip, c, 17, &udp(53, port, &a)),
            },
        ];
        let mut e = self.base_entry(ts_ns, client, port, 0, 53, "dns");
        e.dst = shark_store::Endpoint {
            ip: "10.96.0.10".into(),
            port: 53,
            name: "kube-dns".into(),
            namespace: "kube-system".into(),
            kind: "Service".into(),
            service: "kube-dns".into(),
            ..Default::default()
        };
        e.elapsed_time = 0.4;
        e.request.insert("id".into(), id.into());
        e.request
            .insert("questions".into(), serde_json::json!([name]));
        e.request.insert("qtype".into(), "A".into());
        e.response.insert("status".into(), 0.into());
        e.response.insert("statusText".into(), "NOERROR".into());
        e.response.insert(
            "answers".into(),
            serde_json::json!([format!("10.96.0.{}", a.last().copied().unwrap_or(0))]),
        );
        (e, frames, stream)
    }

    fn redis(&mut self, ts_ns: i64) -> (Entry, Vec<Frame>, u64) {
        let key = format!("session:{:08x}", self.rng.below(1 << 32));
        let get = self.rng.below(3) > 0;
        let (command, request, response) = if get {
            let value = format!(
                "{{\"user\":{},\"cart\":{}}}",
                self.rng.below(99_999),
                self.rng.below(9_999)
            );
            (
                "GET",
                format!("*2\r\n$3\r\nGET\r\n${}\r\n{key}\r\n", key.len()),
                format!("${}\r\n{value}\r\n", value.len()),
            )
        } else {
            let value = format!("{{\"user\":{}}}", self.rng.below(99_999));
            (
                "SET",
                format!(
                    "*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n${}\r\n{value}\r\n",
                    key.len(),
                    value.len()
                ),
                "+OK\r\n".to_owned(),
            )
        };
        let (client, server, port, stream, frames) =
            self.tcp_exchange(ts_ns, 6379, request.as_bytes(), response.as_bytes());
        let mut e = self.base_entry(ts_ns, client, port, server, 6379, "redis");
        e.elapsed_time = 0.2;
        e.request.insert("command".into(), command.into());
        e.request.insert("key".into(), key.into());
        e.response
            .insert("type".into(), (if get { "bulk" } else { "simple" }).into());
        e.response.insert("status".into(), 0.into());
        (e, frames, stream)
    }
}

fn udp(sp: u16, dp: u16, payload: &[u8]) -> Vec<u8> {
    let mut u = Vec::with_capacity(8 + payload.len());
    u.extend_from_slice(&sp.to_be_bytes());
    u.extend_from_slice(&dp.to_be_bytes());
    u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    u
}

/// An Ethernet frame carrying an IPv4 packet (header checksum filled in).
fn ip_frame(src: [u8; 4], dst: [u8; 4], proto: u8, l4: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(34 + l4.len());
    f.extend_from_slice(&[
        0x0a, 0x58, 0x0a, 0xf4, 0, 1, 0x0a, 0x58, 0x0a, 0xf4, 0, 2, 0x08, 0x00,
    ]);
    let len = (20 + l4.len()) as u16;
    let mut ip = [
        0x45,
        0,
        (len >> 8) as u8,
        len as u8,
        0,
        0,
        0x40,
        0,
        64,
        proto,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
    ];
    ip[12..16].copy_from_slice(&src);
    ip[16..20].copy_from_slice(&dst);
    let sum: u32 = ip
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
        .sum();
    let folded = (sum & 0xffff) + (sum >> 16);
    let check = !((folded & 0xffff) + (folded >> 16)) as u16;
    ip[10..12].copy_from_slice(&check.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(l4);
    f
}

/// Start of the synthetic hour the multi-node benchmarks fill.
pub const T0: i64 = 1_795_000_000_000_000_000;
/// One hour in nanoseconds.
pub const HOUR: i64 = 3_600_000_000_000;
/// The nodes of the multi-node benchmarks.
pub const NODES: [&str; 3] = ["worker-1", "worker-2", "worker-3"];

/// Fills `root` with `entries` exchanges (HTTP 60 %, DNS 20 %, Redis 20 %) spread evenly over the
/// hour from [`T0`] on [`NODES`], seeded from `seed`; packets are stored for the exchanges whose
/// timestamp `with_packets` accepts.
pub fn fill_cluster_hour(
    root: &std::path::Path,
    entries: usize,
    seed: u64,
    with_packets: impl Fn(i64) -> bool,
) -> Result<(), StoreError> {
    let per_node = entries.div_ceil(NODES.len());
    let step = HOUR / per_node as i64;
    for (n, node) in NODES.iter().enumerate() {
        let mut synth = Synth::new(
            seed + n as u64,
            Mix {
                http: 60,
                dns: 20,
                redis: 20,
            },
            node,
        );
        let mut writer = NodeWriter::open(root, node, StoreConfig::default())?;
        for i in 0..per_node {
            let ts = T0 + i as i64 * step + n as i64 * 1_000;
            write(&mut writer, synth.exchange(ts), with_packets(ts))?;
        }
        writer.finish()?;
    }
    Ok(())
}
