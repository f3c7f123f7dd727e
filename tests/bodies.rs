//! Bodies kept in the packets, not the index: with `--index-body 16`, `query -o json` and body
//! filters give what a store holding whole bodies gives; a body whose packets are gone shows its
//! prefix, marked, with one warning.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{binary, fixture, query_json, run, run_ok, shark, text, tshark};

/// The HTTP captures compared: HTTP/1 (keep-alive, a response without its request, TSO) and
/// HTTP/2 and gRPC.
const CAPTURES: &[&str] = &[
    "deepflow/http.pcap",
    "deepflow/http__httpv1.pcap",
    "deepflow/http__sw8.pcap",
    "tcpdump/ipv4_tcp_http_xml.pcap",
    "tcpdump/ipv4_tcp_http_xml_tso.pcap",
    "deepflow/http__http2-multi.pcap",
    "deepflow/http__grpc-server-stream.pcap",
    "deepflow/http__grpc-service-name.pcap",
    "deepflow/http__h2c_ascii.pcap",
];

/// Imports `captures` into a new store keeping `index_body` bytes of each body in the index.
fn store_with(captures: &[PathBuf], index_body: &str) -> tempfile::TempDir {
    let store = tempfile::tempdir().expect("temp dir");
    for capture in captures {
        run_ok(
            shark()
                .arg("import")
                .arg(capture)
                .arg("--store")
                .arg(store.path())
                .args(["--index-body", index_body]),
        );
    }
    store
}

/// `query -o json` output, as printed.
fn json_output(store: &Path, filter: &str) -> String {
    run_ok(
        shark()
            .arg("query")
            .arg("--store")
            .arg(store)
            .args(["-o", "json", filter]),
    )
    .stdout
}

/// How many entries a table query finds (the table's last line: "N entries" or "1 entry").
fn table_count(store: &Path, filter: &str) -> usize {
    let out = run_ok(shark().arg("query").arg("--store").arg(store).arg(filter)).stdout;
    out.lines()
        .rev()
        .find_map(|l| l.split_whitespace().next().and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

#[test]
fn json_output_reads_the_same_bodies_back_from_the_packets() {
    let captures: Vec<PathBuf> = CAPTURES.iter().map(|c| fixture(c)).collect();
    let whole = store_with(&captures, "1000000");
    let cut = store_with(&captures, "16");
    let cut_bodies = table_count(
        cut.path(),
        "request.bodyTruncated or response.bodyTruncated",
    );
    assert!(
        cut_bodies >= 6,
        "the index holds only prefixes of the longer HTTP/1 bodies ({cut_bodies})"
    );
    assert_eq!(
        table_count(
            whole.path(),
            "request.bodyTruncated or response.bodyTruncated"
        ),
        0
    );
    let expected = json_output(whole.path(), "");
    assert!(expected.lines().count() >= 12, "{expected}");
    assert_eq!(json_output(cut.path(), ""), expected);
    let none = store_with(&captures, "0");
    assert_eq!(
        json_output(none.path(), ""),
        expected,
        "--index-body 0 keeps no body inline"
    );
}

/// Bodies are read back many entries at a time (pages of a query, spans of packets per flow,
/// one buffer lent for every packet): on busy keep-alive connections, with every entry read back
/// and with a few scattered ones, each entry gets exactly the bodies its first dissection gave.
#[test]
fn a_busy_keep_alive_store_reads_every_body_back_as_first_dissected() {
    let dir = tempfile::tempdir().expect("temp dir");
    let capture = dir.path().join("keepalive.pcap");
    run_ok(
        Command::new(binary("shark-bench-gen"))
            .arg("-o")
            .arg(&capture)
            .args(["--size", "4MB", "--flows", "4", "--exchanges", "100000"])
            .args(["--mix", "http", "--duration", "3s", "--seed", "7"]),
    );
    let whole = store_with(std::slice::from_ref(&capture), "1000000");
    let cut = store_with(std::slice::from_ref(&capture), "16");
    let expected = json_output(whole.path(), "http");
    assert!(expected.lines().count() > 1000, "several pages of entries");
    assert_eq!(json_output(cut.path(), "http"), expected);
    // Scattered entries: their flows' packets read in spans far apart, one layer each.
    let scattered = "response.status == 301";
    let expected = json_output(whole.path(), scattered);
    assert!(expected.lines().count() >= 10, "{expected}");
    assert_eq!(json_output(cut.path(), scattered), expected);
    // A filter past the prefix sees every body whole.
    let past_prefix = "response.body.endsWith(\"}\")";
    let found = table_count(whole.path(), past_prefix);
    assert!(found > 1000, "{found}");
    assert_eq!(table_count(cut.path(), past_prefix), found);
}

#[test]
fn a_body_filter_sees_text_past_the_prefix() {
    let captures = [
        fixture("deepflow/http.pcap"),
        fixture("tcpdump/ipv4_tcp_http_xml.pcap"),
    ];
    let whole = store_with(&captures, "1000000");
    let cut = store_with(&captures, "16");
    // Text well past the first 16 bytes of the XML response body, as the capture has it.
    let xml = query_json(whole.path(), &["response.body.startsWith(\"<?xml\")"]);
    assert_eq!(xml.len(), 1, "one XML response");
    let body = text(&xml[0]["response"]["body"]);
    let needle: String = body.chars().skip(200).take(24).collect();
    assert_eq!(
        needle.chars().count(),
        24,
        "the body is long enough: {body}"
    );
    let filter = format!(
        "response.body.contains({})",
        serde_json::Value::String(needle)
    );
    let found = json_output(cut.path(), &filter);
    assert_eq!(found, json_output(whole.path(), &filter));
    assert_eq!(found.lines().count(), 1, "{found}");
    assert_eq!(
        table_count(cut.path(), &filter),
        1,
        "a table query filters as exactly"
    );
    assert_eq!(
        table_count(
            cut.path(),
            "not response.body.contains(\"<?xml\") and response.body != \"\""
        ),
        1
    );
}

#[test]
fn export_and_map_filter_on_text_past_the_prefix_as_query_does() {
    let captures = [
        fixture("deepflow/http.pcap"),
        fixture("tcpdump/ipv4_tcp_http_xml.pcap"),
    ];
    let whole = store_with(&captures, "1000000");
    let cut = store_with(&captures, "16");
    let xml = query_json(whole.path(), &["response.body.startsWith(\"<?xml\")"]);
    assert_eq!(xml.len(), 1, "one XML response");
    let needle: String = text(&xml[0]["response"]["body"])
        .chars()
        .skip(200)
        .take(24)
        .collect();
    let filter = format!(
        "response.body.contains({})",
        serde_json::Value::String(needle)
    );
    // export: the packets of exactly that exchange, as tshark reads them back.
    let out = tempfile::tempdir().expect("temp dir");
    let pcap = out.path().join("xml.pcap");
    run_ok(
        shark()
            .arg("export")
            .arg("--store")
            .arg(cut.path())
            .arg(&filter)
            .arg("-o")
            .arg(&pcap),
    );
    let responses = tshark(&[
        "-r",
        pcap.to_str().expect("utf-8"),
        "-Y",
        "http.response",
        "-T",
        "fields",
        "-e",
        "http.content_type",
    ]);
    assert_eq!(responses.len(), 1, "one response exported: {responses:?}");
    assert!(
        responses[0][0].contains("xml"),
        "the XML one: {responses:?}"
    );
    // map: one edge with one request, the same as over the store with whole bodies.
    let map = |store: &Path| {
        run_ok(
            shark()
                .arg("map")
                .arg("--store")
                .arg(store)
                .args(["-o", "json"])
                .arg(&filter),
        )
        .stdout
    };
    let edges: serde_json::Value = serde_json::from_str(&map(cut.path())).expect("map JSON");
    assert_eq!(
        edges,
        serde_json::from_str::<serde_json::Value>(&map(whole.path())).expect("map JSON")
    );
    let requests: u64 = edges["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .filter_map(|e| e["requests"].as_u64())
        .sum();
    assert_eq!(requests, 1, "{edges}");
}

#[test]
fn a_chunked_gzip_body_comes_back_decoded_among_keep_alive_exchanges() {
    let dir = tempfile::tempdir().expect("temp dir");
    let capture = dir.path().join("keepalive.pcap");
    let pages = [
        page("first", 3000),
        page("second", 5000),
        page("third", 2500),
    ];
    std::fs::write(&capture, keep_alive_capture(&pages)).expect("write capture");
    // tshark reads the same three bodies from the capture (de-chunked and gunzipped).
    let tshark_bodies = tshark(&[
        "-r",
        capture.to_str().expect("utf-8"),
        "-Y",
        "http.response",
        "-T",
        "fields",
        "-e",
        "http.file_data",
    ]);
    assert_eq!(tshark_bodies.len(), 3);
    for (row, page) in tshark_bodies.iter().zip(&pages) {
        assert!(
            hex_or_text(&row[0]) == *page,
            "tshark's body {} bytes",
            row[0].len()
        );
    }
    let cut = store_with(std::slice::from_ref(&capture), "16");
    let entries = query_json(cut.path(), &["http"]);
    let bodies: Vec<String> = entries
        .iter()
        .map(|e| text(&e["response"]["body"]))
        .collect();
    assert!(
        bodies == pages,
        "bodies of {} entries differ from the pages",
        entries.len()
    );
    assert!(
        entries
            .iter()
            .all(|e| e["response"].get("bodyTruncated").is_none())
    );
    assert_eq!(
        text(&entries[1]["response"]["headers"]["Content-Encoding"]),
        "gzip"
    );
    let whole = store_with(&[capture], "1000000");
    assert_eq!(json_output(cut.path(), ""), json_output(whole.path(), ""));
}

#[test]
fn bodies_whose_packets_are_gone_keep_their_prefix_with_one_warning() {
    let cut = store_with(&[fixture("deepflow/http__sw8.pcap")], "16");
    let segments = cut.path().join("local").join("segments");
    for file in std::fs::read_dir(&segments).expect("segments").flatten() {
        std::fs::remove_file(file.path()).expect("remove segment");
    }
    let r = run(shark()
        .arg("query")
        .arg("--store")
        .arg(cut.path())
        .args(["-o", "json", "http"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let entries: Vec<serde_json::Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("NDJSON"))
        .collect();
    assert_eq!(entries.len(), 3);
    for e in &entries {
        assert_eq!(text(&e["request"]["body"]).len(), 16, "{e}");
        assert_eq!(e["request"]["bodyTruncated"], serde_json::Value::Bool(true));
        assert!(e["request"]["size"].as_u64().is_some_and(|size| size > 16));
    }
    let warnings: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.contains("bodyTruncated"))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", r.stderr);
}

#[test]
fn http2_bodies_come_back_even_where_the_exchange_needs_the_connections_header_table() {
    let dir = tempfile::tempdir().expect("temp dir");
    let capture = dir.path().join("h2c.pcap");
    let pages = [page("one", 3000), page("two", 4000), page("three", 2000)];
    std::fs::write(&capture, h2c_capture(&pages)).expect("write capture");
    // tshark shows each stream's body, reassembled, on its last DATA frame: the three pages.
    let rows = tshark(&[
        "-r",
        capture.to_str().expect("utf-8"),
        "-d",
        "tcp.port==8000,http2",
        "-Y",
        "http2.data.data",
        "-T",
        "fields",
        "-e",
        "http2.streamid",
        "-e",
        "http2.data.data",
    ]);
    let mut by_stream: std::collections::BTreeMap<u32, String> = Default::default();
    for row in &rows {
        let ids = row[0]
            .split(',')
            .filter_map(|id| id.parse::<u32>().ok())
            .filter(|id| *id > 0);
        for (id, data) in ids.zip(row[1].split(',')) {
            by_stream.insert(id, hex_or_text(data));
        }
    }
    assert!(
        by_stream.into_values().eq(pages.iter().cloned()),
        "tshark's bodies are the pages"
    );
    let cut = store_with(std::slice::from_ref(&capture), "16");
    assert_eq!(table_count(cut.path(), "response.bodyTruncated"), 3);
    let entries = query_json(cut.path(), &["http2"]);
    let bodies: Vec<String> = entries
        .iter()
        .map(|e| text(&e["response"]["body"]))
        .collect();
    assert!(
        bodies == pages,
        "bodies of {} entries differ from the pages",
        entries.len()
    );
    assert_eq!(
        text(&entries[2]["request"]["headers"]["x-tenant"]),
        "acme",
        "from the dynamic table"
    );
    let whole = store_with(&[capture], "1000000");
    assert_eq!(json_output(cut.path(), ""), json_output(whole.path(), ""));
}

#[test]
fn only_exchanges_whose_packets_are_lost_keep_their_prefix() {
    let dir = tempfile::tempdir().expect("temp dir");
    let capture = dir.path().join("keepalive.pcap");
    let pages = [
        page("first", 3000),
        page("second", 5000),
        page("third", 2500),
    ];
    std::fs::write(&capture, keep_alive_capture(&pages)).expect("write capture");
    let store = tempfile::tempdir().expect("temp dir");
    run_ok(
        shark()
            .arg("import")
            .arg(&capture)
            .arg("--store")
            .arg(store.path())
            .args(["--index-body", "16", "--segment-age", "1ms"]),
    );
    // The segments in order, with the packet numbers each holds (numbering starts at 1).
    let mut segments: Vec<PathBuf> = std::fs::read_dir(store.path().join("local").join("segments"))
        .expect("segments")
        .flatten()
        .map(|e| e.path())
        .collect();
    segments.sort_by_key(|p| {
        p.file_stem()
            .and_then(|s| s.to_str())
            .and_then(|s| s.rsplit('-').next())
            .and_then(|n| n.parse::<u64>().ok())
    });
    assert!(segments.len() >= 3, "{segments:?}");
    let mut ranges = Vec::new();
    let mut next = 1;
    for segment in &segments {
        let packets = tshark(&[
            "-r",
            segment.to_str().expect("utf-8"),
            "-T",
            "fields",
            "-e",
            "frame.number",
        ])
        .len() as u64;
        ranges.push((next, next + packets - 1));
        next += packets;
    }
    let before = query_json(store.path(), &["http"]);
    assert!(
        before
            .iter()
            .map(|e| text(&e["response"]["body"]))
            .eq(pages.iter().cloned())
    );
    // Lose the packets of the segment holding the middle exchange's first response packet: cut it
    // back to its file header.
    let span = |e: &serde_json::Value| {
        (
            e["packets"]["first"].as_u64().unwrap_or(0),
            e["packets"]["last"].as_u64().unwrap_or(0),
        )
    };
    let (first, _) = span(&before[1]);
    let lost = ranges
        .iter()
        .position(|&(a, b)| a <= first + 2 && first + 2 <= b)
        .expect("a segment holds it");
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&segments[lost])
        .expect("open segment");
    file.set_len(24)
        .expect("truncate segment to its file header");
    let (lost_from, lost_to) = ranges[lost];
    let r = run(shark()
        .arg("query")
        .arg("--store")
        .arg(store.path())
        .args(["-o", "json", "http"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let after: Vec<serde_json::Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("NDJSON"))
        .collect();
    assert_eq!(after.len(), 3);
    for (e, page) in after.iter().zip(&pages) {
        let (a, b) = span(e);
        let hit = a <= lost_to && lost_from <= b;
        let body = text(&e["response"]["body"]);
        if hit {
            assert_eq!(body, page[..16], "the prefix only");
            assert_eq!(
                e["response"]["bodyTruncated"],
                serde_json::Value::Bool(true)
            );
        } else {
            assert!(
                body == *page,
                "whole: its packets are all there ({} bytes)",
                body.len()
            );
            assert!(e["response"].get("bodyTruncated").is_none());
        }
    }
    assert!(
        after
            .iter()
            .any(|e| e["response"].get("bodyTruncated").is_some()),
        "some packets were lost"
    );
    assert!(
        after
            .iter()
            .any(|e| e["response"].get("bodyTruncated").is_none()),
        "some were not"
    );
    assert_eq!(
        r.stderr
            .lines()
            .filter(|l| l.contains("bodyTruncated"))
            .count(),
        1,
        "{}",
        r.stderr
    );
    let lost_name = segments[lost]
        .file_name()
        .and_then(|n| n.to_str())
        .expect("segment name");
    assert!(
        r.stderr
            .lines()
            .any(|l| l.contains("bodyTruncated") && l.contains(lost_name)),
        "the warning names the segment lost: {}",
        r.stderr
    );
}

/// An HTML-ish page of about `len` bytes that names itself.
pub(crate) fn page(name: &str, len: usize) -> String {
    let mut body = format!("<html><title>{name}</title><body>");
    let mut line = 0;
    while body.len() < len {
        body.push_str(&format!(
            "<p>{name} line {line}: the quick brown fox jumps over the lazy dog</p>\n"
        ));
        line += 1;
    }
    body.push_str("</body></html>\n");
    body
}

/// tshark prints a bytes field as hex (with or without colons), or `http.file_data` as text.
fn hex_or_text(field: &str) -> String {
    let digits = field.replace(':', "");
    let bytes: Option<Vec<u8>> = (digits.len().is_multiple_of(2) && digits.len() > 2)
        .then(|| {
            (0..digits.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).ok())
                .collect()
        })
        .flatten();
    match bytes {
        Some(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        None => field.replace("\\n", "\n"),
    }
}

/// `data` compressed by the system's gzip.
fn gzip(data: &[u8]) -> Vec<u8> {
    filter_through("gzip", &["-c", "-n"], data)
}

/// One keep-alive HTTP/1.1 connection fetching `pages`: the first and last with Content-Length,
/// the second chunked and gzip-encoded; each response split over several TCP segments.
pub(crate) fn keep_alive_capture(pages: &[String; 3]) -> Vec<u8> {
    let mut tcp = Connection::to_port(80);
    tcp.handshake();
    for (i, page) in pages.iter().enumerate() {
        let request =
            format!("GET /page/{i} HTTP/1.1\r\nHost: web\r\nAccept-Encoding: gzip\r\n\r\n");
        tcp.send(true, request.as_bytes());
        let response = if i == 1 {
            let zipped = gzip(page.as_bytes());
            let mut r = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
            for chunk in zipped.chunks(700) {
                r.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                r.extend_from_slice(chunk);
                r.extend_from_slice(b"\r\n");
            }
            r.extend_from_slice(b"0\r\n\r\n");
            r
        } else {
            let mut r = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n",
                page.len()
            )
            .into_bytes();
            r.extend_from_slice(page.as_bytes());
            r
        };
        tcp.send(false, &response);
    }
    tcp.pcap
}

/// An HTTP/2 frame.
fn h2_frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut f = (payload.len() as u32).to_be_bytes()[1..].to_vec();
    f.extend_from_slice(&[kind, flags]);
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// An HPACK string literal without Huffman coding.
fn hpack_text(text: &str) -> Vec<u8> {
    let mut out = vec![text.len() as u8];
    out.extend_from_slice(text.as_bytes());
    out
}

/// One h2c (prior knowledge) connection to port 8000 fetching `pages` on streams 1, 3 and 5. The
/// first request adds `:authority` and `x-tenant` to the HPACK dynamic table; the later ones only
/// refer to them, so their headers need the connection's earlier packets.
fn h2c_capture(pages: &[String; 3]) -> Vec<u8> {
    const HEADERS: u8 = 1;
    const SETTINGS: u8 = 4;
    const END_STREAM: u8 = 1;
    const END_HEADERS: u8 = 4;
    let mut tcp = Connection::to_port(8000);
    tcp.handshake();
    let mut hello = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    hello.extend(h2_frame(SETTINGS, 0, 0, &[]));
    tcp.send(true, &hello);
    tcp.send(
        false,
        &[h2_frame(SETTINGS, 0, 0, &[]), h2_frame(SETTINGS, 1, 0, &[])].concat(),
    );
    tcp.send(true, &h2_frame(SETTINGS, 1, 0, &[]));
    for (i, page) in pages.iter().enumerate() {
        let stream = 2 * i as u32 + 1;
        // :method GET, :scheme http, :path (literal), then :authority and x-tenant.
        let mut block = vec![0x82, 0x86, 0x04];
        block.extend(hpack_text(&format!("/page/{i}")));
        if i == 0 {
            block.push(0x41);
            block.extend(hpack_text("web:8000"));
            block.push(0x40);
            block.extend(hpack_text("x-tenant"));
            block.extend(hpack_text("acme"));
        } else {
            block.extend([0xbf, 0xbe]);
        }
        tcp.send(
            true,
            &h2_frame(HEADERS, END_STREAM | END_HEADERS, stream, &block),
        );
        // :status 200, content-type text/html.
        let mut answer = vec![0x88, 0x0f, 0x10];
        answer.extend(hpack_text("text/html"));
        tcp.send(false, &h2_frame(HEADERS, END_HEADERS, stream, &answer));
        // One DATA frame per TCP segment.
        let chunks: Vec<&[u8]> = page.as_bytes().chunks(900).collect();
        for (n, chunk) in chunks.iter().enumerate() {
            let last = n + 1 == chunks.len();
            tcp.send(
                false,
                &h2_frame(0, if last { END_STREAM } else { 0 }, stream, chunk),
            );
        }
    }
    tcp.pcap
}

/// A TCP connection from 10.0.0.1:40000 to 10.0.0.2, written as an Ethernet PCAP.
struct Connection {
    pcap: Vec<u8>,
    seq: [u32; 2],
    ts_us: u64,
    server_port: u16,
}

impl Connection {
    /// A connection to `server_port`, before its handshake.
    fn to_port(server_port: u16) -> Self {
        let mut pcap = Vec::new();
        for word in [
            0xa1b2_c3d4u32.to_le_bytes(),
            [2, 0, 4, 0],
            [0; 4],
            [0; 4],
            65535u32.to_le_bytes(),
            1u32.to_le_bytes(),
        ] {
            pcap.extend_from_slice(&word);
        }
        Connection {
            pcap,
            seq: [1000, 5000],
            ts_us: 1_700_000_000_000_000,
            server_port,
        }
    }

    const SYN: u8 = 0x02;
    const ACK: u8 = 0x10;
    const PSH: u8 = 0x08;

    fn handshake(&mut self) {
        self.segment(true, Self::SYN, &[]);
        self.seq[0] += 1;
        self.segment(false, Self::SYN | Self::ACK, &[]);
        self.seq[1] += 1;
        self.segment(true, Self::ACK, &[]);
    }

    /// Sends `data` from the client (or the server), at most 1000 bytes a segment, then an ACK back.
    fn send(&mut self, from_client: bool, data: &[u8]) {
        for piece in data.chunks(1000) {
            self.segment(from_client, Self::ACK | Self::PSH, piece);
            self.seq[usize::from(!from_client)] += piece.len() as u32;
        }
        self.segment(!from_client, Self::ACK, &[]);
    }

    fn segment(&mut self, from_client: bool, flags: u8, payload: &[u8]) {
        let (me, peer) = if from_client { (0, 1) } else { (1, 0) };
        let ips = [[10, 0, 0, 1], [10, 0, 0, 2]];
        let ports = [40000u16, self.server_port];
        let mut tcp = Vec::new();
        tcp.extend_from_slice(&ports[me].to_be_bytes());
        tcp.extend_from_slice(&ports[peer].to_be_bytes());
        tcp.extend_from_slice(&self.seq[me].to_be_bytes());
        let ack = if flags & Self::ACK != 0 {
            self.seq[peer]
        } else {
            0
        };
        tcp.extend_from_slice(&ack.to_be_bytes());
        tcp.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
        tcp.extend_from_slice(payload);
        let total = (20 + tcp.len()) as u16;
        let mut ip = vec![0x45, 0];
        ip.extend_from_slice(&total.to_be_bytes());
        ip.extend_from_slice(&[0, 0, 0x40, 0, 64, 6, 0, 0]);
        ip.extend_from_slice(&ips[me]);
        ip.extend_from_slice(&ips[peer]);
        let sum = checksum(&ip);
        ip[10..12].copy_from_slice(&sum.to_be_bytes());
        let mut pseudo = [ips[me], ips[peer]].concat();
        pseudo.extend_from_slice(&[0, 6]);
        pseudo.extend_from_slice(&(tcp.len() as u16).to_be_bytes());
        pseudo.extend_from_slice(&tcp);
        let sum = checksum(&pseudo);
        tcp[16..18].copy_from_slice(&sum.to_be_bytes());
        let mut frame = vec![
            2,
            0,
            0,
            0,
            0,
            2 - me as u8,
            2,
            0,
            0,
            0,
            0,
            1 + me as u8,
            0x08,
            0x00,
        ];
        frame.extend_from_slice(&ip);
        frame.extend_from_slice(&tcp);
        self.ts_us += 250;
        self.pcap
            .extend_from_slice(&((self.ts_us / 1_000_000) as u32).to_le_bytes());
        self.pcap
            .extend_from_slice(&((self.ts_us % 1_000_000) as u32).to_le_bytes());
        self.pcap
            .extend_from_slice(&(frame.len() as u32).to_le_bytes());
        self.pcap
            .extend_from_slice(&(frame.len() as u32).to_le_bytes());
        self.pcap.extend_from_slice(&frame);
    }
}

/// The Internet checksum of `data`.
fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|w| u32::from(w[0]) << 8 | u32::from(*w.get(1).unwrap_or(&0)))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[test]
fn an_h2c_upgrade_gives_stream_1_its_http1_request_and_bodies_keep_their_bytes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let upgrade = dir.path().join("h2c-upgrade.pcap");
    let page = page("zipped", 5000);
    let image: Vec<u8> = (0..3000u32).map(|i| (i * 7 % 256) as u8).collect();
    std::fs::write(&upgrade, h2c_upgrade_capture(&page, &image)).expect("write capture");
    let http1 = dir.path().join("http1-binary.pcap");
    std::fs::write(&http1, http1_binary_capture(&image)).expect("write capture");
    let path = upgrade.to_str().expect("utf-8");
    // tshark follows the upgrade: stream 1 answers the upgrade request with the page (tshark
    // undoes its gzip content coding itself); stream 3 with the image.
    let rows = tshark(&[
        "-r",
        path,
        "-Y",
        "http2.data.data",
        "-T",
        "fields",
        "-e",
        "http2.streamid",
        "-e",
        "http2.data.data",
    ]);
    let mut by_stream: std::collections::BTreeMap<u32, String> = Default::default();
    for row in &rows {
        let ids = row[0]
            .split(',')
            .filter_map(|id| id.parse::<u32>().ok())
            .filter(|id| *id > 0);
        for (id, data) in ids.zip(row[1].split(',')) {
            by_stream.insert(id, data.replace(':', ""));
        }
    }
    assert_eq!(
        by_stream.get(&1).map(|h| hex_or_text(h)),
        Some(page.clone()),
        "tshark decodes stream 1's gzip body"
    );
    assert_eq!(
        by_stream.get(&3),
        Some(&hex(&image)),
        "tshark's stream 3 body is the image"
    );
    let path = http1.to_str().expect("utf-8");
    // tshark hands a body of a media type it has no dissector for to `media`.
    let files = tshark(&[
        "-r",
        path,
        "-Y",
        "http.response",
        "-T",
        "fields",
        "-e",
        "media.type",
    ]);
    assert_eq!(
        files.first().map(|r| r[0].replace(':', "")),
        Some(hex(&image)),
        "tshark's HTTP/1 body is the image"
    );

    let whole = store_with(&[upgrade.clone(), http1.clone()], "1000000");
    let upgraded = query_json(whole.path(), &["http2 and request.path == \"/upgrade\""]);
    assert_eq!(upgraded.len(), 1, "stream 1 is one HTTP/2 entry");
    let e = &upgraded[0];
    assert_eq!(text(&e["request"]["method"]), "GET");
    assert_eq!(text(&e["request"]["headers"]["Upgrade"]), "h2c");
    assert_eq!(text(&e["response"]["status"]), "200");
    assert_eq!(
        text(&e["response"]["body"]),
        page,
        "gzip undone, as tshark does"
    );
    assert!(e.get("error").is_none(), "{e}");
    let binary = query_json(whole.path(), &["response.bodyEncoding == \"base64\""]);
    assert_eq!(binary.len(), 2, "the image over HTTP/2 and over HTTP/1");
    for e in &binary {
        assert_eq!(
            unbase64(&text(&e["response"]["body"])),
            image,
            "the exact bytes, {}",
            e["protocol"]
        );
    }
    // With only 16 bytes of each body in the index, the bodies read back are the same.
    let cut = store_with(&[upgrade, http1], "16");
    assert_eq!(table_count(cut.path(), "response.bodyTruncated"), 3);
    assert_eq!(json_output(cut.path(), ""), json_output(whole.path(), ""));
}

/// `bytes` as lower-case hex, as tshark prints a bytes field (colons removed).
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `text` decoded by the system's base64.
pub fn unbase64(text: &str) -> Vec<u8> {
    filter_through("base64", &["-d"], text.as_bytes())
}

/// The output of `program args` fed `input`, which must succeed.
fn filter_through(program: &str, args: &[&str], input: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut child = Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the program runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("program input");
    let out = child.wait_with_output().expect("program output");
    assert!(out.status.success(), "{program} {args:?} failed");
    out.stdout
}

/// An HTTP/1.1 request upgraded to h2c on port 80: stream 1 answers it with `page`, gzip-encoded;
/// stream 3 fetches `image`, bytes that are not text.
fn h2c_upgrade_capture(page: &str, image: &[u8]) -> Vec<u8> {
    const HEADERS: u8 = 1;
    const SETTINGS: u8 = 4;
    const END_STREAM: u8 = 1;
    const END_HEADERS: u8 = 4;
    let mut tcp = Connection::to_port(80);
    tcp.handshake();
    tcp.send(
        true,
        b"GET /upgrade HTTP/1.1\r\nHost: web\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n",
    );
    tcp.send(
        false,
        b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n",
    );
    let mut hello = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    hello.extend(h2_frame(SETTINGS, 0, 0, &[]));
    tcp.send(true, &hello);
    tcp.send(
        false,
        &[h2_frame(SETTINGS, 0, 0, &[]), h2_frame(SETTINGS, 1, 0, &[])].concat(),
    );
    tcp.send(true, &h2_frame(SETTINGS, 1, 0, &[]));
    // :status 200, content-type text/html, content-encoding gzip (literals without indexing).
    let mut answer = vec![0x88, 0x0f, 0x10];
    answer.extend(hpack_text("text/html"));
    answer.extend([0x0f, 0x0b]);
    answer.extend(hpack_text("gzip"));
    tcp.send(false, &h2_frame(HEADERS, END_HEADERS, 1, &answer));
    let zipped = gzip(page.as_bytes());
    let chunks: Vec<&[u8]> = zipped.chunks(900).collect();
    for (n, chunk) in chunks.iter().enumerate() {
        tcp.send(
            false,
            &h2_frame(
                0,
                if n + 1 == chunks.len() { END_STREAM } else { 0 },
                1,
                chunk,
            ),
        );
    }
    // :method GET, :scheme http, :path /image, :authority web.
    let mut block = vec![0x82, 0x86, 0x04];
    block.extend(hpack_text("/image"));
    block.push(0x01);
    block.extend(hpack_text("web"));
    tcp.send(
        true,
        &h2_frame(HEADERS, END_STREAM | END_HEADERS, 3, &block),
    );
    let mut answer = vec![0x88, 0x0f, 0x10];
    answer.extend(hpack_text("image/png"));
    tcp.send(false, &h2_frame(HEADERS, END_HEADERS, 3, &answer));
    tcp.send(false, &h2_frame(0, END_STREAM, 3, image));
    tcp.pcap
}

/// One HTTP/1.1 exchange on port 80 whose response body is `image`.
fn http1_binary_capture(image: &[u8]) -> Vec<u8> {
    let mut tcp = Connection::to_port(80);
    tcp.ts_us += 60_000_000; // a minute after the h2c capture
    tcp.handshake();
    tcp.send(true, b"GET /image HTTP/1.1\r\nHost: web\r\n\r\n");
    let mut response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: {}\r\n\r\n",
        image.len()
    )
    .into_bytes();
    response.extend_from_slice(image);
    tcp.send(false, &response);
    tcp.pcap
}

/// Imports `capture` into a new store with `--max-body max_body` (the default when `None`); the
/// index keeps its default 32 bytes of each body, so every body shown is read back from the packets.
fn store_with_max_body(capture: &Path, max_body: Option<&str>) -> tempfile::TempDir {
    let store = tempfile::tempdir().expect("temp dir");
    let mut import = shark();
    import
        .arg("import")
        .arg(capture)
        .arg("--store")
        .arg(store.path());
    if let Some(max_body) = max_body {
        import.args(["--max-body", max_body]);
    }
    run_ok(&mut import);
    store
}

/// Checks that each entry's response shows the first `shown` bytes of its page (all of it when
/// shorter), marked as read back whole, with `size` the body's bytes on the wire.
fn assert_bodies_cut_at(
    entries: &[serde_json::Value],
    pages: &[String; 3],
    sizes: [usize; 3],
    shown: usize,
) {
    assert_eq!(entries.len(), 3, "three exchanges");
    for ((e, page), size) in entries.iter().zip(pages).zip(sizes) {
        let body = text(&e["response"]["body"]);
        let expected = &page[..page.len().min(shown)];
        // Not assert_eq!: a failure would print 200 KiB twice.
        assert!(
            body == expected,
            "{}: {} bytes shown, {} expected",
            e["request"]["path"],
            body.len(),
            expected.len()
        );
        assert_eq!(
            e["response"]["bodySize"], size,
            "bodySize is the whole body on the wire"
        );
        assert!(
            e["response"].get("bodyTruncated").is_none(),
            "read back to the capture's cap"
        );
    }
}

#[test]
fn max_body_sets_how_much_of_a_large_http1_body_is_shown() {
    let dir = tempfile::tempdir().expect("temp dir");
    let capture = dir.path().join("large.pcap");
    let pages = [
        page("first", 200 << 10),
        page("second", 200 << 10),
        page("third", 200 << 10),
    ];
    std::fs::write(&capture, keep_alive_capture(&pages)).expect("write capture");
    // tshark reads the three 200 KiB bodies whole (the second de-chunked and gunzipped).
    let tshark_bodies = tshark(&[
        "-r",
        capture.to_str().expect("utf-8"),
        "-Y",
        "http.response",
        "-T",
        "fields",
        "-e",
        "http.file_data",
    ]);
    assert_eq!(tshark_bodies.len(), 3);
    for (row, page) in tshark_bodies.iter().zip(&pages) {
        assert!(
            hex_or_text(&row[0]) == *page,
            "tshark's body {} bytes",
            row[0].len()
        );
    }
    // On the wire: the first and third as they are, the second gzip-compressed.
    let sizes = [
        pages[0].len(),
        gzip(pages[1].as_bytes()).len(),
        pages[2].len(),
    ];
    assert!(
        sizes[1] < 64 << 10,
        "the compressed body is under the default cap: its decoding is what is cut"
    );
    for (flag, shown) in [
        (Some("1MiB"), 1 << 20),
        (None, 64 << 10),
        (Some("1KiB"), 1 << 10),
    ] {
        let store = store_with_max_body(&capture, flag);
        assert_bodies_cut_at(&query_json(store.path(), &["http"]), &pages, sizes, shown);
    }
}

#[test]
fn max_body_sets_how_much_of_a_large_http2_body_is_shown() {
    let dir = tempfile::tempdir().expect("temp dir");
    let capture = dir.path().join("large-h2c.pcap");
    let pages = [
        page("first", 200 << 10),
        page("second", 200 << 10),
        page("third", 200 << 10),
    ];
    std::fs::write(&capture, h2c_capture(&pages)).expect("write capture");
    let sizes = pages.each_ref().map(String::len);
    for (flag, shown) in [
        (Some("1MiB"), 1 << 20),
        (None, 64 << 10),
        (Some("1KiB"), 1 << 10),
    ] {
        let store = store_with_max_body(&capture, flag);
        assert_bodies_cut_at(&query_json(store.path(), &["http2"]), &pages, sizes, shown);
    }
}

#[test]
fn a_max_body_too_large_or_not_a_size_is_refused_before_the_store_is_touched() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = dir.path().join("store");
    let capture = fixture("deepflow/http.pcap");
    for (flag, says) in [("1GiB", "64 MiB"), ("lots", "cannot read size")] {
        let r = run(shark()
            .arg("import")
            .arg(&capture)
            .arg("--store")
            .arg(&store)
            .args(["--max-body", flag]));
        assert_ne!(r.code, 0, "--max-body {flag} is refused");
        assert!(
            r.stderr.contains("--max-body") && r.stderr.contains(says),
            "{}",
            r.stderr
        );
        assert!(!store.exists(), "nothing was written");
    }
}
