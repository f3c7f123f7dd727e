//! Benchmark: evaluating a 4-predicate filter with one header regex over decoded entries (in
//! legacy KFL, and the same filter in KFL2).
//!
//! `cargo run --release -p kfl --example bench_eval [SECONDS]`
//!
//! Entries are shaped like the store's `Entry` (typed identity fields; request and response as
//! JSON maps with headers as seen on the wire, looked up case-insensitively), with a realistic mix
//! of protocols, statuses, namespaces and 6–12 headers each. The filter is compiled once (regex
//! included); the figure is entries evaluated per second on one thread.

#[path = "../tests/common/mod.rs"]
mod common;

use std::borrow::Cow;
use std::hint::black_box;
use std::time::{Duration, Instant};

use kfl::{PathSegment, Record, Value};
use serde_json::{Map, Value as Json, json};

struct Endpoint {
    ip: String,
    port: i64,
    name: String,
    namespace: String,
    pod: String,
    service: String,
}

/// The store's `Entry`, as far as a filter reads it.
struct Entry {
    timestamp: i64,
    elapsed_time: f64,
    node: String,
    src: Endpoint,
    dst: Endpoint,
    protocol: (String, String),
    request: Map<String, Json>,
    response: Map<String, Json>,
    error: Option<String>,
}

fn text(s: &str) -> Value<'_> {
    Value::Str(Cow::Borrowed(s))
}

fn endpoint<'a>(end: &'a Endpoint, field: &str) -> Value<'a> {
    match field {
        "ip" => text(&end.ip),
        "port" => Value::Int(end.port),
        "name" => text(&end.name),
        "namespace" => text(&end.namespace),
        "pod" => text(&end.pod),
        "service" => text(&end.service),
        _ => Value::Nil,
    }
}

/// A field of a request or response map; `headers["name"]` ignores the name's case.
fn message<'a>(map: &'a Map<String, Json>, path: &[PathSegment]) -> Value<'a> {
    let Some((PathSegment::Field(first), rest)) = path.split_first() else {
        return Value::Nil;
    };
    let Some(mut at) = map.get(&**first) else {
        return Value::Nil;
    };
    for segment in rest {
        let next = match (segment, at) {
            (PathSegment::Key(key), Json::Object(object)) if &**first == "headers" => {
                object.get(&**key).or_else(|| {
                    object
                        .iter()
                        .find(|(name, _)| name.eq_ignore_ascii_case(key))
                        .map(|(_, v)| v)
                })
            }
            (PathSegment::Field(key) | PathSegment::Key(key), Json::Object(object)) => {
                object.get(&**key)
            }
            (PathSegment::Index(i), Json::Array(items)) => items.get(*i),
            _ => None,
        };
        match next {
            Some(next) => at = next,
            None => return Value::Nil,
        }
    }
    Value::Json(at)
}

impl Record for Entry {
    fn get(&self, path: &[PathSegment]) -> Value<'_> {
        let Some((PathSegment::Field(first), rest)) = path.split_first() else {
            return Value::Nil;
        };
        let field = |i: usize| match rest.get(i) {
            Some(PathSegment::Field(name)) => &**name,
            _ => "",
        };
        match (&**first, rest.len()) {
            ("timestamp", 0) => Value::Time(self.timestamp),
            ("elapsedTime", 0) => Value::Float(self.elapsed_time),
            ("node", 1) if field(0) == "name" => text(&self.node),
            ("src", 1) => endpoint(&self.src, field(0)),
            ("dst", 1) => endpoint(&self.dst, field(0)),
            ("protocol", 1) => match field(0) {
                "name" => text(&self.protocol.0),
                "version" => text(&self.protocol.1),
                _ => Value::Nil,
            },
            ("request", _) => message(&self.request, rest),
            ("response", _) => message(&self.response, rest),
            ("error", 0) => self.error.as_deref().map_or(Value::Nil, text),
            _ => Value::Nil,
        }
    }
}

/// A small deterministic generator (xorshift), so runs are comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }
}

fn entries(count: usize) -> Vec<Entry> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let namespaces = ["shop", "payments", "kube-system", "monitoring", "default"];
    let names = [
        "checkout",
        "cart",
        "web",
        "api",
        "payments",
        "coredns",
        "prometheus",
    ];
    let protocols = [
        ("http", "1.1"),
        ("http", "1.1"),
        ("http", "1.1"),
        ("http", "2"),
        ("grpc", "2"),
        ("dns", ""),
        ("redis", ""),
    ];
    let statuses = [
        200, 200, 200, 201, 204, 301, 304, 400, 401, 403, 404, 404, 500, 502, 503,
    ];
    let paths = [
        "/",
        "/api/v1/cart",
        "/api/v1/checkout",
        "/healthz",
        "/metrics",
        "/static/app.js",
    ];
    let extra_headers = [
        ("Accept", "application/json"),
        ("Accept-Encoding", "gzip, deflate, br"),
        ("Connection", "keep-alive"),
        ("Content-Type", "application/json; charset=utf-8"),
        ("X-Request-Id", "5d3f2c1e-8a4b-4f7e-9c2d-1b0a3e5f7d9c"),
        (
            "Traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ),
        ("Cookie", "session=3b1f9e; theme=dark"),
        ("Cache-Control", "no-cache"),
        ("X-Forwarded-For", "203.0.113.7"),
    ];
    (0..count)
        .map(|i| {
            let endpoint = |rng: &mut Rng| {
                let name = rng.pick(&names).to_string();
                Endpoint {
                    ip: format!("10.244.{}.{}", rng.next() % 8, rng.next() % 250),
                    port: *rng.pick(&[80, 443, 8080, 9090, 53, 6379]),
                    namespace: rng.pick(&namespaces).to_string(),
                    pod: format!("{name}-7d9f8c-{:05x}", rng.next() % 0xfffff),
                    service: name.clone(),
                    name,
                }
            };
            let (protocol, version) = *rng.pick(&protocols);
            let mut headers = Map::new();
            headers.insert("Host".into(), json!("api.shop.svc.cluster.local"));
            headers.insert("User-Agent".into(), json!("Go-http-client/1.1"));
            for _ in 0..(4 + rng.next() % 7) {
                let (name, value) = *rng.pick(&extra_headers);
                headers.insert(name.into(), json!(value));
            }
            match rng.next() % 3 {
                0 => headers.insert(
                    "authorization".into(),
                    json!("Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.e30.sig"),
                ),
                1 => headers.insert("Authorization".into(), json!("Basic dXNlcjpwYXNz")),
                _ => None,
            };
            let mut request = Map::new();
            request.insert(
                "method".into(),
                json!(rng.pick(&["GET", "GET", "GET", "POST", "PUT", "DELETE"])),
            );
            request.insert("path".into(), json!(rng.pick(&paths)));
            request.insert("headers".into(), Json::Object(headers));
            let mut response = Map::new();
            response.insert("status".into(), json!(rng.pick(&statuses)));
            response.insert(
                "headers".into(),
                json!({ "Content-Type": "application/json", "Content-Length": "512" }),
            );
            Entry {
                timestamp: 1_773_525_600_000_000_000 + i as i64 * 1_000_000,
                elapsed_time: (rng.next() % 5_000) as f64 / 10.0,
                node: format!("worker-{}", rng.next() % 4),
                src: endpoint(&mut rng),
                dst: endpoint(&mut rng),
                protocol: (protocol.to_string(), version.to_string()),
                request,
                response,
                error: None,
            }
        })
        .collect()
}

/// Nanoseconds this thread has spent on a CPU (`/proc/thread-self/schedstat`), so that a busy,
/// shared machine does not count time spent waiting for a core.
fn cpu_nanos() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn measure(label: &str, source: &str, entries: &[Entry], budget: Duration) {
    let mut schema = common::entry_schema();
    // The KFL2 name the KFL2 spelling uses, as the store's schema declares it.
    schema.aliases.push(kfl::Alias {
        name: "status_code",
        target: "response.status",
        ty: "int",
    });
    let filter = match kfl::compile(source, &schema) {
        Ok(filter) => filter,
        Err(diagnostics) => {
            eprintln!("{diagnostics}");
            std::process::exit(2);
        }
    };
    let started = Instant::now();
    let cpu_started = cpu_nanos();
    let mut evaluated = 0u64;
    let mut matched = 0u64;
    while started.elapsed() < budget {
        for entry in entries {
            matched += u64::from(filter.matches(black_box(entry)));
        }
        evaluated += entries.len() as u64;
    }
    let seconds = started.elapsed().as_secs_f64();
    let cpu_seconds = cpu_started
        .zip(cpu_nanos())
        .map_or(seconds, |(start, end)| (end - start) as f64 / 1e9);
    println!(
        "{label}:\n  {:.2} M entries/s per CPU-second on one core ({:.2} M/s wall clock; {evaluated} entries, {cpu_seconds:.2}s on CPU of {seconds:.2}s, {:.1}% matched)\n  filter: {source}",
        evaluated as f64 / cpu_seconds / 1e6,
        evaluated as f64 / seconds / 1e6,
        matched as f64 * 100.0 / evaluated as f64
    );
}

fn main() {
    let seconds: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(3);
    let budget = Duration::from_secs(seconds);
    let typical = r#"http and response.status >= 400 and dst.namespace == "shop" and request.headers["Authorization"] == r"Bearer .*""#;
    let regex_first = r#"request.headers["Authorization"] == r"Bearer .*" and http and response.status >= 400 and dst.namespace == "shop""#;
    // The store evaluates an entry right after decoding it, while it is in cache: cycling over a
    // small working set measures that. A large working set measures cache misses in the entries'
    // maps instead (the record's cost, not the filter's).
    let hot = entries(1_000);
    measure(
        "4 predicates, one header regex; 1,000 decoded entries (in cache)",
        typical,
        &hot,
        budget,
    );
    measure(
        "same, regex first so every entry runs the regex; 1,000 entries",
        regex_first,
        &hot,
        budget,
    );
    measure(
        "the same filter in KFL2; 1,000 entries",
        r#"http && status_code >= 400 && dst.namespace == "shop" && request.headers["authorization"].matches("^Bearer ")"#,
        &hot,
        budget,
    );
    let cold = entries(200_000);
    measure(
        "4 predicates, one header regex; 200,000 entries (out of cache)",
        typical,
        &cold,
        budget,
    );
}
