//! Live capture on this machine's loopback with real clients and servers: `capture --local` and a
//! capturing agent answering queries while capture goes on.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::Path;
use std::process::{ChildStderr, Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{AgentProcess, Running, TOKEN, curl, query_json, run, run_ok, shark, text};

/// A real HTTP server (Python's http.server) on a free loopback port, stopped when dropped.
pub struct HttpServer {
    _process: Running,
    /// Its port on 127.0.0.1.
    pub port: u16,
    _root: tempfile::TempDir,
}

impl HttpServer {
    /// Starts it, serving `/hello.txt`.
    pub fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let root = tempfile::tempdir().expect("temp dir");
        std::fs::write(root.path().join("hello.txt"), "hello\n").expect("write");
        let process = Running::start(
            Command::new("python3")
                .args([
                    "-m",
                    "http.server",
                    "--bind",
                    "127.0.0.1",
                    &port.to_string(),
                ])
                .current_dir(root.path())
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "http.server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        HttpServer {
            _process: process,
            port,
            _root: root,
        }
    }

    /// GETs `path` with curl; the status.
    pub fn get(&self, path: &str) -> u16 {
        curl(&[
            "-o",
            "/dev/null",
            &format!("http://127.0.0.1:{}{path}", self.port),
        ])
        .0
    }
}

#[test]
fn capture_local_on_loopback_with_a_bpf_filter_keeps_only_that_traffic() {
    let server = HttpServer::start();
    let store = tempfile::tempdir().expect("temp dir");
    let bpf = format!("tcp port {}", server.port);
    let capture = LoopbackCapture::start(&bpf, store.path(), &["--node", "laptop"]);
    assert_eq!(server.get("/hello.txt"), 200);
    assert_eq!(server.get("/nope"), 404);
    // Traffic outside the filter: a DNS-looking UDP datagram on loopback.
    let _ = std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.send_to(b"not captured", "127.0.0.1:9"));
    std::thread::sleep(Duration::from_millis(500));
    let (code, stderr) = capture.stop();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("dropped 0 ("), "{stderr}");
    let entries = query_json(store.path(), &["http"]);
    let got: Vec<(String, String)> = entries
        .iter()
        .map(|e| (text(&e["request"]["path"]), text(&e["response"]["status"])))
        .collect();
    assert_eq!(
        got,
        [
            ("/hello.txt".to_string(), "200".to_string()),
            ("/nope".to_string(), "404".to_string())
        ]
    );
    assert!(
        entries
            .iter()
            .all(|e| text(&e["dst"]["port"]) == server.port.to_string())
    );
}

#[test]
fn a_bad_interface_or_bpf_filter_is_one_clear_line() {
    let store = tempfile::tempdir().expect("temp dir");
    let r = run(shark()
        .args([
            "capture",
            "--local",
            "-i",
            "no-such-if0",
            "--duration",
            "1s",
            "--store",
        ])
        .arg(store.path()));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("no-such-if0") && r.stderr.lines().count() == 1,
        "{}",
        r.stderr
    );
    let r = run(shark()
        .args([
            "capture",
            "--local",
            "-i",
            "lo",
            "--bpf",
            "tcp port banana",
            "--duration",
            "1s",
            "--store",
        ])
        .arg(store.path()));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("tcp port banana") && r.stderr.lines().count() == 1,
        "{}",
        r.stderr
    );
}

fn query_agent(agent: &AgentProcess, kfl: &str) -> Vec<serde_json::Value> {
    let body = serde_json::json!({ "kfl": kfl }).to_string();
    let (code, out) = curl(&[
        "-X",
        "POST",
        "-H",
        &format!("Authorization: Bearer {TOKEN}"),
        "-d",
        &body,
        &format!("{}/v1/query", agent.url),
    ]);
    assert_eq!(code, 200);
    String::from_utf8_lossy(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect()
}

#[test]
fn ctrl_c_right_after_a_burst_stores_every_packet_of_it() {
    let receiver = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    let port = receiver.local_addr().expect("address").port();
    let store = tempfile::tempdir().expect("temp dir");
    let capture = LoopbackCapture::start(&format!("udp dst port {port}"), store.path(), &[]);
    // A burst far faster than a debug build's pipeline: most of it is still queued (or still in the
    // kernel's last block) when Ctrl-C comes right after the last datagram.
    let sender = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    let burst = 3000;
    for n in 0..burst {
        let mut datagram = format!("datagram {n} ").into_bytes();
        datagram.resize(1000, b'.');
        sender
            .send_to(&datagram, ("127.0.0.1", port))
            .expect("send");
    }
    let (code, rest) = capture.stop();
    assert_eq!(code, Some(0), "{rest}");
    assert!(
        rest.contains(&format!("captured {burst} packets")),
        "{rest}"
    );
    assert!(rest.contains("dropped 0 ("), "{rest}");
}

#[test]
fn capture_local_with_a_queue_too_small_for_any_packet_counts_each_as_a_queue_drop() {
    let receiver = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    let port = receiver.local_addr().expect("address").port();
    let store = tempfile::tempdir().expect("temp dir");
    let capture = LoopbackCapture::start(
        &format!("udp dst port {port}"),
        store.path(),
        &["--queue-size", "16"],
    );
    let sender = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    let sent = 200;
    for n in 0..sent {
        sender
            .send_to(format!("datagram {n}").as_bytes(), ("127.0.0.1", port))
            .expect("send");
    }
    std::thread::sleep(Duration::from_millis(500));
    let (code, rest) = capture.stop();
    assert_eq!(code, Some(0), "{rest}");
    // Every datagram reached libpcap and none fit the 16-byte queue: each is a counted queue drop.
    assert!(
        rest.contains(&format!("dropped {sent} (queue {sent}, kernel 0")),
        "{rest}"
    );
}

#[test]
fn a_capturing_agent_answers_queries_while_capture_goes_on() {
    let server = HttpServer::start();
    let store = tempfile::tempdir().expect("temp dir");
    let bpf = format!("tcp port {}", server.port);
    let agent = AgentProcess::start(
        store.path(),
        "node-live",
        &["--interface", "any", "--bpf", &bpf],
    );
    assert_eq!(server.get("/hello.txt"), 200);
    let deadline = Instant::now() + Duration::from_secs(20);
    let entries = loop {
        let found = query_agent(&agent, "http and request.path == \"/hello.txt\"");
        if !found.is_empty() || Instant::now() > deadline {
            break found;
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    assert_eq!(
        entries.len(),
        1,
        "the request is queryable while the agent still captures"
    );
    assert_eq!(text(&entries[0]["node"]["name"]), "node-live");
    let (code, status) = curl(&[
        "-H",
        &format!("Authorization: Bearer {TOKEN}"),
        &format!("{}/v1/status", agent.url),
    ]);
    assert_eq!(code, 200);
    let status: serde_json::Value = serde_json::from_slice(&status).expect("json");
    assert_eq!(status["capture"]["dropped"].as_u64(), Some(0), "{status}");
    assert!(
        status["capture"]["received"]
            .as_u64()
            .is_some_and(|n| n > 0),
        "{status}"
    );
    assert_eq!(agent.stop(), 0);
}

#[test]
fn an_agent_whose_queue_holds_no_packet_counts_every_one_as_a_queue_drop() {
    let server = HttpServer::start();
    let store = tempfile::tempdir().expect("temp dir");
    let bpf = format!("tcp port {}", server.port);
    // 16 bytes cannot hold even a packet's slot, let alone its bytes: nothing reaches the pipeline.
    let agent = AgentProcess::start(
        store.path(),
        "node-tiny",
        &["--interface", "lo", "--bpf", &bpf, "--queue-size", "16"],
    );
    assert_eq!(server.get("/hello.txt"), 200);
    let status = |agent: &AgentProcess| -> serde_json::Value {
        let (code, body) = curl(&[
            "-H",
            &format!("Authorization: Bearer {TOKEN}"),
            &format!("{}/v1/status", agent.url),
        ]);
        assert_eq!(code, 200);
        serde_json::from_slice(&body).expect("json")
    };
    // A curl exchange on loopback is at least the handshake, request, response and close: 6+ packets.
    let deadline = Instant::now() + Duration::from_secs(10);
    let capture = loop {
        let capture = status(&agent)["capture"].clone();
        if capture["received"].as_u64().is_some_and(|n| n >= 6) || Instant::now() > deadline {
            break capture;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let received = capture["received"].as_u64().expect("received");
    assert!(received >= 6, "{capture}");
    assert_eq!(
        capture["queueDropped"].as_u64(),
        Some(received),
        "{capture}"
    );
    assert_eq!(capture["dropped"].as_u64(), Some(received), "{capture}");
    assert!(
        query_agent(&agent, "http").is_empty(),
        "nothing reached the index"
    );
    assert_eq!(agent.stop(), 0);
}

/// Captures `server`'s loopback traffic for two requests with extra `scope` flags; returns the entries stored.
fn capture_with_scope(server: &HttpServer, scope: &[&str]) -> Vec<serde_json::Value> {
    let store = tempfile::tempdir().expect("temp dir");
    let ids = store.path().join("ids.yaml");
    std::fs::write(
        &ids,
        "- {ip: 127.0.0.1, name: web-1, namespace: shop, kind: Pod}\n",
    )
    .expect("write");
    let mut extra = vec!["--identities", ids.to_str().expect("utf-8 path")];
    extra.extend(scope);
    let capture = LoopbackCapture::start(
        &format!("tcp port {}", server.port),
        &store.path().join("s"),
        &extra,
    );
    assert_eq!(server.get("/hello.txt"), 200);
    std::thread::sleep(Duration::from_millis(300));
    let (code, stderr) = capture.stop();
    assert_eq!(code, Some(0), "{stderr}");
    query_json(&store.path().join("s"), &[])
}

#[test]
fn pods_and_namespaces_flags_keep_only_the_chosen_pods_traffic() {
    let server = HttpServer::start();
    assert_eq!(
        capture_with_scope(&server, &["--namespaces", "shop"]).len(),
        2,
        "the pod's namespace is in scope: the exchange and its connection's record"
    );
    assert_eq!(
        capture_with_scope(&server, &["--pods", "web-.*"]).len(),
        2,
        "the pod's name matches"
    );
    assert!(
        capture_with_scope(&server, &["--pods", "db-.*"]).is_empty(),
        "no pod in scope: nothing stored"
    );
    let r = run(shark().args([
        "capture",
        "--local",
        "-i",
        "lo",
        "--pods",
        "x",
        "--duration",
        "1s",
        "--store",
        "/tmp/unused-store",
    ]));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--identities"), "{}", r.stderr);
}

/// A `capture --local` on loopback that has said it is capturing, so traffic sent from now on is seen.
struct LoopbackCapture {
    process: Running,
    stderr: BufReader<ChildStderr>,
}

impl LoopbackCapture {
    /// Starts capturing what `bpf` selects on loopback into `store`, with `extra` flags.
    fn start(bpf: &str, store: &Path, extra: &[&str]) -> Self {
        let mut process = Running::start(
            shark()
                .args([
                    "capture",
                    "--local",
                    "-i",
                    "lo",
                    "--bpf",
                    bpf,
                    "--duration",
                    "60s",
                ])
                .args(extra)
                .arg("--store")
                .arg(store)
                .stderr(Stdio::piped()),
        );
        let mut stderr = BufReader::new(process.stderr.take().expect("stderr"));
        let mut line = String::new();
        while !line.contains("capturing on") {
            line.clear();
            assert!(
                stderr.read_line(&mut line).expect("read stderr") > 0,
                "capture never started: {line}"
            );
        }
        LoopbackCapture { process, stderr }
    }

    /// Ctrl-C, as a user stops it: its exit code and what it printed since it started (the summary).
    fn stop(mut self) -> (Option<i32>, String) {
        run_ok(Command::new("kill").args(["-INT", &self.process.id().to_string()]));
        let mut rest = String::new();
        self.stderr.read_to_string(&mut rest).expect("read stderr");
        let code = self.process.wait().expect("capture ends").code();
        (code, rest)
    }
}
