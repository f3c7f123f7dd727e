//! The whole product on a little cluster: network namespaces with real servers and clients, live
//! capture on the node's bridge, then query, export and status as a user runs them.

use std::io::BufRead;
use std::process::{Command, Stdio};

use crate::util::{Cluster, Running, binary, query_json, run_ok, shark, text, tshark};

/// One request the traffic script made, as it should appear in the index.
pub struct Expected {
    /// `protocol.name`.
    pub protocol: &'static str,
    /// `dst.name`.
    pub dst: &'static str,
    /// The method, command or query type.
    pub verb: &'static str,
    /// The path, key, query, question or gRPC service.
    pub object: &'static str,
    /// `response.status`.
    pub status: &'static str,
}

/// The client pod every request of `traffic.sh` comes from.
const CLIENT: &str = "checkout-5c8d7-zz9yx";

/// Every request of `traffic.sh`, as the index must name it.
pub const EXPECTED: &[Expected] = &[
    Expected {
        protocol: "http",
        dst: "web-6d4cf56db6-x7k2p",
        verb: "GET",
        object: "/health",
        status: "200",
    },
    Expected {
        protocol: "http",
        dst: "web-6d4cf56db6-x7k2p",
        verb: "POST",
        object: "/api/orders",
        status: "201",
    },
    Expected {
        protocol: "http",
        dst: "web-6d4cf56db6-x7k2p",
        verb: "GET",
        object: "/missing",
        status: "404",
    },
    Expected {
        protocol: "http",
        dst: "web-6d4cf56db6-x7k2p",
        verb: "GET",
        object: "/boom",
        status: "503",
    },
    Expected {
        protocol: "redis",
        dst: "redis-0",
        verb: "SET",
        object: "cart:42",
        status: "0",
    },
    Expected {
        protocol: "redis",
        dst: "redis-0",
        verb: "GET",
        object: "cart:42",
        status: "0",
    },
    Expected {
        protocol: "postgres",
        dst: "postgres-0",
        verb: "",
        object: "SELECT 42",
        status: "0",
    },
    Expected {
        protocol: "dns",
        dst: "coredns-5d78c9869d-abcde",
        verb: "A",
        object: "db.shop.svc.cluster.local",
        status: "0",
    },
    Expected {
        protocol: "grpc",
        dst: "greeter-7f9b8-qwert",
        verb: "SayHello",
        object: "helloworld.Greeter",
        status: "0",
    },
];

/// Whether `entry` (KFL's JSON) is the request `want`, from the client pod.
pub fn matches(entry: &serde_json::Value, want: &Expected) -> bool {
    let req = &entry["request"];
    let (verb, object) = match want.protocol {
        "http" => (text(&req["method"]), text(&req["path"])),
        "redis" => (text(&req["command"]), text(&req["key"])),
        "postgres" => (String::new(), text(&req["query"])),
        "dns" => (
            text(&req["qtype"]),
            req["questions"][0].as_str().unwrap_or_default().to_string(),
        ),
        _ => (text(&req["method"]), text(&req["service"])),
    };
    text(&entry["protocol"]["name"]) == want.protocol
        && text(&entry["src"]["name"]) == CLIENT
        && text(&entry["dst"]["name"]) == want.dst
        && verb == want.verb
        && object == want.object
        && text(&entry["response"]["status"]) == want.status
}

#[test]
fn live_capture_on_the_node_bridge_names_every_request_and_exports_its_packets() {
    let cluster = Cluster::up("sk");
    let store = tempfile::tempdir().expect("temp dir");
    let mut capture = Running::start(
        cluster
            .exec("node", &binary("kubectl-shark"))
            .args([
                "capture",
                "--local",
                "-i",
                "br0",
                "--node",
                "node-1",
                "--duration",
                "60s",
                "--store",
            ])
            .arg(store.path())
            .arg("--identities")
            .arg(cluster.identities())
            .stderr(Stdio::piped()),
    );
    let mut stderr = std::io::BufReader::new(capture.stderr.take().expect("stderr")).lines();
    let started = stderr.next().and_then(Result::ok).unwrap_or_default();
    assert!(started.starts_with("capturing on br0"), "{started}");

    run_ok(&mut cluster.script("traffic.sh"));
    std::thread::sleep(std::time::Duration::from_millis(500));
    run_ok(Command::new("kill").args(["-TERM", &capture.id().to_string()]));
    let summary = stderr.next().and_then(Result::ok).unwrap_or_default();
    assert_eq!(
        capture.wait().expect("capture exits").code(),
        Some(0),
        "{summary}"
    );
    assert!(summary.contains("dropped 0 ("), "no drops: {summary}");

    let entries = query_json(store.path(), &[]);
    for want in EXPECTED {
        assert!(
            entries.iter().any(|e| matches(e, want)),
            "{} {} {} → {} not found among:\n{}",
            want.protocol,
            want.verb,
            want.object,
            want.dst,
            entries
                .iter()
                .map(crate::util::summary)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    let h2 = query_json(store.path(), &["http2 and request.path == \"/health\""]);
    assert_eq!(h2.len(), 1, "the h2c prior-knowledge request");
    assert_eq!(text(&h2[0]["dst"]["port"]), "8080");

    // Export the web pod's traffic and read it back with tshark.
    let out = store.path().join("web.pcap");
    run_ok(
        shark()
            .arg("export")
            .arg("--store")
            .arg(store.path())
            .args(["dst.name == \"web-6d4cf56db6-x7k2p\" and http1", "-o"])
            .arg(&out),
    );
    let uris = tshark(&[
        "-r",
        out.to_str().expect("utf-8"),
        "-Y",
        "http.request",
        "-T",
        "fields",
        "-e",
        "http.request.uri",
    ]);
    let mut uris: Vec<String> = uris.into_iter().map(|r| r[0].clone()).collect();
    uris.sort();
    assert_eq!(uris, ["/api/orders", "/boom", "/health", "/missing"]);

    let status = run_ok(shark().arg("status").arg("--store").arg(store.path())).stdout;
    let cells = |line: &str| -> Vec<String> {
        line.split('┆')
            .map(|c| {
                c.trim_matches(|ch: char| ch.is_whitespace() || ch == '│')
                    .to_string()
            })
            .collect()
    };
    let line = |needle: &str| {
        status
            .lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("{needle} in\n{status}"))
    };
    let (header, row) = (cells(line("CAPTURED")), cells(line("node-1")));
    let column = |name: &str| {
        let at = header.iter().position(|h| h == name);
        row[at.unwrap_or_else(|| panic!("a {name} column in\n{status}"))].clone()
    };
    let captured: u64 = column("CAPTURED").parse().expect("CAPTURED is a count");
    assert!(
        captured > 50,
        "status counts the captured packets:\n{status}"
    );
    assert_eq!(column("DROPS"), "0", "status shows zero drops:\n{status}");
    assert_eq!(column("FLOWS EVICTED"), "0", "nothing evicted:\n{status}");
}
