//! The whole product on a little cluster: network namespaces with real servers and clients, live
//! capture on the node's bridge, then query, export and status as a user runs them.

use std::io::BufRead;
use std::path::Path;
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
        _ => (text(&req["grpcMethod"]), text(&req["service"])),
    };
    text(&entry["protocol"]["name"]) == want.protocol
        && text(&entry["src"]["name"]) == CLIENT
        && text(&entry["dst"]["name"]) == want.dst
        && verb == want.verb
        && object == want.object
        && text(&entry["response"]["status"]) == want.status
}

/// Captures on the node's bridge with `flags` while the traffic script runs; returns what the
/// capture printed after it stopped (its summary, and a hint if it gave one).
fn capture_the_traffic_on_the_bridge(cluster: &Cluster, store: &Path, flags: &[&str]) -> String {
    capture_on_the_bridge(cluster, store, flags, || {
        run_ok(&mut cluster.script("traffic.sh"))
    })
}

/// Captures on the node's bridge with `flags` while `traffic` runs; returns what the capture
/// printed after it stopped.
fn capture_on_the_bridge<T>(
    cluster: &Cluster,
    store: &Path,
    flags: &[&str],
    traffic: impl FnOnce() -> T,
) -> String {
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
            .arg(store)
            .arg("--identities")
            .arg(cluster.identities())
            .args(flags)
            .stderr(Stdio::piped()),
    );
    let mut stderr = std::io::BufReader::new(capture.stderr.take().expect("stderr")).lines();
    let started = stderr.next().and_then(Result::ok).unwrap_or_default();
    assert!(started.starts_with("capturing on br0"), "{started}");

    traffic();
    std::thread::sleep(std::time::Duration::from_millis(500));
    run_ok(Command::new("kill").args(["-TERM", &capture.id().to_string()]));
    let after: Vec<String> = stderr.map_while(Result::ok).collect();
    assert_eq!(
        capture.wait().expect("capture exits").code(),
        Some(0),
        "{after:?}"
    );
    after.join("\n")
}

/// The bridge forwards the pods' frames between its ports; only in promiscuous mode (the
/// default) do they reach a capture on the bridge itself. Without it the capture sees at most a
/// few broadcasts, no exchange, and says why.
#[test]
fn a_capture_on_the_bridge_without_promiscuous_mode_finds_nothing_and_says_why() {
    let cluster = Cluster::up("snp");
    let store = tempfile::tempdir().expect("temp dir");
    let summary = capture_the_traffic_on_the_bridge(&cluster, store.path(), &["--no-promiscuous"]);
    assert!(summary.contains(" 0 entries"), "{summary}");
    assert!(
        summary.contains("without promiscuous mode a bridge (br0)")
            && summary.contains("capture without --no-promiscuous"),
        "{summary}"
    );
    assert!(query_json(store.path(), &[]).is_empty());
}

#[test]
fn live_capture_on_the_node_bridge_names_every_request_and_exports_its_packets() {
    let cluster = Cluster::up("sk");
    let store = tempfile::tempdir().expect("temp dir");
    let summary = capture_the_traffic_on_the_bridge(&cluster, store.path(), &[]);
    assert!(summary.contains("dropped 0 ("), "no drops: {summary}");
    assert!(!summary.contains("hint:"), "{summary}");

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

    // The table names each outcome as its protocol's users do.
    let table = run_ok(shark().arg("query").arg("--store").arg(store.path())).stdout;
    for (protocol, status) in [
        ("redis", "OK"),
        ("postgres", "SELECT 1"),
        ("dns", "NOERROR"),
        ("grpc/2", "OK"),
        ("http/1.1", "503"),
    ] {
        assert!(
            table
                .lines()
                .any(|l| l.contains(&format!("┆ {protocol} "))
                    && l.contains(&format!("┆ {status} "))),
            "{protocol} {status} in\n{table}"
        );
    }

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

/// Each protocol's exchange, exported alone, opens decoded in tshark: for HTTP/2 and gRPC that
/// takes the connection preface, SETTINGS and every header block before it (HPACK's table is
/// built from them); gRPC here on a channel that carried two calls, the second exported.
#[test]
fn every_protocols_exchange_exported_alone_opens_decoded_in_tshark() {
    let cluster = Cluster::up("sxd");
    let store = tempfile::tempdir().expect("temp dir");
    capture_on_the_bridge(&cluster, store.path(), &[], || {
        run_ok(&mut cluster.script("traffic.sh"));
        // An HTTP/2 exchange of its own (curl 7.88 fails a second request on nginx's h2c
        // connection; gRPC below gives the connection that carries two).
        run_ok(cluster.exec("client", Path::new("curl")).args([
            "-s",
            "-o",
            "/dev/null",
            "--http2-prior-knowledge",
            "http://10.244.0.10:8080/missing",
        ]));
        let grpc_client = crate::util::workspace().join("tests/cluster/grpc_client.py");
        run_ok(
            cluster
                .exec("client", Path::new("python3"))
                .arg(grpc_client)
                .args(["10.244.0.14:50051", "2"]),
        );
    });
    let last = |filter: &str| -> serde_json::Value {
        let found = query_json(store.path(), &[filter]);
        found
            .last()
            .cloned()
            .unwrap_or_else(|| panic!("no entry for {filter}"))
    };
    let grpc = query_json(store.path(), &["grpc"]);
    let second_call = grpc
        .iter()
        .rfind(|e| grpc.iter().filter(|o| o["stream"] == e["stream"]).count() == 2)
        .unwrap_or_else(|| panic!("two calls on one channel among {grpc:?}"));
    let cases: [(serde_json::Value, &[&str], &str); 6] = [
        (
            last("http1 and request.path == \"/boom\""),
            &[],
            "http.request.uri == \"/boom\" or http.response.code == 503",
        ),
        (
            last("http2 and request.path == \"/missing\""),
            &["-d", "tcp.port==8080,http2"],
            "http2.headers.path == \"/missing\" or http2.headers.status == 404",
        ),
        (
            second_call.clone(),
            &["-d", "tcp.port==50051,http2"],
            "http2.headers.path == \"/helloworld.Greeter/SayHello\" or http2.headers.status == 200",
        ),
        (
            last("dns"),
            &[],
            "dns.flags.response == 1 or dns.flags.response == 0",
        ),
        (last("redis"), &[], "resp"),
        (
            last("postgres and request.query == \"SELECT 42\""),
            &[],
            "pgsql.query or pgsql.tag",
        ),
    ];
    for (entry, decode_as, decoded) in cases {
        let id = entry["id"].as_u64().expect("id");
        let out = store.path().join(format!("{id}.pcap"));
        run_ok(
            shark()
                .arg("export")
                .arg("--store")
                .arg(store.path())
                .arg(format!("id == {id}"))
                .arg("-o")
                .arg(&out),
        );
        let mut args = vec!["-r", out.to_str().expect("utf-8")];
        args.extend(decode_as);
        args.extend(["-Y", decoded]);
        let rows = tshark(&args);
        let protocol = text(&entry["protocol"]["name"]);
        // Request and response both decode: two packets at least (one for each way).
        assert!(
            rows.len() >= 2,
            "{protocol} exchange {id} exported alone: tshark decodes {} packets with {decoded}",
            rows.len()
        );
        let warnings = tshark(
            &[
                &args[..args.len() - 2],
                &["-Y", "_ws.expert.severity >= error"],
            ]
            .concat(),
        );
        assert!(
            warnings.is_empty(),
            "{protocol} exchange {id}: tshark reports errors: {warnings:?}"
        );
    }
}
