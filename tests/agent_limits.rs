//! The agent under hostile load and with its own secret: its API traffic (which carries the
//! cluster's token) never reaches its store, and floods of idle connections and followers leave
//! it answering status and probes.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::live_capture::HttpServer;
use crate::util::{AgentProcess, TOKEN, curl, fixture, import, run, text};

/// Every file under `dir` whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &[u8]) -> Vec<String> {
    crate::util::snapshot(dir)
        .into_iter()
        .filter(|(_, bytes)| bytes.windows(needle.len()).any(|w| w == needle))
        .map(|(path, _)| path.display().to_string())
        .collect()
}

/// `shark-agent probe` against `agent`: its exit code.
fn probe(agent: &AgentProcess, token_file: &Path) -> i32 {
    run(
        std::process::Command::new(crate::util::binary("shark-agent"))
            .args(["probe", "--addr", agent.url.trim_start_matches("http://")])
            .arg("--token-file")
            .arg(token_file),
    )
    .code
}

/// The entries of `agent` (which demands `token`) matching `kfl`, as JSON.
fn query(agent: &AgentProcess, token: &str, kfl: &str) -> Vec<serde_json::Value> {
    let body = serde_json::json!({ "kfl": kfl }).to_string();
    let (code, out) = curl(&[
        "-X",
        "POST",
        "-H",
        &format!("Authorization: Bearer {token}"),
        "-d",
        &body,
        &format!("{}/v1/query", agent.url),
    ]);
    assert_eq!(code, 200, "{}", String::from_utf8_lossy(&out));
    String::from_utf8_lossy(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("NDJSON"))
        .collect()
}

/// Waits until `agent` has indexed an entry matching `kfl`.
fn wait_for(agent: &AgentProcess, token: &str, kfl: &str) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let found = query(agent, token, kfl);
        if !found.is_empty() || Instant::now() > deadline {
            return found;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn a_capturing_agent_never_stores_its_own_token() {
    let server = HttpServer::start();
    let store = tempfile::tempdir().expect("temp dir");
    // A token of its own: the other tests' agents on this loopback use the shared one, and their
    // traffic (not this agent's own) is captured here too.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let token = format!("own-token-{}-{nanos}", std::process::id());
    let token_dir = tempfile::tempdir().expect("temp dir");
    let token_file = token_dir.path().join("token");
    std::fs::write(&token_file, &token).expect("write");
    // The user's filter takes every TCP packet on loopback, the agent's own API traffic included.
    let agent = AgentProcess::start(
        store.path(),
        "node-own",
        &[
            "--interface",
            "lo",
            "--bpf",
            "tcp",
            "--token-file",
            token_file.to_str().expect("utf-8"),
        ],
    );
    for _ in 0..3 {
        assert_eq!(probe(&agent, &token_file), 0);
        let status = curl(&[
            "-H",
            &format!("X-Shark-Token: {token}"),
            &format!("{}/v1/status", agent.url),
        ]);
        assert_eq!(status.0, 200);
    }
    // Other traffic is captured meanwhile: the store is not empty for want of capture.
    assert_eq!(server.get("/hello.txt"), 200);
    let found = wait_for(&agent, &token, "http and request.path == \"/hello.txt\"");
    assert_eq!(found.len(), 1, "the user's traffic is captured");
    let port: u16 = agent
        .url
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port");
    let own = query(
        &agent,
        &token,
        &format!("dst.port == {port} or src.port == {port}"),
    );
    assert!(
        own.is_empty(),
        "the agent indexed its own API traffic: {own:?}"
    );
    assert_eq!(agent.stop(), 0);
    // Every byte the store holds: segments, index, its WAL, the counters.
    let leaks = files_containing(store.path(), token.as_bytes());
    assert!(leaks.is_empty(), "the token is stored in {leaks:?}");
}

#[test]
fn the_token_seen_on_its_way_to_another_agent_is_not_indexed() {
    // The API server's proxy on a control-plane node carries the cluster-wide token to every other
    // node's agent: this node captures that traffic, and must not index the token.
    let other_store = tempfile::tempdir().expect("temp dir");
    import(other_store.path(), &fixture("deepflow/http.pcap"), "node-b");
    let other = AgentProcess::start(other_store.path(), "node-b", &["--no-capture"]);
    let other_port = other.url.rsplit(':').next().expect("port").to_string();
    let store = tempfile::tempdir().expect("temp dir");
    // The index keeps 16 bytes of a body: the rest is read back from the packets when shown.
    let agent = AgentProcess::start(
        store.path(),
        "node-a",
        &[
            "--interface",
            "lo",
            "--bpf",
            &format!("tcp port {other_port}"),
            "--index-body",
            "16",
        ],
    );
    for header in [
        format!("Authorization: Bearer {TOKEN}"),
        format!("X-Shark-Token: {TOKEN}"),
    ] {
        let url = format!("{}/v1/status?from={TOKEN}", other.url);
        assert_eq!(curl(&["-H", &header, &url]).0, 200);
    }
    // The token far into a body, past what the index keeps.
    let body = format!(r#"{{"kfl": "http", "note": "{}{TOKEN}"}}"#, "x".repeat(64));
    let bearer = format!("X-Shark-Token: {TOKEN}");
    let query_url = format!("{}/v1/query", other.url);
    // (It refuses the unknown field; the exchange is what matters.)
    assert_eq!(curl(&["-H", &bearer, "-d", &body, &query_url]).0, 400);
    let kfl = format!("http and dst.port == {other_port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = Vec::new();
    while seen.len() < 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(250));
        seen = query(&agent, TOKEN, &kfl);
    }
    assert_eq!(seen.len(), 3, "the three requests are indexed: {seen:?}");
    let read_back = seen
        .iter()
        .map(|e| text(&e["request"]["body"]))
        .find(|b| b.len() > 64)
        .expect("the long body, read back whole");
    assert!(read_back.ends_with(r#"[redacted]"}"#), "{read_back}");
    let shown = serde_json::to_string(&seen).expect("json");
    assert!(!shown.contains(TOKEN), "the token is indexed: {shown}");
    let headers: Vec<String> = seen
        .iter()
        .flat_map(|e| {
            let headers = &e["request"]["headers"];
            [
                text(&headers["Authorization"]),
                text(&headers["X-Shark-Token"]),
            ]
        })
        .filter(|h| !h.is_empty())
        .collect();
    assert_eq!(
        headers,
        ["Bearer [redacted]", "[redacted]", "[redacted]"],
        "{shown}"
    );
    assert!(shown.contains("from=[redacted]"), "{shown}");
}

/// An HTTP/1.1 GET of `path` with the token on a new connection; the connection, once the
/// answer's status line has come (for a follow: while it streams).
fn open_request(addr: SocketAddr, path: &str) -> (TcpStream, String) {
    open_request_from("127.0.0.1", addr, path)
}

/// [`open_request`] from the loopback address `source`.
fn open_request_from(source: &str, addr: SocketAddr, path: &str) -> (TcpStream, String) {
    let mut stream: TcpStream = connect_from(source, addr).expect("connect").into();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: agent\r\nAuthorization: Bearer {TOKEN}\r\n\r\n"
    )
    .expect("send");
    let mut head = [0u8; 12];
    let status = match stream.read_exact(&mut head) {
        Ok(()) => String::from_utf8_lossy(&head).into_owned(),
        Err(e) => format!("no answer: {e}"),
    };
    (stream, status)
}

/// A connection from `source` (another loopback address) to `addr`.
fn connect_from(source: &str, addr: SocketAddr) -> std::io::Result<socket2::Socket> {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    let source: SocketAddr = format!("{source}:0").parse().expect("address");
    socket.bind(&source.into())?;
    socket.connect(&addr.into())?;
    Ok(socket)
}

/// This process's descriptor limit, raised for the thousands of connections below (the agent,
/// started afterwards, inherits it).
fn raise_fd_limit(to: u64) {
    let pid = std::process::id().to_string();
    let limit = format!("--nofile={to}:{to}");
    assert_eq!(
        run(std::process::Command::new("prlimit").args(["--pid", &pid, &limit])).code,
        0,
        "prlimit (util-linux) raises the descriptor limit"
    );
}

/// A number from /proc/PID/status, e.g. `VmRSS` in kB.
fn proc_status(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

#[test]
fn status_and_probes_answer_under_3000_idle_connections_and_1000_followers() {
    raise_fd_limit(16_384);
    let (followers_wanted, idle_wanted) = (1_000usize, 3_000usize);
    let store = tempfile::tempdir().expect("temp dir");
    import(store.path(), &fixture("deepflow/http.pcap"), "node-a");
    let token_file = store.path().join("token");
    std::fs::write(&token_file, TOKEN).expect("write");
    // Room for the followers and 200 more: the flood fills it, and every newcomer must displace one
    // of its connections (the header timeout alone would free slots only after 10 s).
    let max_connections = followers_wanted + 200;
    let agent = AgentProcess::start(
        store.path(),
        "node-a",
        &[
            "--no-capture",
            "--max-connections",
            &max_connections.to_string(),
        ],
    );
    let addr: SocketAddr = agent
        .url
        .trim_start_matches("http://")
        .parse()
        .expect("address");
    let started = Instant::now();
    let followers: Vec<(TcpStream, String)> = (0..followers_wanted)
        .map(|_| open_request(addr, "/v1/follow"))
        .collect();
    let following = followers
        .iter()
        .filter(|(_, status)| status == "HTTP/1.1 200")
        .count();
    assert_eq!(following, followers_wanted, "{:?}", followers.last());
    // A flood from another address: half connect and say nothing, half send part of a head
    // (slowloris).
    let mut idle = Vec::new();
    let flood = |count: usize, idle: &mut Vec<socket2::Socket>| {
        for n in 0..count {
            let Ok(mut socket) = connect_from("127.0.0.2", addr) else {
                continue;
            };
            if n % 2 == 1 {
                let _ = socket.write_all(b"GET /v1/status HTTP/1.1\r\nX-Slow: ");
            }
            idle.push(socket);
        }
    };
    flood(idle_wanted - 5 * 300, &mut idle);
    let flooded = started.elapsed();
    let status_url = format!("{}/v1/status", agent.url);
    let bearer = format!("Authorization: Bearer {TOKEN}");
    let mut slowest = Duration::ZERO;
    for _ in 0..5 {
        // A fresh wave right before each look: every slot is taken by a silent newcomer.
        flood(300, &mut idle);
        let asked = Instant::now();
        let (code, body) = curl(&["-m", "1", "-H", &bearer, &status_url]);
        slowest = slowest.max(asked.elapsed());
        assert_eq!(
            code,
            200,
            "status within 1 s: {}",
            String::from_utf8_lossy(&body)
        );
        assert_eq!(probe(&agent, &token_file), 0, "the probe passes");
    }
    // The followers still stream: a new import reaches each of them (the first few read here).
    import(store.path(), &fixture("deepflow/http.pcap"), "node-b");
    for (follower, _) in followers.iter().take(5) {
        let mut follower: &TcpStream = follower;
        let mut got = vec![0u8; 4096];
        let read = follower.read(&mut got).expect("the follow streams");
        assert!(read > 0);
    }
    let pid = agent.pid();
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(Iterator::count)
        .unwrap_or(0);
    eprintln!(
        "agent under {following} followers and {} flood connections (opened in {flooded:?}): \
         {fds} descriptors open, VmRSS {} kB, VmHWM {} kB, {} threads; slowest status {slowest:?}",
        idle.len(),
        proc_status(pid, "VmRSS"),
        proc_status(pid, "VmHWM"),
        proc_status(pid, "Threads"),
    );
    // The agent keeps no thread per follower.
    assert!(
        proc_status(pid, "Threads") < 200,
        "threads: {}",
        proc_status(pid, "Threads")
    );
}

#[test]
fn a_silent_connection_is_closed_after_the_header_timeout() {
    let store = tempfile::tempdir().expect("temp dir");
    import(store.path(), &fixture("deepflow/http.pcap"), "node-a");
    let agent = AgentProcess::start(store.path(), "node-a", &["--no-capture"]);
    let addr: SocketAddr = agent
        .url
        .trim_start_matches("http://")
        .parse()
        .expect("address");
    let mut silent = TcpStream::connect(addr).expect("connect");
    silent
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    silent
        .write_all(b"GET /v1/status HTTP/1.1\r\n")
        .expect("send");
    let mut rest = Vec::new();
    // The agent closes it (EOF, or a reset) long before the client's 30 s.
    let closed = silent.read_to_end(&mut rest);
    assert!(
        closed.is_ok() || closed.is_err_and(|e| e.kind() != std::io::ErrorKind::WouldBlock),
        "still open"
    );
}

#[test]
fn a_filter_of_thousands_of_regexes_is_refused_with_one_line() {
    let store = tempfile::tempdir().expect("temp dir");
    import(store.path(), &fixture("deepflow/http.pcap"), "node-a");
    let agent = AgentProcess::start(store.path(), "node-a", &["--no-capture"]);
    let one = r#"request.path == r"\w{100}\w{100}""#;
    let kfl = vec![one; 64 * 1024 / (one.len() + 4)].join(" or ");
    let body = serde_json::json!({ "kfl": kfl }).to_string();
    let file = store.path().join("body.json");
    std::fs::write(&file, body).expect("write");
    let (code, out) = curl(&[
        "-X",
        "POST",
        "-H",
        &format!("Authorization: Bearer {TOKEN}"),
        "--data-binary",
        &format!("@{}", file.display()),
        &format!("{}/v1/query", agent.url),
    ]);
    let message = String::from_utf8_lossy(&out);
    assert_eq!(code, 400, "{message}");
    assert!(message.contains("too many regexes"), "{message}");
}

#[test]
fn follows_are_shared_fairly_between_client_addresses() {
    let store = tempfile::tempdir().expect("temp dir");
    import(store.path(), &fixture("deepflow/http.pcap"), "node-a");
    let agent = AgentProcess::start(
        store.path(),
        "node-a",
        &["--no-capture", "--max-followers", "4"],
    );
    let addr: SocketAddr = agent
        .url
        .trim_start_matches("http://")
        .parse()
        .expect("address");
    let follow = |source: &str| open_request_from(source, addr, "/v1/follow");
    // One address alone may take every place, and no more.
    let heavy: Vec<(TcpStream, String)> = (0..4).map(|_| follow("127.0.0.1")).collect();
    assert!(heavy.iter().all(|(_, s)| s == "HTTP/1.1 200"), "{heavy:?}");
    assert_eq!(follow("127.0.0.1").1, "HTTP/1.1 503");
    // Another address gets in, twice, each time ending the heavy address's oldest follow.
    let light: Vec<(TcpStream, String)> = (0..2).map(|_| follow("127.0.0.2")).collect();
    assert!(light.iter().all(|(_, s)| s == "HTTP/1.1 200"), "{light:?}");
    let ended = |stream: &TcpStream| {
        let mut stream = stream;
        let mut rest = Vec::new();
        // A displaced follow ends its answer (the last chunk) and the stream reads to its end.
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let mut buf = [0u8; 4096];
        while let Ok(n) = stream.read(&mut buf) {
            if n == 0 {
                break;
            }
            rest.extend_from_slice(&buf[..n]);
            if rest.ends_with(b"0\r\n\r\n") {
                return true;
            }
        }
        rest.ends_with(b"0\r\n\r\n")
    };
    assert!(
        ended(&heavy[0].0) && ended(&heavy[1].0),
        "the two oldest ended"
    );
    // At two each, neither address displaces the other.
    assert_eq!(follow("127.0.0.2").1, "HTTP/1.1 503");
    assert_eq!(follow("127.0.0.1").1, "HTTP/1.1 503");
}
