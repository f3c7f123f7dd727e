//! Bodies kept in the packets, not the index: with `--index-body 16`, `query -o json` and body
//! filters give what a store holding whole bodies gives; a body whose packets are gone shows its
//! prefix, marked, with one warning.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{fixture, query_json, run, run_ok, shark, text, tshark};

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
        run_ok(shark().arg("import").arg(capture).arg("--store").arg(store.path()).args(["--index-body", index_body]));
    }
    store
}

/// `query -o json` output, as printed.
fn json_output(store: &Path, filter: &str) -> String {
    run_ok(shark().arg("query").arg("--store").arg(store).args(["-o", "json", filter])).stdout
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
    let cut_bodies = table_count(cut.path(), "request.bodyTruncated or response.bodyTruncated");
    assert!(cut_bodies >= 6, "the index holds only prefixes of the longer HTTP/1 bodies ({cut_bodies})");
    assert_eq!(table_count(whole.path(), "request.bodyTruncated or response.bodyTruncated"), 0);
    let expected = json_output(whole.path(), "");
    assert!(expected.lines().count() >= 12, "{expected}");
    assert_eq!(json_output(cut.path(), ""), expected);
    let none = store_with(&captures, "0");
    assert_eq!(json_output(none.path(), ""), expected, "--index-body 0 keeps no body inline");
}

#[test]
fn a_body_filter_sees_text_past_the_prefix() {
    let captures = [fixture("deepflow/http.pcap"), fixture("tcpdump/ipv4_tcp_http_xml.pcap")];
    let whole = store_with(&captures, "1000000");
    let cut = store_with(&captures, "16");
    // Text well past the first 16 bytes of the XML response body, as the capture has it.
    let xml = query_json(whole.path(), &["response.body.startsWith(\"<?xml\")"]);
    assert_eq!(xml.len(), 1, "one XML response");
    let body = text(&xml[0]["response"]["body"]);
    let needle: String = body.chars().skip(200).take(24).collect();
    assert_eq!(needle.chars().count(), 24, "the body is long enough: {body}");
    let filter = format!("response.body.contains({})", serde_json::Value::String(needle));
    let found = json_output(cut.path(), &filter);
    assert_eq!(found, json_output(whole.path(), &filter));
    assert_eq!(found.lines().count(), 1, "{found}");
    assert_eq!(table_count(cut.path(), &filter), 1, "a table query filters as exactly");
    assert_eq!(table_count(cut.path(), "not response.body.contains(\"<?xml\") and response.body != \"\""), 1);
}

#[test]
fn a_chunked_gzip_body_comes_back_decoded_among_keep_alive_exchanges() {
    let dir = tempfile::tempdir().expect("temp dir");
    let capture = dir.path().join("keepalive.pcap");
    let pages = [page("first", 3000), page("second", 5000), page("third", 2500)];
    std::fs::write(&capture, keep_alive_capture(&pages)).expect("write capture");
    // tshark reads the same three bodies from the capture (de-chunked and gunzipped).
    let tshark_bodies = tshark(&[
        "-r", capture.to_str().expect("utf-8"), "-Y", "http.response", "-T", "fields", "-e", "http.file_data",
    ]);
    assert_eq!(tshark_bodies.len(), 3);
    for (row, page) in tshark_bodies.iter().zip(&pages) {
        assert_eq!(hex_or_text(&row[0]), *page);
    }
    let cut = store_with(std::slice::from_ref(&capture), "16");
    let entries = query_json(cut.path(), &["http"]);
    let bodies: Vec<String> = entries.iter().map(|e| text(&e["response"]["body"])).collect();
    assert_eq!(bodies, pages);
    assert!(entries.iter().all(|e| e["response"].get("bodyTruncated").is_none()));
    assert_eq!(text(&entries[1]["response"]["headers"]["Content-Encoding"]), "gzip");
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
    let r = run(shark().arg("query").arg("--store").arg(cut.path()).args(["-o", "json", "http"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let entries: Vec<serde_json::Value> =
        r.stdout.lines().map(|l| serde_json::from_str(l).expect("NDJSON")).collect();
    assert_eq!(entries.len(), 3);
    for e in &entries {
        assert_eq!(text(&e["request"]["body"]).len(), 16, "{e}");
        assert_eq!(e["request"]["bodyTruncated"], serde_json::Value::Bool(true));
        assert!(e["request"]["size"].as_u64().is_some_and(|size| size > 16));
    }
    let warnings: Vec<&str> = r.stderr.lines().filter(|l| l.contains("bodyTruncated")).collect();
    assert_eq!(warnings.len(), 1, "{}", r.stderr);
}

/// An HTML-ish page of about `len` bytes that names itself.
fn page(name: &str, len: usize) -> String {
    let mut body = format!("<html><title>{name}</title><body>");
    let mut line = 0;
    while body.len() < len {
        body.push_str(&format!("<p>{name} line {line}: the quick brown fox jumps over the lazy dog</p>\n"));
        line += 1;
    }
    body.push_str("</body></html>\n");
    body
}

/// tshark prints `http.file_data` as text, or as hex bytes separated by colons in older versions.
fn hex_or_text(field: &str) -> String {
    let bytes: Option<Vec<u8>> = field
        .split(':')
        .map(|h| (h.len() == 2).then(|| u8::from_str_radix(h, 16).ok()).flatten())
        .collect();
    match bytes {
        Some(bytes) if field.len() > 2 => String::from_utf8_lossy(&bytes).into_owned(),
        _ => field.replace("\\n", "\n"),
    }
}

/// `data` compressed by the system's gzip.
fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut child = Command::new("gzip")
        .args(["-c", "-n"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("gzip runs");
    child.stdin.take().expect("stdin").write_all(data).expect("gzip input");
    let out = child.wait_with_output().expect("gzip output");
    assert!(out.status.success());
    out.stdout
}

/// One keep-alive HTTP/1.1 connection fetching `pages`: the first and last with Content-Length,
/// the second chunked and gzip-encoded; each response split over several TCP segments.
fn keep_alive_capture(pages: &[String; 3]) -> Vec<u8> {
    let mut tcp = Connection::default();
    tcp.handshake();
    for (i, page) in pages.iter().enumerate() {
        let request = format!("GET /page/{i} HTTP/1.1\r\nHost: web\r\nAccept-Encoding: gzip\r\n\r\n");
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
            let mut r = format!("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n", page.len())
                .into_bytes();
            r.extend_from_slice(page.as_bytes());
            r
        };
        tcp.send(false, &response);
    }
    tcp.pcap
}

/// A TCP connection between 10.0.0.1:40000 and 10.0.0.2:80, written as an Ethernet PCAP.
struct Connection {
    pcap: Vec<u8>,
    seq: [u32; 2],
    ts_us: u64,
}

impl Default for Connection {
    fn default() -> Self {
        let mut pcap = Vec::new();
        for word in [0xa1b2_c3d4u32.to_le_bytes(), [2, 0, 4, 0], [0; 4], [0; 4], 65535u32.to_le_bytes(), 1u32.to_le_bytes()]
        {
            pcap.extend_from_slice(&word);
        }
        Connection { pcap, seq: [1000, 5000], ts_us: 1_700_000_000_000_000 }
    }
}

impl Connection {
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
        let ports = [40000u16, 80];
        let mut tcp = Vec::new();
        tcp.extend_from_slice(&ports[me].to_be_bytes());
        tcp.extend_from_slice(&ports[peer].to_be_bytes());
        tcp.extend_from_slice(&self.seq[me].to_be_bytes());
        let ack = if flags & Self::ACK != 0 { self.seq[peer] } else { 0 };
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
        let mut frame = vec![2, 0, 0, 0, 0, 2 - me as u8, 2, 0, 0, 0, 0, 1 + me as u8, 0x08, 0x00];
        frame.extend_from_slice(&ip);
        frame.extend_from_slice(&tcp);
        self.ts_us += 250;
        self.pcap.extend_from_slice(&((self.ts_us / 1_000_000) as u32).to_le_bytes());
        self.pcap.extend_from_slice(&((self.ts_us % 1_000_000) as u32).to_le_bytes());
        self.pcap.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        self.pcap.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        self.pcap.extend_from_slice(&frame);
    }
}

/// The Internet checksum of `data`.
fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data.chunks(2).map(|w| u32::from(w[0]) << 8 | u32::from(*w.get(1).unwrap_or(&0))).sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}
