//! Helpers: fixtures, tshark, and a small stand-in for the capture pipeline that writes a real
//! capture into the store with flows and exchanges as tshark sees them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use pcap_file::pcap::PcapReader;
use shark_store::{Entry, NodeWriter, RawPacket, StoreConfig};

/// A tmpfs mounted for a test (needs root), unmounted when dropped, even if the test fails.
pub struct Tmpfs(pub PathBuf);

impl Tmpfs {
    /// Mounts a tmpfs with `options` (e.g. `size=2m`, `ro`) at `at`.
    pub fn mount(at: &Path, options: &str) -> Self {
        std::fs::create_dir_all(at).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(at)
            .status()
            .unwrap();
        assert!(ok.success(), "mounting a tmpfs needs root");
        Tmpfs(at.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// A public capture from `tests/fixtures/public/` at the repository's top.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/public")
        .join(name)
}

/// One packet of a capture file.
#[derive(Debug, Clone)]
pub struct Packet {
    pub ts_ns: i64,
    pub orig_len: u32,
    pub linktype: u32,
    pub data: Vec<u8>,
}

/// Every packet of the classic PCAP at `path`.
pub fn read_pcap(path: &Path) -> Vec<Packet> {
    let file = std::fs::File::open(path).expect("open capture");
    let mut reader = PcapReader::new(file).expect("pcap header");
    let linktype = u32::from(reader.header().datalink);
    let mut packets = Vec::new();
    while let Some(p) = reader.next_packet() {
        let p = p.expect("pcap record");
        packets.push(Packet {
            ts_ns: p.timestamp.as_nanos() as i64,
            orig_len: p.orig_len,
            linktype,
            data: p.data.into_owned(),
        });
    }
    packets
}

/// tshark's `-T fields` output for `fields` of the packets matching `filter` in `path`.
pub fn tshark_fields(path: &Path, filter: &str, fields: &[&str]) -> Vec<Vec<String>> {
    let mut cmd = Command::new("tshark");
    cmd.args(["-2", "-n", "-r"])
        .arg(path)
        .args(["-T", "fields", "-E", "occurrence=f"]);
    if !filter.is_empty() {
        cmd.args(["-Y", filter]);
    }
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().expect("run tshark");
    assert!(
        out.status.success(),
        "tshark -r {} failed: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect()
}

/// Packets tshark reads from `path` (matching `filter` when not empty).
pub fn tshark_count(path: &Path, filter: &str) -> usize {
    tshark_fields(path, filter, &["frame.number"]).len()
}

/// An exchange as tshark sees it: request and response frame numbers (1-based) and its fields.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub request_frame: usize,
    pub response_frame: usize,
    pub protocol: &'static str,
    pub method: Option<String>,
    pub status: Option<i64>,
}

const FIELDS: &[&str] = &[
    "frame.number",
    "tcp.stream",
    "udp.stream",
    "ip.src",
    "ip.dst",
    "tcp.srcport",
    "tcp.dstport",
    "udp.srcport",
    "udp.dstport",
    "http.request.method",
    "http.response_in",
    "http.response.code",
    "dns.flags.response",
    "dns.response_in",
    "dns.flags.rcode",
];

/// What tshark knows about each frame of a capture.
pub struct Dissection {
    rows: Vec<Vec<String>>,
}

impl Dissection {
    pub fn of(path: &Path) -> Self {
        Dissection {
            rows: tshark_fields(path, "", FIELDS),
        }
    }

    fn field(&self, frame: usize, name: &str) -> &str {
        let col = FIELDS.iter().position(|f| *f == name).expect("known field");
        self.rows
            .get(frame - 1)
            .and_then(|r| r.get(col))
            .map(String::as_str)
            .unwrap_or("")
    }

    /// `tcp.stream` or `udp.stream` of a frame, made distinct per transport.
    pub fn flow(&self, frame: usize) -> Option<u64> {
        match (
            self.field(frame, "tcp.stream"),
            self.field(frame, "udp.stream"),
        ) {
            (tcp, _) if !tcp.is_empty() => tcp.parse().ok().map(|s: u64| s * 2),
            (_, udp) if !udp.is_empty() => udp.parse().ok().map(|s: u64| s * 2 + 1),
            _ => None,
        }
    }

    /// HTTP and DNS exchanges, paired by tshark's `response_in`.
    pub fn exchanges(&self) -> Vec<Exchange> {
        let mut found = Vec::new();
        for frame in 1..=self.rows.len() {
            let method = self.field(frame, "http.request.method");
            let http_resp = self.field(frame, "http.response_in");
            let dns_resp = self.field(frame, "dns.response_in");
            if !method.is_empty() {
                let response_frame = http_resp.parse().unwrap_or(frame);
                found.push(Exchange {
                    request_frame: frame,
                    response_frame,
                    protocol: "http",
                    method: Some(method.to_owned()),
                    status: self
                        .field(response_frame, "http.response.code")
                        .parse()
                        .ok(),
                });
            } else if self.field(frame, "dns.flags.response") == "0"
                || self.field(frame, "dns.flags.response") == "False"
            {
                let response_frame = dns_resp.parse().unwrap_or(frame);
                found.push(Exchange {
                    request_frame: frame,
                    response_frame,
                    protocol: "dns",
                    method: None,
                    status: self.field(response_frame, "dns.flags.rcode").parse().ok(),
                });
            }
        }
        found
    }

    /// The entry the pipeline would make of `x`, given each frame's time, packet number and flow.
    pub fn entry(
        &self,
        node: &str,
        x: &Exchange,
        times: &[i64],
        numbers: &[u64],
        flows: &[Option<u64>],
    ) -> Entry {
        let (req, resp) = (x.request_frame - 1, x.response_frame - 1);
        let mut e = Entry {
            timestamp: times[req],
            stream: flows[req].unwrap_or(0),
            ..Entry::default()
        };
        e.elapsed_time = (times[resp] - times[req]) as f64 / 1e6;
        e.node.name = node.to_owned();
        (e.src.ip, e.src.port) = self.endpoint(x.request_frame, "src");
        (e.dst.ip, e.dst.port) = self.endpoint(x.request_frame, "dst");
        e.dst.name = format!("{}-server", x.protocol);
        e.protocol.name = x.protocol.to_owned();
        if let Some(m) = &x.method {
            e.request.insert("method".into(), m.clone().into());
        }
        if let Some(s) = x.status {
            e.response.insert("status".into(), s.into());
        }
        e.packets.first = numbers[req];
        e.packets.last = numbers[resp];
        e
    }

    fn endpoint(&self, frame: usize, side: &str) -> (String, u16) {
        let ip = self.field(frame, &format!("ip.{side}")).to_owned();
        let port = [format!("tcp.{side}port"), format!("udp.{side}port")]
            .iter()
            .map(|f| self.field(frame, f))
            .find(|p| !p.is_empty())
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        (ip, port)
    }
}

/// Writes the capture at `path` into node `node` of the store at `root`, as the pipeline would:
/// every packet with its flow, one entry per exchange. Returns the entries written (ids unset).
pub fn import(root: &Path, node: &str, path: &Path, config: StoreConfig) -> Vec<Entry> {
    let mut writer = NodeWriter::open(root, node, config).expect("open writer");
    let entries = write_capture(&mut writer, node, path).0;
    writer.finish().expect("finish");
    entries
}

/// Like [`import`], and records each TCP flow's handshake as the pipeline does: from its SYN to
/// the last packet before its first data.
pub fn import_with_handshakes(root: &Path, node: &str, path: &Path) -> Vec<Entry> {
    let mut writer = NodeWriter::open(root, node, StoreConfig::default()).expect("open writer");
    let (entries, numbers, flows) = write_capture(&mut writer, node, path);
    let frames = tshark_fields(path, "", &["tcp.flags.syn", "tcp.len"]);
    let mut handshakes: HashMap<u64, (u64, u64, bool)> = HashMap::new();
    for (i, frame) in frames.iter().enumerate() {
        let (Some(stream), [syn, len]) = (flows[i], frame.as_slice()) else {
            continue;
        };
        let data = len.parse::<u64>().unwrap_or(0) > 0;
        let seen = handshakes.get_mut(&stream);
        match seen {
            None if syn == "1" || syn == "True" => {
                handshakes.insert(stream, (numbers[i], numbers[i], false));
            }
            Some((_, last, done)) if !*done => {
                if data {
                    *done = true;
                } else {
                    *last = numbers[i];
                }
            }
            _ => {}
        }
    }
    for (stream, (first, last, _)) in handshakes {
        writer
            .write_handshake(stream, first, last)
            .expect("handshake");
    }
    writer.finish().expect("finish");
    entries
}

/// Writes every packet of the capture at `path` with its flow and one entry per exchange; returns
/// the entries (ids unset), and each frame's packet number and flow.
fn write_capture(
    writer: &mut NodeWriter,
    node: &str,
    path: &Path,
) -> (Vec<Entry>, Vec<u64>, Vec<Option<u64>>) {
    let packets = read_pcap(path);
    let dissection = Dissection::of(path);
    let mut streams: HashMap<u64, u64> = HashMap::new();
    let mut numbers = Vec::new();
    let mut flows = Vec::new();
    for (i, p) in packets.iter().enumerate() {
        let flow = dissection
            .flow(i + 1)
            .map(|f| *streams.entry(f).or_insert_with(|| writer.alloc_stream()));
        let raw = RawPacket {
            ts_ns: p.ts_ns,
            orig_len: p.orig_len,
            linktype: p.linktype,
            data: &p.data,
        };
        numbers.push(writer.write_packet(&raw, flow).expect("write packet"));
        flows.push(flow);
    }
    let mut entries = Vec::new();
    let times: Vec<i64> = packets.iter().map(|p| p.ts_ns).collect();
    for x in dissection.exchanges() {
        let e = dissection.entry(node, &x, &times, &numbers, &flows);
        writer.write_entry(e.clone()).expect("write entry");
        entries.push(e);
    }
    (entries, numbers, flows)
}

/// The segment files of `node`, sealed and not.
pub fn segment_files(root: &Path, node: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join(node).join("segments"))
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    files
}

/// An Ethernet/IPv4/UDP frame from 10.0.0.1:`sport` to 10.0.0.2:9999 carrying `payload_len` bytes.
pub fn udp_frame(sport: u16, payload_len: usize, reply: bool) -> Vec<u8> {
    let (src, dst, sp, dp) = if reply {
        ([10, 0, 0, 2], [10, 0, 0, 1], 9999, sport)
    } else {
        ([10, 0, 0, 1], [10, 0, 0, 2], sport, 9999)
    };
    let mut f = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00];
    let ip_len = (20 + 8 + payload_len) as u16;
    f.extend_from_slice(&[
        0x45,
        0,
        (ip_len >> 8) as u8,
        ip_len as u8,
        0,
        1,
        0x40,
        0,
        64,
        17,
        0,
        0,
    ]);
    f.extend_from_slice(&src);
    f.extend_from_slice(&dst);
    let udp_len = (8 + payload_len) as u16;
    f.extend_from_slice(&sp.to_be_bytes());
    f.extend_from_slice(&dp.to_be_bytes());
    f.extend_from_slice(&[(udp_len >> 8) as u8, udp_len as u8, 0, 0]);
    f.extend((0..payload_len).map(|i| b'a' + (i % 26) as u8));
    f
}

/// Synthetic request/response traffic: exchange `i` is two UDP packets on flow `i % flows`,
/// `step_ns` apart from the previous exchange.
pub struct Traffic {
    pub start_ns: i64,
    pub step_ns: i64,
    pub flows: u64,
    pub payload: usize,
    streams: HashMap<u64, u64>,
    pub next: u64,
}

impl Traffic {
    pub fn new(start_ns: i64, step_ns: i64, flows: u64, payload: usize) -> Self {
        Traffic {
            start_ns,
            step_ns,
            flows,
            payload,
            streams: HashMap::new(),
            next: 0,
        }
    }

    /// Timestamp of exchange `i`.
    pub fn ts(&self, i: u64) -> i64 {
        self.start_ns + i as i64 * self.step_ns
    }

    /// Writes the next exchange (two packets and an entry) and returns its entry.
    pub fn write_next(&mut self, w: &mut NodeWriter) -> Result<Entry, shark_store::StoreError> {
        let i = self.next;
        self.next += 1;
        let flow = i % self.flows;
        let stream = *self.streams.entry(flow).or_insert_with(|| w.alloc_stream());
        let sport = 40_000 + flow as u16;
        let ts = self.ts(i);
        let req = udp_frame(sport, self.payload, false);
        let resp = udp_frame(sport, self.payload, true);
        let first = w.write_packet(
            &RawPacket {
                ts_ns: ts,
                orig_len: req.len() as u32,
                linktype: 1,
                data: &req,
            },
            Some(stream),
        )?;
        let last = w.write_packet(
            &RawPacket {
                ts_ns: ts + 1000,
                orig_len: resp.len() as u32,
                linktype: 1,
                data: &resp,
            },
            Some(stream),
        )?;
        let mut e = Entry {
            timestamp: ts,
            stream,
            ..Entry::default()
        };
        e.node.name = "n".into();
        e.src.ip = "10.0.0.1".into();
        e.src.port = sport;
        e.dst.ip = "10.0.0.2".into();
        e.dst.port = 9999;
        e.protocol.name = "udp".into();
        e.request
            .insert("size".into(), (self.payload as u64).into());
        e.packets.first = first;
        e.packets.last = last;
        w.write_entry(e.clone())?;
        Ok(e)
    }
}

/// Bytes of the node's segment files plus its index (database and WAL).
pub fn node_bytes(root: &Path, node: &str) -> u64 {
    let dir = root.join(node);
    let index: u64 = ["index.sqlite", "index.sqlite-wal"]
        .iter()
        .filter_map(|f| std::fs::metadata(dir.join(f)).ok())
        .map(|m| m.len())
        .sum();
    index
        + segment_files(root, node)
            .iter()
            .filter_map(|f| std::fs::metadata(f).ok())
            .map(|m| m.len())
            .sum::<u64>()
}

/// Captures what the store logs (warnings name damaged files) while `f` runs.
pub fn capture_logs<T>(f: impl FnOnce() -> T) -> (T, String) {
    use std::sync::{Arc, Mutex};
    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().map(|mut v| v.extend_from_slice(b)).ok();
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buf = Buf::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let out = tracing::subscriber::with_default(subscriber, f);
    let text =
        String::from_utf8_lossy(&buf.0.lock().map(|v| v.clone()).unwrap_or_default()).into_owned();
    (out, text)
}
