//! `import` then `query`: the HTTP exchanges of real captures, as tshark sees them.

use std::collections::HashMap;
use std::path::Path;

use crate::util::{fixture, import, query_json, run_ok, shark, text, tshark};

/// One HTTP exchange as (method, path, status); "" where a side is missing from the capture.
type Exchange = (String, String, String);

/// The exchanges tshark finds: requests in order, each with its response, plus responses without a request.
fn tshark_exchanges(capture: &Path) -> Vec<Exchange> {
    let path = capture.to_str().expect("utf-8 path");
    let rows = tshark(&[
        "-r",
        path,
        "-Y",
        "http",
        "-T",
        "fields",
        "-e",
        "frame.number",
        "-e",
        "http.request.method",
        "-e",
        "http.request.uri",
        "-e",
        "http.response.code",
        "-e",
        "http.request_in",
    ]);
    let mut exchanges = Vec::new();
    let mut by_request_frame = HashMap::new();
    for row in &rows {
        let field = |i: usize| row.get(i).cloned().unwrap_or_default();
        if !field(1).is_empty() {
            by_request_frame.insert(field(0), exchanges.len());
            exchanges.push((field(1), field(2), String::new()));
        } else if let Some(&i) = by_request_frame.get(&field(4)) {
            exchanges[i].2 = field(3);
        } else {
            exchanges.push((String::new(), String::new(), field(3)));
        }
    }
    exchanges
}

fn our_exchanges(store: &Path) -> Vec<Exchange> {
    query_json(store, &["http"])
        .iter()
        .map(|e| {
            (
                text(&e["request"]["method"]),
                request_target(&e["request"]),
                text(&e["response"]["status"]),
            )
        })
        .collect()
}

/// The request target as on the wire (what tshark calls the URI): the URL without scheme and host.
fn request_target(request: &serde_json::Value) -> String {
    let url = text(&request["url"]);
    match url.split_once("://") {
        Some((_, rest)) => rest
            .find('/')
            .map(|i| rest[i..].to_string())
            .unwrap_or_default(),
        None => url,
    }
}

fn assert_same_as_tshark(name: &str) {
    let capture = fixture(name);
    let store = tempfile::tempdir().expect("temp dir");
    import(store.path(), &capture, "node-a");
    let expected = tshark_exchanges(&capture);
    assert!(!expected.is_empty(), "tshark finds HTTP in {name}");
    assert_eq!(
        our_exchanges(store.path()),
        expected,
        "HTTP exchanges of {name}"
    );
}

#[test]
fn deepflow_http_gives_the_exchanges_tshark_shows() {
    assert_same_as_tshark("deepflow/http.pcap");
}

#[test]
fn deepflow_httpv1_post_gives_the_exchange_tshark_shows() {
    assert_same_as_tshark("deepflow/http__httpv1.pcap");
}

#[test]
fn response_without_its_request_is_still_an_entry() {
    assert_same_as_tshark("tcpdump/ipv4_tcp_http_xml.pcap");
}

#[test]
fn entries_carry_addresses_timestamps_and_the_node() {
    let capture = fixture("deepflow/http.pcap");
    let store = tempfile::tempdir().expect("temp dir");
    import(store.path(), &capture, "node-a");
    let entries = query_json(store.path(), &["http"]);
    let first = tshark(&[
        "-r",
        capture.to_str().expect("utf-8"),
        "-Y",
        "http.request",
        "-T",
        "fields",
        "-e",
        "ip.src",
        "-e",
        "tcp.srcport",
        "-e",
        "ip.dst",
        "-e",
        "tcp.dstport",
        "-e",
        "frame.time_epoch",
    ]);
    let want = &first[0];
    let e = &entries[0];
    assert_eq!(text(&e["src"]["ip"]), want[0]);
    assert_eq!(text(&e["src"]["port"]), want[1]);
    assert_eq!(text(&e["dst"]["ip"]), want[2]);
    assert_eq!(text(&e["dst"]["port"]), want[3]);
    assert_eq!(text(&e["node"]["name"]), "node-a");
    assert_eq!(text(&e["protocol"]["name"]), "http");
    assert_eq!(text(&e["protocol"]["version"]), "1.1");
    // tshark prints epoch seconds with 9 decimals; our JSON has RFC3339 with nanoseconds.
    let secs: f64 = want[4].parse().expect("epoch");
    let ours = chrono_seconds(&text(&e["timestamp"]));
    assert!(
        (ours - secs).abs() < 1e-6,
        "timestamp {ours} vs tshark {secs}"
    );
    assert!(e["elapsedTime"].as_f64().is_some_and(|ms| ms >= 0.0));
}

/// Seconds since the epoch of an RFC3339 UTC timestamp like `2022-05-19T06:44:56.394695000Z`.
fn chrono_seconds(rfc3339: &str) -> f64 {
    let out = run_ok(std::process::Command::new("date").args(["-u", "-d", rfc3339, "+%s.%N"]));
    out.stdout.trim().parse().expect("date prints seconds")
}

#[test]
fn filters_select_by_method_status_and_header_regex() {
    let store = tempfile::tempdir().expect("temp dir");
    import(store.path(), &fixture("deepflow/http.pcap"), "n");
    import(store.path(), &fixture("deepflow/http__httpv1.pcap"), "n");
    let methods = |args: &[&str]| -> Vec<String> {
        query_json(store.path(), args)
            .iter()
            .map(|e| text(&e["request"]["method"]))
            .collect()
    };
    assert_eq!(
        methods(&["http"]),
        ["POST", "GET"],
        "both files, in time order (2020 before 2022)"
    );
    assert_eq!(methods(&["request.method == \"POST\""]), ["POST"]);
    assert_eq!(methods(&["response.status >= 400"]), Vec::<String>::new());
    assert_eq!(
        methods(&["response.status >= 200 and response.status < 300"]),
        ["POST", "GET"]
    );
    assert_eq!(
        methods(&[r#"request.headers["user-agent"] == r"curl/.*""#]),
        curl_requests(store.path())
    );
}

/// Methods of the requests whose User-Agent starts with `curl/`, read from the stored entries' headers.
fn curl_requests(store: &Path) -> Vec<String> {
    query_json(store, &["http"])
        .iter()
        .filter(|e| {
            e["request"]["headers"].as_object().is_some_and(|h| {
                h.iter().any(|(k, v)| {
                    k.eq_ignore_ascii_case("user-agent") && text(v).starts_with("curl/")
                })
            })
        })
        .map(|e| text(&e["request"]["method"]))
        .collect()
}

#[test]
fn time_window_is_from_inclusive_to_exclusive() {
    let store = tempfile::tempdir().expect("temp dir");
    import(store.path(), &fixture("deepflow/http__httpv1.pcap"), "n");
    let all = query_json(store.path(), &[]);
    let ts = text(&all[0]["timestamp"]);
    assert_eq!(
        query_json(store.path(), &["--from", &ts]).len(),
        all.len(),
        "--from is inclusive"
    );
    assert_eq!(
        query_json(store.path(), &["--to", &ts]).len(),
        0,
        "--to is exclusive"
    );
    assert_eq!(
        query_json(store.path(), &["--from", "-1h"]).len(),
        0,
        "2020 capture is older than an hour"
    );
}

#[test]
fn table_output_shows_the_columns_people_read() {
    let store = tempfile::tempdir().expect("temp dir");
    import(store.path(), &fixture("deepflow/http__httpv1.pcap"), "n");
    let table = run_ok(
        shark()
            .arg("query")
            .arg("--store")
            .arg(store.path())
            .arg("http"),
    )
    .stdout;
    for column in [
        "TIME", "SRC", "DST", "PROTO", "METHOD", "PATH", "STATUS", "ELAPSED",
    ] {
        assert!(table.contains(column), "column {column} in\n{table}");
    }
    assert!(
        table.contains("POST") && table.contains("/query?1590632942") && table.contains("200"),
        "{table}"
    );
    assert!(table.lines().any(|l| l.trim() == "1 entry"), "{table}");
}

#[test]
fn dns_messages_have_their_size_and_the_map_counts_dns_bytes_each_way() {
    let capture = fixture("deepflow/dns__a-and-ns.pcap");
    let store = tempfile::tempdir().expect("temp dir");
    import(store.path(), &capture, "node-a");
    // tshark: each DNS message's size is its UDP payload (UDP length minus the 8-byte header).
    let rows = tshark(&[
        "-r",
        capture.to_str().expect("utf-8"),
        "-Y",
        "dns",
        "-T",
        "fields",
        "-e",
        "dns.flags.response",
        "-e",
        "udp.length",
    ]);
    let payload = |response: &str| -> u64 {
        rows.iter()
            .filter(|r| r[0] == response)
            .map(|r| r[1].parse::<u64>().expect("udp.length") - 8)
            .sum()
    };
    let entries = query_json(store.path(), &["dns"]);
    let sizes = |side: &str| -> u64 {
        entries
            .iter()
            .filter_map(|e| e[side]["size"].as_u64())
            .sum()
    };
    assert_eq!(
        (sizes("request"), sizes("response")),
        (payload("0"), payload("1"))
    );
    let map = run_ok(
        shark()
            .arg("map")
            .arg("--store")
            .arg(store.path())
            .args(["-o", "json", "dns"]),
    )
    .stdout;
    let map: serde_json::Value = serde_json::from_str(&map).expect("map JSON");
    let bytes = |field: &str| -> u64 {
        map["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .filter_map(|e| e[field].as_u64())
            .sum()
    };
    assert_eq!(
        (bytes("requestBytes"), bytes("responseBytes")),
        (payload("0"), payload("1"))
    );
}

#[test]
fn postgres_statements_prepared_before_the_capture_are_named_as_tshark_names_them() {
    let capture = fixture("deepflow/postgre__pgsql-all.pcap");
    let store = tempfile::tempdir().expect("temp dir");
    import(store.path(), &capture, "node-a");
    // tshark: the statements named in frames with a Bind (the Parse beside a Bind names one too, here
    // always the unnamed ""; each batch binds once), in order.
    let binds = tshark(&[
        "-r",
        capture.to_str().expect("utf-8"),
        "-d",
        "tcp.port==8000,pgsql",
        "-Y",
        "pgsql.type == \"Bind\"",
        "-T",
        "fields",
        "-e",
        "pgsql.statement",
    ]);
    let named: Vec<String> = binds
        .iter()
        .flat_map(|r| r[0].split(','))
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    assert!(
        named.len() > 10,
        "the capture binds statements prepared before it began: {named:?}"
    );
    let ours: Vec<String> = query_json(store.path(), &["postgres"])
        .iter()
        .map(|e| text(&e["request"]["statement"]))
        .filter(|s| !s.is_empty())
        .collect();
    assert_eq!(ours, named);
    // With no SQL to show, the table's PATH names the statement.
    let table = run_ok(
        shark()
            .arg("query")
            .arg("--store")
            .arg(store.path())
            .arg("postgres and request.statement == \"S_18\""),
    )
    .stdout;
    assert!(table.contains("(prepared statement S_18)"), "{table}");
}
