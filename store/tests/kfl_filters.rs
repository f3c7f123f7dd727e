//! KFL filters over the store: what the index answers (pushdown) plus the residual gives exactly
//! what evaluating the filter on every entry gives; filtered export holds exactly the matching
//! exchanges, as tshark reads them.

use std::path::Path;

use shark_store::{Entry, INDEXED_COLUMNS, NodeWriter, Query, Store, StoreConfig, entry_schema};

use crate::util::{self, fixture, tshark_fields};

const T0: i64 = 1_795_000_000_000_000_000;

/// A varied population: nodes, identities, protocols, missing methods and statuses.
fn population() -> Vec<Entry> {
    let names = ["web", "api", "checkout", "payments", ""];
    let namespaces = ["shop", "kube-system", "monitoring"];
    let protocols = [
        ("http", "1.1"),
        ("http", "2"),
        ("grpc", "2"),
        ("dns", ""),
        ("redis", ""),
    ];
    let methods = [Some("GET"), Some("POST"), None];
    let statuses = [Some(200), Some(404), Some(503), None];
    (0..600u64)
        .map(|i| {
            let mut e = Entry {
                timestamp: T0 + i as i64 * 1_000_000_000,
                stream: i % 37 + 1,
                ..Entry::default()
            };
            e.node.name = format!("worker-{}", i % 3);
            e.src.name = names[(i as usize) % names.len()].into();
            e.src.namespace = namespaces[(i as usize / 2) % namespaces.len()].into();
            e.src.ip = format!("10.0.{}.{}", i % 4, i % 7);
            e.src.port = 30_000 + (i % 11) as u16;
            e.dst.name = names[(i as usize / 3) % names.len()].into();
            e.dst.namespace = namespaces[(i as usize / 5) % namespaces.len()].into();
            e.dst.pod = format!("{}-pod", e.dst.name);
            e.dst.service = e.dst.name.clone();
            e.dst.ip = format!("10.1.0.{}", i % 9);
            e.dst.port = [80, 8080, 53, 6379][(i as usize / 7) % 4];
            let (p, v) = protocols[(i as usize / 4) % protocols.len()];
            e.protocol.name = p.into();
            e.protocol.version = v.into();
            if let Some(m) = methods[(i as usize) % methods.len()] {
                e.request.insert("method".into(), m.into());
            }
            e.request
                .insert("path".into(), format!("/api/v{}", i % 3).into());
            e.request.insert(
                "headers".into(),
                serde_json::json!({"X-Request-Id": format!("r{i}")}),
            );
            if let Some(s) = statuses[(i as usize / 6) % statuses.len()] {
                e.response.insert("status".into(), s.into());
            }
            e
        })
        .collect()
}

fn write(root: &Path, entries: &[Entry]) {
    for node in ["worker-0", "worker-1", "worker-2"] {
        let mut w = NodeWriter::open(root, node, StoreConfig::default()).unwrap();
        for e in entries.iter().filter(|e| e.node.name == node) {
            w.write_entry(e.clone()).unwrap();
        }
        w.finish().unwrap();
    }
}

fn query(store: &Store, src: &str, from: Option<i64>, to: Option<i64>) -> Vec<Entry> {
    let filter = kfl::compile(src, &entry_schema()).unwrap_or_else(|d| panic!("{src}: {d}"));
    let q = Query {
        from,
        to,
        filter: Some(filter),
        limit: None,
    };
    store.query(&q).unwrap().collect::<Result<_, _>>().unwrap()
}

fn key(e: &Entry) -> (i64, String) {
    (e.timestamp, e.node.name.clone())
}

#[test]
fn pushdown_plus_residual_equals_evaluating_every_entry() {
    let dir = tempfile::tempdir().unwrap();
    let all = population();
    write(dir.path(), &all);
    let store = Store::open(dir.path()).unwrap();
    let filters = [
        "dst.name == \"payments\"",
        "dst.name != \"payments\"",
        "response.status >= 500",
        // Each ordering at a value entries hold, so `>=` and `>` (and `<=` and `<`) differ.
        "response.status >= 503",
        "response.status > 404",
        "response.status <= 404",
        "response.status < 503",
        "dst.port >= 8080",
        "src.port <= 30002",
        "src.port > 30009",
        "src.port < 30001",
        "response.status != 200",
        "not (response.status == 200)",
        "request.method in [\"GET\", \"POST\"]",
        "request.method == nil",
        "http and dst.port == 8080",
        "http2",
        "grpc or dns",
        "src.namespace < \"l\"",
        "node.name == \"worker-2\" and src.port in [30001, 30002]",
        "(dst.name == \"web\" or dst.name == \"api\") or src.name == \"checkout\"",
        "dst.namespace == \"shop\" and response.status >= 500 and request.path.startsWith(\"/api/v1\")",
        "src.ip == \"10.0.1.1\" or dst.pod == \"api-pod\"",
        "dst.service == \"\" and not http",
        "request.headers[\"x-request-id\"] == r\"r1.*\"",
        "timestamp >= datetime(\"2026-11-18T11:08:20Z\") and timestamp < datetime(\"2026-11-18T11:10:00Z\")",
    ];
    for src in filters {
        let filter = kfl::compile(src, &entry_schema()).unwrap_or_else(|d| panic!("{src}: {d}"));
        let mut expected: Vec<(i64, String)> =
            all.iter().filter(|e| filter.matches(*e)).map(key).collect();
        expected.sort();
        let got: Vec<(i64, String)> = query(&store, src, None, None).iter().map(key).collect();
        assert_eq!(
            got,
            expected,
            "filter `{src}` (plan: {})",
            filter.plan(&INDEXED_COLUMNS)
        );
        assert!(
            !expected.is_empty() && expected.len() < all.len(),
            "`{src}` should be selective"
        );
    }
    // Identity and status are answered by the index, not by decoding entries.
    let plan = kfl::compile(
        "dst.name == \"payments\" and response.status >= 500",
        &entry_schema(),
    )
    .unwrap()
    .plan(&INDEXED_COLUMNS);
    assert!(plan.residual.is_none(), "{plan}");
}

#[test]
fn windows_and_limits_combine_with_filters() {
    let dir = tempfile::tempdir().unwrap();
    let all = population();
    write(dir.path(), &all);
    let store = Store::open(dir.path()).unwrap();
    let (from, to) = (T0 + 100_000_000_000, T0 + 200_000_000_000);
    let got = query(&store, "http", Some(from), Some(to));
    let expected: Vec<i64> = all
        .iter()
        .filter(|e| e.protocol.name == "http" && e.timestamp >= from && e.timestamp < to)
        .map(|e| e.timestamp)
        .collect();
    assert_eq!(
        got.iter().map(|e| e.timestamp).collect::<Vec<_>>(),
        expected
    );
    let limited = query(&store, "http and limit(5)", None, None);
    let first5: Vec<i64> = all
        .iter()
        .filter(|e| e.protocol.name == "http")
        .take(5)
        .map(|e| e.timestamp)
        .collect();
    assert_eq!(
        limited.iter().map(|e| e.timestamp).collect::<Vec<_>>(),
        first5
    );
}

fn export(
    store: &Store,
    src: &str,
    from: Option<i64>,
    to: Option<i64>,
    whole_flows: bool,
    out: &Path,
) -> u64 {
    let filter = kfl::compile(src, &entry_schema()).unwrap();
    let q = Query {
        from,
        to,
        filter: Some(filter),
        limit: None,
    };
    let mut file = std::fs::File::create(out).unwrap();
    store.export(&q, whole_flows, &mut file).unwrap().entries
}

/// Request times (as tshark prints them) of the requests tshark finds in `path`.
fn requests(path: &Path, filter: &str) -> Vec<String> {
    tshark_fields(path, filter, &["frame.time_epoch"])
        .into_iter()
        .map(|r| r.concat())
        .collect()
}

#[test]
fn filtered_export_holds_exactly_the_matching_exchanges() {
    let dir = tempfile::tempdir().unwrap();
    let http = util::import(
        dir.path(),
        "node-a",
        &fixture("deepflow/http__sw8.pcap"),
        StoreConfig::default(),
    );
    let dns = util::import(
        dir.path(),
        "node-b",
        &fixture("tcpdump/edns-opts.pcap"),
        StoreConfig::default(),
    );
    let store = Store::open(dir.path()).unwrap();
    let out = dir.path().join("out.pcap");

    // The second HTTP exchange alone: its request and its response, nothing else.
    let (from, to) = (http[1].timestamp, http[2].timestamp);
    assert_eq!(
        export(
            &store,
            "http and response.status == 200",
            Some(from),
            Some(to),
            false,
            &out
        ),
        1
    );
    let http_requests = requests(&fixture("deepflow/http__sw8.pcap"), "http.request");
    assert_eq!(
        requests(&out, "http.request"),
        vec![http_requests[1].clone()]
    );
    assert_eq!(requests(&out, "http.response").len(), 1);
    let span = (http[1].packets.last - http[1].packets.first + 1) as usize;
    assert_eq!(util::tshark_count(&out, ""), span);

    // With whole flows: the connection from its handshake on.
    export(
        &store,
        "http and response.status == 200",
        Some(from),
        Some(to),
        true,
        &out,
    );
    assert_eq!(
        util::tshark_count(&out, ""),
        util::tshark_count(&fixture("deepflow/http__sw8.pcap"), "")
    );
    assert_eq!(util::tshark_count(&out, "tcp.flags.syn == 1"), 2);

    // DNS queries in a window, from the other node: each query with its answer.
    let (from, to) = (dns[3].timestamp, dns[9].timestamp);
    assert_eq!(
        export(
            &store,
            "dns and dst.port == 53",
            Some(from),
            Some(to),
            false,
            &out
        ),
        6
    );
    let dns_requests = requests(
        &fixture("tcpdump/edns-opts.pcap"),
        "dns.flags.response == 0",
    );
    assert_eq!(
        requests(&out, "dns.flags.response == 0"),
        dns_requests[3..9].to_vec()
    );
    assert_eq!(requests(&out, "dns.flags.response == 1").len(), 6);
    // Nothing matches: a valid, empty capture.
    assert_eq!(export(&store, "redis", None, None, false, &out), 0);
    assert_eq!(util::tshark_count(&out, ""), 0);
}
