//! The memory budget under a flood: a SYN flood and unanswered DNS queries from distinct
//! addresses cost no more flows than the budget allows, and the answered traffic around them is
//! still dissected whole.

use etherparse::PacketBuilder;
use shark_pipeline::{Packet, Pipeline, PipelineConfig};
use shark_store::Node;

use crate::common::VecSink;

/// Raw IPv4 (LINKTYPE_RAW): the frames carry no link layer.
const RAW_IPV4: u32 = 101;
const MS: i64 = 1_000_000;

/// Builds raw-IPv4 frames and pushes them through one pipeline.
struct Wire {
    pipeline: Pipeline,
    sink: VecSink,
}

impl Wire {
    fn new(config: PipelineConfig) -> Self {
        Wire {
            pipeline: Pipeline::new(config),
            sink: VecSink::default(),
        }
    }

    fn push(&mut self, ts_ns: i64, frame: Vec<u8>) {
        let packet = Packet {
            ts_ns,
            orig_len: frame.len() as u32,
            linktype: RAW_IPV4,
            data: &frame,
        };
        self.pipeline.push(&packet, &mut self.sink).unwrap();
    }

    /// A TCP segment; `flags` is a string of S, A, F, P.
    #[allow(clippy::too_many_arguments)]
    fn tcp(
        &mut self,
        ts_ns: i64,
        src: ([u8; 4], u16),
        dst: ([u8; 4], u16),
        seq: u32,
        ack: u32,
        flags: &str,
        payload: &[u8],
    ) {
        let mut builder = PacketBuilder::ipv4(src.0, dst.0, 64).tcp(src.1, dst.1, seq, 64240);
        if flags.contains('S') {
            builder = builder.syn();
        }
        if flags.contains('A') {
            builder = builder.ack(ack);
        }
        if flags.contains('F') {
            builder = builder.fin();
        }
        if flags.contains('P') {
            builder = builder.psh();
        }
        let mut frame = Vec::new();
        builder.write(&mut frame, payload).unwrap();
        self.push(ts_ns, frame);
    }

    fn udp(&mut self, ts_ns: i64, src: ([u8; 4], u16), dst: ([u8; 4], u16), payload: &[u8]) {
        let mut frame = Vec::new();
        PacketBuilder::ipv4(src.0, dst.0, 64)
            .udp(src.1, dst.1)
            .write(&mut frame, payload)
            .unwrap();
        self.push(ts_ns, frame);
    }
}

/// A distinct flood source per `i`, as a spoofed flood has.
fn flooder(i: u32) -> ([u8; 4], u16) {
    (
        [10, 128 + (i >> 16) as u8, (i >> 8) as u8, i as u8],
        1024 + (i % 60_000) as u16,
    )
}

/// One HTTP/1.1 GET on a connection opened at `t0` whose request and response come at `t1`.
struct Http {
    client: ([u8; 4], u16),
    server: ([u8; 4], u16),
}

impl Http {
    const REQUEST: &'static [u8] = b"GET /orders HTTP/1.1\r\nHost: web\r\n\r\n";
    const RESPONSE: &'static [u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

    fn open(&self, wire: &mut Wire, t: i64) {
        wire.tcp(t, self.client, self.server, 100, 0, "S", &[]);
        wire.tcp(t + 1, self.server, self.client, 500, 101, "SA", &[]);
        wire.tcp(t + 2, self.client, self.server, 101, 501, "A", &[]);
    }

    fn exchange(&self, wire: &mut Wire, t: i64) {
        self.request(wire, t);
        self.respond(wire, t + 1);
    }

    fn request(&self, wire: &mut Wire, t: i64) {
        wire.tcp(t, self.client, self.server, 101, 501, "PA", Self::REQUEST);
    }

    fn respond(&self, wire: &mut Wire, t: i64) {
        let (req, resp) = (Self::REQUEST.len() as u32, Self::RESPONSE.len() as u32);
        wire.tcp(
            t + 1,
            self.server,
            self.client,
            501,
            101 + req,
            "PA",
            Self::RESPONSE,
        );
        wire.tcp(
            t + 2,
            self.client,
            self.server,
            101 + req,
            501 + resp,
            "FA",
            &[],
        );
        wire.tcp(
            t + 3,
            self.server,
            self.client,
            501 + resp,
            102 + req,
            "FA",
            &[],
        );
    }
}

/// A DNS A query for `name` with id `id`.
fn dns_query(id: u16, name: &str) -> Vec<u8> {
    let mut q = Vec::new();
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    q
}

fn config() -> PipelineConfig {
    // 2 MiB: room for 1,228 flows.
    PipelineConfig::new(Node {
        name: "flooded".into(),
        ip: String::new(),
    })
    .with_memory_limit(2 << 20)
}

#[test]
fn a_syn_flood_stays_within_the_flow_budget_and_answered_connections_survive_it() {
    let config = config();
    let max_flows = config.max_flows;
    assert_eq!(
        max_flows, 1228,
        "2 MiB: three quarters for flows at FLOW_COST each"
    );
    let mut wire = Wire::new(config);
    // Two connections opened before the flood and idle all through it (so the longest idle of
    // all flows): one asks before the flood and is answered after it (a slow request: evicting
    // its flow would leave the request unanswered), one asks after it.
    let slow = Http {
        client: ([10, 0, 0, 1], 40000),
        server: ([10, 0, 0, 2], 80),
    };
    let late = Http {
        client: ([10, 0, 0, 1], 40001),
        server: ([10, 0, 0, 2], 80),
    };
    slow.open(&mut wire, 0);
    late.open(&mut wire, 10);
    slow.request(&mut wire, 20);
    let flood = 20 * max_flows as u32;
    for i in 0..flood {
        wire.tcp(
            MS + i64::from(i) * 1000,
            flooder(i),
            ([10, 0, 0, 2], 80),
            i.wrapping_mul(2654435761),
            0,
            "S",
            &[],
        );
    }
    let after = MS + i64::from(flood) * 1000 + MS;
    late.exchange(&mut wire, after);
    slow.respond(&mut wire, after + 10);
    let stats = wire.pipeline.finish(&mut wire.sink).unwrap();

    // The flood's half-open flows keep to their quarter of the budget (checked every hundredth
    // of it in new flows); the two answered connections are tracked besides.
    let tracked_at_end = stats.flows - stats.flows_evicted;
    let one_way_bound = (max_flows / 4 + max_flows / 100 + 2) as u64;
    assert!(
        tracked_at_end <= one_way_bound,
        "{tracked_at_end} flows tracked at the end > {one_way_bound}"
    );
    assert!(
        stats.flows_evicted >= u64::from(flood) - one_way_bound,
        "{stats:?}"
    );
    let http: Vec<_> = wire
        .sink
        .entries
        .iter()
        .filter(|e| e.protocol.name == "http")
        .collect();
    assert_eq!(
        http.len(),
        2,
        "both answered connections keep their exchange"
    );
    for entry in http {
        assert_eq!(
            entry.response.get("status").and_then(|s| s.as_i64()),
            Some(200),
            "{entry:?}"
        );
        assert_eq!(entry.error, None, "{entry:?}");
    }
    let evicted = wire
        .sink
        .entries
        .iter()
        .filter(|e| e.error.as_deref() == Some("evicted (memory limit)"))
        .count();
    assert_eq!(
        evicted as u64, stats.flows_evicted,
        "each evicted flow leaves an entry that says so"
    );
}

#[test]
fn unanswered_dns_queries_stay_within_the_flow_budget_and_answered_ones_are_paired() {
    let config = config();
    let max_flows = config.max_flows as u32;
    let mut wire = Wire::new(config);
    let resolver = ([10, 96, 0, 10], 53);
    let flood = 10 * max_flows;
    let mut legit = 0;
    for i in 0..flood {
        let t = MS + i64::from(i) * 1000;
        wire.udp(
            t,
            flooder(i),
            resolver,
            &dns_query(i as u16, &format!("h{i}.flood.example")),
        );
        // Every 250th packet a real client asks, answered ten flood packets later.
        if i % 250 == 0 {
            let client = ([10, 0, 0, 7], 33000 + (i / 250) as u16);
            let query = dns_query(7, "db.shop.svc");
            wire.udp(t + 1, client, resolver, &query);
            let mut response = query;
            response[2] = 0x81;
            response[3] = 0x80;
            wire.udp(t + 10_000, resolver, client, &response);
            legit += 1;
        }
    }
    let stats = wire.pipeline.finish(&mut wire.sink).unwrap();

    // The flood's unanswered flows keep to their quarter of the budget; the real client's
    // answered conversations are tracked besides.
    let one_way_bound = max_flows / 4 + max_flows / 100;
    assert!(
        stats.flows - stats.flows_evicted <= u64::from(one_way_bound) + legit as u64,
        "{stats:?}"
    );
    assert!(
        stats.flows_evicted >= u64::from(flood - one_way_bound),
        "{stats:?}"
    );
    let answered: Vec<_> = wire
        .sink
        .entries
        .iter()
        .filter(|e| e.protocol.name == "dns" && e.error.is_none())
        .collect();
    assert_eq!(
        answered.len(),
        legit,
        "every answered query is one paired entry"
    );
    assert!(
        answered.iter().all(|e| e.src.ip == "10.0.0.7"),
        "only the real client's queries were answered"
    );
}
