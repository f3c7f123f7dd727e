//! The dashboard (`kubectl shark ui`) as a user meets it: its API over plain HTTP, and the page in
//! Debian's Chromium (headless, 1440×900) driven by `ui/tests/browser.mjs` through playwright-core,
//! with screenshots under `target/ui-screenshots/`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::util::{AgentProcess, Running, TOKEN, import, run, run_ok, shark, workspace};

/// The dashboard on `store`, and the URL it printed.
struct Dashboard {
    _process: Running,
    url: String,
}

impl Dashboard {
    fn start(store: &Path) -> Self {
        Self::start_with(&["--store".as_ref(), store.as_os_str()])
    }

    /// The dashboard with these source flags (`--store DIR`, or `--agents URL,… --token T`).
    fn start_with(source: &[&std::ffi::OsStr]) -> Self {
        let mut process = Running::start(
            shark()
                .arg("ui")
                .args(source)
                .args(["--port", "0"])
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit()),
        );
        let stdout = process.stdout.take().expect("stdout is piped");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the dashboard prints its URL");
        let url = line
            .trim()
            .strip_prefix("dashboard: ")
            .unwrap_or_else(|| panic!("not a URL line: {line:?}"))
            .to_string();
        assert!(
            url.starts_with("http://127.0.0.1:") && url.contains("/?token="),
            "{url}"
        );
        Dashboard {
            _process: process,
            url,
        }
    }

    /// `host:port`.
    fn address(&self) -> String {
        self.url
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap_or_default()
            .to_string()
    }

    fn token(&self) -> &str {
        self.url.rsplit("token=").next().unwrap_or_default()
    }
}

/// A raw HTTP/1.1 exchange: (status, headers, body).
fn http(address: &str, request: &str) -> (u16, String, Vec<u8>) {
    let mut stream = TcpStream::connect(address).expect("the dashboard accepts connections");
    stream.write_all(request.as_bytes()).expect("request sent");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).expect("answer read");
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header block");
    let head = String::from_utf8_lossy(&answer[..split]).to_string();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status code");
    (status, head, answer[split + 4..].to_vec())
}

fn post(d: &Dashboard, path: &str, cookie: &str, body: &str) -> (u16, String, Vec<u8>) {
    let address = d.address();
    http(
        &address,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: {address}\r\nCookie: {cookie}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
}

/// The demo capture imported with names for its endpoints, as node `demo`.
fn demo_store(dir: &Path) -> PathBuf {
    demo_store_as(dir, "demo")
}

/// The demo capture imported with names for its endpoints, as node `node`, in `dir/node`.
fn demo_store_as(dir: &Path, node: &str) -> PathBuf {
    let store = dir.join(node);
    run_ok(
        shark()
            .arg("import")
            .arg(workspace().join("tests/data/demo.pcap"))
            .arg("--store")
            .arg(&store)
            .args(["--node", node, "--identities"])
            .arg(workspace().join("tests/data/demo-identities.yaml")),
    );
    store
}

/// One cluster of two nodes: agents (started by `start`, plain or TLS) over the demo capture
/// imported as `node-a` and `node-b` in `dir`, and the dashboard on them (`--agents`, trusting
/// the test CA); `stop_b` stops node-b's agent first, so the dashboard meets it gone.
struct TwoNodes {
    dashboard: Dashboard,
    /// The `--agents` value.
    agents: String,
    /// Node-a's store.
    store_a: PathBuf,
    _agent_a: AgentProcess,
    /// Node-b's agent, unless stopped.
    agent_b: Option<AgentProcess>,
    /// Node-b's agent's URL.
    url_b: String,
}

impl TwoNodes {
    fn start(dir: &Path, start: fn(&Path, &str, &[&str]) -> AgentProcess, stop_b: bool) -> Self {
        let store_a = demo_store_as(dir, "node-a");
        let store_b = demo_store_as(dir, "node-b");
        let agent_a = start(&store_a, "node-a", &["--no-capture"]);
        let agent_b = start(&store_b, "node-b", &["--no-capture"]);
        let url_b = agent_b.url.clone();
        let agent_b = if stop_b {
            agent_b.stop();
            None
        } else {
            Some(agent_b)
        };
        let agents = format!("{},{url_b}", agent_a.url);
        let dashboard = Dashboard::start_with(&[
            "--agents".as_ref(),
            agents.as_ref(),
            "--token".as_ref(),
            TOKEN.as_ref(),
            "--agent-ca".as_ref(),
            crate::util::agent_tls().ca.as_os_str(),
        ]);
        TwoNodes {
            dashboard,
            agents,
            store_a,
            _agent_a: agent_a,
            agent_b,
            url_b,
        }
    }
}

#[test]
fn the_api_wants_the_cookie_and_its_own_host_and_pages_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let store = demo_store(dir.path());
    let d = Dashboard::start(&store);
    let address = d.address();
    let get = |path: &str, extra: &str| {
        http(
            &address,
            &format!("GET {path} HTTP/1.1\r\nHost: {address}\r\n{extra}Connection: close\r\n\r\n"),
        )
    };
    assert_eq!(get("/api/status", "").0, 401, "no cookie");
    assert_eq!(
        get(&format!("/?token={}x", d.token()), "").0,
        401,
        "a wrong token"
    );
    let (status, head, _) = get(&format!("/?token={}&view=map", d.token()), "");
    assert_eq!(status, 303);
    assert!(head.contains("location: /?view=map"), "{head}");
    assert!(
        head.contains(&format!(
            "set-cookie: shark_ui={}; HttpOnly; SameSite=Strict; Path=/",
            d.token()
        )),
        "{head}"
    );
    let cookie = format!("shark_ui={}", d.token());
    let foreign = http(
        &address,
        &format!(
            "GET /api/status HTTP/1.1\r\nHost: evil.example:{}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n",
            address.rsplit(':').next().unwrap()
        ),
    );
    assert_eq!(foreign.0, 403, "a foreign Host, even with the cookie");
    assert_eq!(get("/", "").0, 200, "the page itself");

    // Pages of 7, newest first, give query's entries in reverse, each once.
    let mut keys = Vec::new();
    let mut cursor = serde_json::Value::Null;
    loop {
        let body = serde_json::json!({"limit": 7, "cursor": cursor}).to_string();
        let (status, _, answer) = post(&d, "/api/entries", &cookie, &body);
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
        let answer: serde_json::Value = serde_json::from_slice(&answer).unwrap();
        for row in answer["rows"].as_array().unwrap() {
            assert!(
                row["request"].get("body").is_none() && row["request"].get("headers").is_none(),
                "a row without bodies"
            );
            keys.push(format!(
                "{}/{}",
                row["node"]["name"].as_str().unwrap(),
                row["id"]
            ));
        }
        cursor = answer["cursor"].clone();
        if cursor.is_null() {
            break;
        }
    }
    let mut expected: Vec<String> = crate::util::query_json(&store, &[])
        .iter()
        .map(|e| format!("{}/{}", e["node"]["name"].as_str().unwrap(), e["id"]))
        .collect();
    expected.reverse();
    assert_eq!(keys, expected);

    // A bad filter answers its diagnostics with UTF-16 spans; /api/check says the same.
    let (status, _, answer) = post(
        &d,
        "/api/entries",
        &cookie,
        r#"{"kfl": "request.path == \"é\" and respnse.status == 200"}"#,
    );
    assert_eq!(status, 400);
    let answer: serde_json::Value = serde_json::from_slice(&answer).unwrap();
    let diagnostic = answer["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "E101")
        .unwrap()
        .clone();
    assert_eq!(
        (diagnostic["start"].as_u64(), diagnostic["end"].as_u64()),
        (Some(24), Some(31)),
        "UTF-16 offsets: {answer}"
    );
    let (_, _, checked) = post(
        &d,
        "/api/check",
        &cookie,
        r#"{"kfl": "http and response.status >= 500"}"#,
    );
    let checked: serde_json::Value = serde_json::from_slice(&checked).unwrap();
    assert_eq!(checked["ok"], true, "{checked}");
}

#[test]
fn nothing_listens_beyond_loopback_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let d = Dashboard::start(&demo_store(dir.path()));
    let port = d.address().rsplit(':').next().unwrap().to_string();
    let listening = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default()
        + &std::fs::read_to_string("/proc/net/tcp6").unwrap_or_default();
    let port_hex = format!("{:04X}", port.parse::<u16>().unwrap());
    let local: Vec<&str> = listening
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .filter(|local| local.ends_with(&format!(":{port_hex}")))
        .collect();
    assert!(!local.is_empty(), "the port is listened on");
    assert!(
        local.iter().all(|a| *a == format!("0100007F:{port_hex}")),
        "listens on {local:?}, not only 127.0.0.1"
    );
}

/// A capture of `n` DNS lookups (query and NXDOMAIN answer), 1 ms apart: a store of `n` entries.
fn dns_capture(path: &Path, n: u32) {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&[2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    out.extend_from_slice(&65_535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    let start = 1_780_000_000u32;
    for i in 0..n {
        let name = format!("svc{i}.shop.svc.cluster.local");
        let mut question = Vec::new();
        for label in name.split('.') {
            question.push(label.len() as u8);
            question.extend_from_slice(label.as_bytes());
        }
        question.extend_from_slice(&[0, 0, 1, 0, 1]);
        let id = (i % 65_536) as u16;
        let sport = 20_000 + (i % 40_000) as u16;
        for (answer, micros) in [(false, 0u32), (true, 300)] {
            let mut dns = id.to_be_bytes().to_vec();
            dns.extend_from_slice(if answer { &[0x81, 0x83] } else { &[0x01, 0x00] });
            dns.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
            dns.extend_from_slice(&question);
            let (src, dst, sp, dp) = if answer {
                ([10, 0, 0, 53], [10, 0, 0, 7], 53, sport)
            } else {
                ([10, 0, 0, 7], [10, 0, 0, 53], sport, 53)
            };
            let mut frame = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0];
            let ip_len = (20 + 8 + dns.len()) as u16;
            frame.extend_from_slice(&[0x45, 0]);
            frame.extend_from_slice(&ip_len.to_be_bytes());
            frame.extend_from_slice(&[0, 0, 0x40, 0, 64, 17, 0, 0]);
            frame.extend_from_slice(&src);
            frame.extend_from_slice(&dst);
            frame.extend_from_slice(&u16::to_be_bytes(sp));
            frame.extend_from_slice(&u16::to_be_bytes(dp));
            frame.extend_from_slice(&((8 + dns.len()) as u16).to_be_bytes());
            frame.extend_from_slice(&[0, 0]);
            frame.extend_from_slice(&dns);
            let micros_total = u64::from(i) * 1000 + u64::from(micros);
            out.extend_from_slice(&(start + (micros_total / 1_000_000) as u32).to_le_bytes());
            out.extend_from_slice(&((micros_total % 1_000_000) as u32).to_le_bytes());
            out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
            out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
            out.extend_from_slice(&frame);
        }
    }
    std::fs::write(path, out).unwrap();
}

/// Node and Chromium, or why the browser tests cannot run (`tests/setup.sh` installs both).
fn browser_tools() -> Result<(), String> {
    for (tool, arg) in [
        ("node", "--version"),
        ("/usr/bin/chromium", "--version"),
        ("tshark", "--version"),
    ] {
        if !Command::new(tool)
            .arg(arg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
        {
            return Err(format!("{tool} is missing: run tests/setup.sh"));
        }
    }
    if !workspace().join("ui/node_modules/playwright-core").is_dir() {
        return Err("ui/node_modules is missing: run tests/setup.sh (npm ci in ui/)".into());
    }
    Ok(())
}

#[test]
fn the_dashboard_in_a_browser() {
    browser_tools().unwrap_or_else(|why| panic!("{why}"));
    let dir = tempfile::tempdir().unwrap();
    let store = demo_store(dir.path());
    let d = Dashboard::start(&store);
    let big_store = dir.path().join("big");
    let capture = dir.path().join("dns.pcap");
    dns_capture(&capture, 10_000);
    import(&big_store, &capture, "busy-node");
    let big = Dashboard::start(&big_store);
    // Two agents, one stopped: the dashboard names it and shows the other's rows.
    let cluster_dir = tempfile::tempdir().unwrap();
    let cluster = TwoNodes::start(cluster_dir.path(), AgentProcess::start, true);
    // Two clusters and one refusing the credentials.
    let clusters = Clusters::start();
    let several = clusters.dashboard("admin@east,admin@west,admin@gone");
    let shots = workspace().join("target/ui-screenshots");
    let _ = std::fs::remove_dir_all(&shots);
    std::fs::create_dir_all(&shots).unwrap();
    // Bounded: a page that never settles fails the test rather than the whole run's time limit
    // (the browser tests take about two minutes).
    let r = run(Command::new("timeout")
        .args(["--kill-after=10", "900", "node"])
        .arg(workspace().join("ui/tests/browser.mjs"))
        .current_dir(workspace().join("ui"))
        .env("SHARK_UI_URL", &d.url)
        .env("SHARK_BIN", crate::util::binary("kubectl-shark"))
        .env("SHARK_STORE", &store)
        .env("SHARK_SHOTS", &shots)
        .env("SHARK_CAPTURE", workspace().join("tests/data/demo.pcap"))
        .env("SHARK_BIG_URL", &big.url)
        .env("SHARK_BIG_STORE", &big_store)
        .env("SHARK_CLUSTER_URL", &cluster.dashboard.url)
        .env("SHARK_CLUSTER_STORE", &cluster.store_a)
        .env("SHARK_STOPPED", &cluster.url_b)
        .env("SHARK_CLUSTERS_URL", &several.url)
        .env("SHARK_KUBECONFIG", &clusters.config));
    println!("{}", r.stdout);
    assert_eq!(
        r.code, 0,
        "browser tests failed:\n{}\n{}",
        r.stdout, r.stderr
    );
}

#[test]
fn in_a_cluster_pages_merge_every_agent_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let two = TwoNodes::start(dir.path(), AgentProcess::start, false);
    let (d, agents) = (&two.dashboard, &two.agents);
    let (_, head, _) = http(
        &d.address(),
        &format!(
            "GET /?token={} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            d.token(),
            d.address()
        ),
    );
    assert!(head.contains("set-cookie"), "{head}");
    let cookie = format!("shark_ui={}", d.token());
    let mut keys = Vec::new();
    let mut cursor = serde_json::Value::Null;
    loop {
        let body =
            serde_json::json!({"kfl": "dns or http", "limit": 5, "cursor": cursor}).to_string();
        let (status, _, answer) = post(d, "/api/entries", &cookie, &body);
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
        let answer: serde_json::Value = serde_json::from_slice(&answer).unwrap();
        assert_eq!(answer["failures"], serde_json::json!([]));
        for row in answer["rows"].as_array().unwrap() {
            keys.push(format!(
                "{}/{}",
                row["node"]["name"].as_str().unwrap(),
                row["id"]
            ));
        }
        cursor = answer["cursor"].clone();
        if cursor.is_null() {
            break;
        }
    }
    // The CLI's fan-out merges by time only; ties (the same capture on both nodes) by node name
    // and id, as the pages do, come from sorting its keys.
    let cli = run_ok(
        shark()
            .args([
                "query",
                "--agents",
                agents,
                "--token",
                TOKEN,
                "-o",
                "json",
                "dns or http",
                "--agent-ca",
            ])
            .arg(&crate::util::agent_tls().ca),
    );
    let mut expected: Vec<(String, String, u64)> = cli
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .map(|e| {
            (
                e["timestamp"].as_str().unwrap().to_string(),
                e["node"]["name"].as_str().unwrap().to_string(),
                e["id"].as_u64().unwrap(),
            )
        })
        .collect();
    expected.sort();
    expected.reverse();
    let expected: Vec<String> = expected
        .into_iter()
        .map(|(_, node, id)| format!("{node}/{id}"))
        .collect();
    assert!(
        keys.iter().any(|k| k.starts_with("node-a/"))
            && keys.iter().any(|k| k.starts_with("node-b/")),
        "{keys:?}"
    );
    assert_eq!(keys, expected);
}

#[test]
fn in_a_cluster_the_map_histogram_detail_and_pcaps_come_through_the_agents() {
    let dir = tempfile::tempdir().unwrap();
    let two = TwoNodes::start(dir.path(), AgentProcess::start_tls, false);
    let (d, agents) = (&two.dashboard, &two.agents);
    let ca = crate::util::agent_tls().ca.clone();
    let cookie = format!("Cookie: shark_ui={}", d.token());
    let api = |args: &[&str]| {
        let url = format!("http://{}{}", d.address(), args[args.len() - 1]);
        let mut all: Vec<&str> = vec!["-H", &cookie, "-H", "Content-Type: application/json"];
        all.extend_from_slice(&args[..args.len() - 1]);
        all.push(&url);
        crate::util::curl(&all)
    };
    let json = |(code, body): (u16, Vec<u8>)| -> serde_json::Value {
        assert_eq!(code, 200, "{}", String::from_utf8_lossy(&body));
        serde_json::from_slice(&body).unwrap()
    };
    // The map: every agent's, merged as `map --agents` merges them.
    let map = json(api(&[
        "-X",
        "POST",
        "-d",
        r#"{"kfl": ""}"#,
        "/api/map?by=workload",
    ]));
    let cli: serde_json::Value = serde_json::from_str(
        &run_ok(
            shark()
                .args([
                    "map",
                    "--agents",
                    agents,
                    "--token",
                    TOKEN,
                    "-o",
                    "json",
                    "--agent-ca",
                ])
                .arg(&ca),
        )
        .stdout,
    )
    .unwrap();
    assert_eq!(
        map["edges"].as_array().map(Vec::len),
        cli["edges"].as_array().map(Vec::len)
    );
    assert!(!map["edges"].as_array().unwrap().is_empty());
    assert_eq!(map["nodes"], cli["nodes"]);
    assert_eq!(map["failures"], serde_json::json!([]));
    // The histogram: both nodes' entries, in one set of slices.
    let total = run_ok(
        shark()
            .args([
                "query",
                "--agents",
                agents,
                "--token",
                TOKEN,
                "-o",
                "json",
                "--agent-ca",
            ])
            .arg(&ca),
    )
    .stdout
    .lines()
    .count() as u64;
    let histogram = json(api(&["/api/histogram?buckets=20"]));
    let counted: u64 = histogram["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(counted, total, "{histogram}");
    // One entry of each node, bodies whole, from the agent that holds it.
    let rows = json(api(&[
        "-X",
        "POST",
        "-d",
        r#"{"kfl": "http and request.method == \"POST\""}"#,
        "/api/entries",
    ]));
    for node in ["node-a", "node-b"] {
        let row = rows["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["node"]["name"] == node)
            .expect("a row of each node");
        let path = format!("/api/entry/{node}/{}", row["id"]);
        let entry = json(api(&[&path]));
        assert_eq!(entry["request"]["method"], "POST", "{entry}");
        // Its PCAP, and its whole connection's, from that agent.
        for suffix in ["/pcap", "/pcap?wholeFlow=true"] {
            let file = dir.path().join(format!("{node}-{}.pcap", suffix.len()));
            let (code, bytes) = api(&[&format!("{path}{suffix}")]);
            assert_eq!(code, 200);
            std::fs::write(&file, bytes).unwrap();
            let requests = crate::util::tshark(&[
                "-r",
                file.to_str().unwrap(),
                "-Y",
                "http.request.method == \"POST\"",
            ]);
            // The exchange alone, or every request of its (keep-alive) connection.
            let wanted = if suffix.contains("wholeFlow") { 3 } else { 1 };
            assert_eq!(requests.len(), wanted, "{node}{suffix}: {requests:?}");
        }
    }
    assert_eq!(api(&["/api/entry/node-a/999999"]).0, 404);
    // The window's export: both nodes' packets.
    let (code, bytes) = api(&["-X", "POST", "-d", r#"{"kfl": "http"}"#, "/api/export"]);
    assert_eq!(code, 200);
    let file = dir.path().join("all.pcap");
    std::fs::write(&file, bytes).unwrap();
    let cli_file = dir.path().join("cli.pcap");
    run_ok(
        shark()
            .args(["export", "--agents", agents, "--token", TOKEN, "http", "-o"])
            .arg(&cli_file)
            .arg("--agent-ca")
            .arg(&ca),
    );
    assert_eq!(
        std::fs::read(&file).unwrap(),
        std::fs::read(&cli_file).unwrap(),
        "the same PCAP as `export --agents`"
    );
}

#[test]
fn in_a_cluster_live_follows_every_agent_and_says_when_one_goes() {
    let dir = tempfile::tempdir().unwrap();
    let mut two = TwoNodes::start(dir.path(), AgentProcess::start_tls, false);
    let (d, store_a) = (&two.dashboard, two.store_a.clone());
    // Into a file: a pipe read only at the end holds 64 KiB, and curl would stop reading.
    let followed = dir.path().join("followed.ndjson");
    let live = Running::start(
        Command::new("curl")
            .args(["-s", "-N", "--max-time", "8", "-o"])
            .arg(&followed)
            .arg("-H")
            .arg(format!("Cookie: shark_ui={}", d.token()))
            .arg(format!("http://{}/api/follow?kfl=http", d.address())),
    );
    std::thread::sleep(std::time::Duration::from_secs(1));
    // A node appears behind agent a; agent b goes away.
    run_ok(
        shark()
            .arg("import")
            .arg(workspace().join("tests/data/demo.pcap"))
            .arg("--store")
            .arg(&store_a)
            .args(["--node", "late-node"]),
    );
    two.agent_b.take().expect("node-b's agent runs").stop();
    // The new rows and the notice come within seconds (curl gives up after 8 s anyway).
    std::thread::sleep(std::time::Duration::from_secs(4));
    live.stop_and_collect();
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&followed)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("NDJSON"))
        .collect();
    let rows = lines
        .iter()
        .filter(|l| l["node"]["name"] == "late-node")
        .count();
    let http = query_count(&store_a, "late-node");
    assert!(http > 0, "the demo capture has HTTP");
    assert_eq!(
        rows, http,
        "every new http row of the new node, once: {lines:?}"
    );
    assert!(
        lines.iter().any(|l| l["notice"]
            .as_str()
            .is_some_and(|n| n.starts_with("node node-b"))),
        "the stopped agent is named after the node it reported: {lines:?}"
    );
}

/// How many `http` entries node `node` of `store` holds.
fn query_count(store: &Path, node: &str) -> usize {
    let kfl = format!("http and node.name == \"{node}\"");
    run_ok(
        shark()
            .args(["query", "-o", "json", "--store"])
            .arg(store)
            .arg(&kfl),
    )
    .stdout
    .lines()
    .count()
}

/// An `/api` call through curl with the dashboard's cookie: `args` are curl's, the last the path.
fn api(d: &Dashboard, args: &[&str]) -> (u16, Vec<u8>) {
    let cookie = format!("Cookie: shark_ui={}", d.token());
    let url = format!("http://{}{}", d.address(), args[args.len() - 1]);
    let mut all: Vec<&str> = vec!["-H", &cookie, "-H", "Content-Type: application/json"];
    all.extend_from_slice(&args[..args.len() - 1]);
    all.push(&url);
    crate::util::curl(&all)
}

/// A 200 answer's JSON.
fn ok_json((code, body): (u16, Vec<u8>)) -> serde_json::Value {
    assert_eq!(code, 200, "{}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).expect("a JSON answer")
}

/// Every row of `kfl`, page by page (`limit` a page): the answers, whose rows are in order.
fn all_pages(d: &Dashboard, kfl: &str, limit: usize) -> Vec<serde_json::Value> {
    let mut answers = Vec::new();
    let mut cursor = serde_json::Value::Null;
    loop {
        let body = serde_json::json!({"kfl": kfl, "limit": limit, "cursor": cursor}).to_string();
        let answer = ok_json(api(d, &["-X", "POST", "-d", &body, "/api/entries"]));
        cursor = answer["cursor"].clone();
        answers.push(answer);
        if cursor.is_null() {
            return answers;
        }
    }
}

/// Two clusters behind stand-in API servers as the CLI's multi-cluster tests set them up:
/// `east` (node-a) and `west` (node-b), agents on their own stores with overlapping pod IPs, and
/// `gone`, refusing every request as with expired credentials; the kubeconfig names all three.
/// West's API server lists pod `shop/payments-0` at the address east's traffic goes to.
struct Clusters {
    stores: Vec<tempfile::TempDir>,
    _agents: [AgentProcess; 2],
    _apis: Vec<Running>,
    config: PathBuf,
    /// Where the kubeconfig and downloads go.
    dir: tempfile::TempDir,
}

impl Clusters {
    fn start() -> Self {
        use crate::fanout::{fake_api, fake_api_listing, kubeconfig, two_agents_with};
        let (stores, a, b) = two_agents_with(AgentProcess::start);
        let dir = tempfile::tempdir().unwrap();
        let (east_api, east) = fake_api(dir.path(), "east", Some(&[&a.url]));
        let payments = [("shop/payments-0", PAYMENTS_IP)];
        let (west_api, west) = fake_api_listing(dir.path(), "west", Some(&[&b.url]), &payments);
        let (gone_api, gone) = fake_api(dir.path(), "gone", None);
        let config = kubeconfig(
            dir.path(),
            &[
                ("admin@east", "east", &east),
                ("admin@west", "west", &west),
                ("admin@gone", "gone", &gone),
            ],
        );
        Clusters {
            stores,
            _agents: [a, b],
            _apis: vec![east_api, west_api, gone_api],
            config,
            dir,
        }
    }

    /// `args` (a subcommand and its flags) on `contexts`.
    fn command(&self, contexts: &str, args: &[&str]) -> Command {
        let mut command = shark();
        command
            .args(args)
            .arg("--kubeconfig")
            .arg(&self.config)
            .args(["--context", contexts]);
        command
    }

    /// The dashboard on `contexts`.
    fn dashboard(&self, contexts: &str) -> Dashboard {
        Dashboard::start_with(&[
            "--kubeconfig".as_ref(),
            self.config.as_os_str(),
            "--context".as_ref(),
            contexts.as_ref(),
        ])
    }

    /// How many entries matching `kfl` the store of cluster `i` (0 east, 1 west) holds.
    fn count(&self, i: usize, kfl: &[&str]) -> usize {
        crate::util::query_json(self.stores[i].path(), kfl).len()
    }
}

/// The server east's captured traffic goes to, unnamed by east's agents.
const PAYMENTS_IP: &str = "10.100.18.175";

/// (timestamp, cluster, node, id) of an entry as the API or `query -o json` writes it.
fn entry_key(e: &serde_json::Value) -> (String, String, String, u64) {
    (
        e["timestamp"].as_str().unwrap().to_string(),
        e["cluster"].as_str().unwrap_or_default().to_string(),
        e["node"]["name"].as_str().unwrap().to_string(),
        e["id"].as_u64().unwrap(),
    )
}

#[test]
fn across_clusters_pages_merge_by_time_and_the_detail_pcap_export_map_and_status_name_the_cluster()
{
    let clusters = Clusters::start();
    let both = "admin@east,admin@west";
    let d = clusters.dashboard(both);
    // Pages of 7, newest first, each row with its cluster: every entry of both, once, in the
    // order (timestamp, cluster, node, id) descending.
    let answers = all_pages(&d, "", 7);
    let mut rows = Vec::new();
    for answer in &answers {
        assert_eq!(answer["failures"], serde_json::json!([]), "{answer}");
        assert_eq!(answer["labelled"], true);
        rows.extend(answer["rows"].as_array().unwrap().iter().map(entry_key));
    }
    let cli = run_ok(&mut clusters.command(both, &["query", "-o", "json"]));
    let cli: Vec<serde_json::Value> = cli
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut expected: Vec<_> = cli.iter().map(entry_key).collect();
    expected.sort();
    expected.reverse();
    assert_eq!(rows, expected);
    for (i, cluster) in ["east", "west"].into_iter().enumerate() {
        let mine = rows.iter().filter(|r| r.1 == cluster).count();
        assert_eq!(mine, clusters.count(i, &[]), "{cluster}");
    }
    // A peer east could not name is west's pod, as `query` names it.
    let sides: Vec<_> = answers
        .iter()
        .flat_map(|a| a["rows"].as_array().unwrap().iter())
        .map(|r| (entry_key(r), r["src"].clone(), r["dst"].clone()))
        .collect();
    for e in &cli {
        let (_, src, dst) = sides.iter().find(|(k, ..)| *k == entry_key(e)).unwrap();
        assert_eq!((src, dst), (&e["src"], &e["dst"]), "{e}");
    }
    let named = sides.iter().filter(|(.., dst)| dst["ip"] == PAYMENTS_IP);
    for (key, _, dst) in named {
        assert_eq!(key.1, "east");
        assert_eq!(
            (dst["name"].as_str(), dst["cluster"].as_str()),
            (Some("payments-0"), Some("west"))
        );
    }
    assert!(
        sides.iter().any(|(.., dst)| dst["cluster"] == "west"),
        "{sides:?}"
    );
    // An entry of the second cluster: its detail names it, and its PCAP comes from there.
    let west = ok_json(api(
        &d,
        &[
            "-X",
            "POST",
            "-d",
            r#"{"kfl": "cluster == \"west\" and http"}"#,
            "/api/entries",
        ],
    ));
    let row = &west["rows"][0];
    assert_eq!(row["cluster"], "west", "{west}");
    let path = format!(
        "/api/entry/west/{}/{}",
        row["node"]["name"].as_str().unwrap(),
        row["id"]
    );
    let entry = ok_json(api(&d, &[&path]));
    assert_eq!(
        (entry["cluster"].clone(), entry["id"].clone()),
        ("west".into(), row["id"].clone())
    );
    let (code, pcap) = api(&d, &[&format!("{path}/pcap")]);
    assert_eq!(code, 200);
    let file = clusters.dir.path().join("west-entry.pcap");
    std::fs::write(&file, pcap).unwrap();
    let requests = crate::util::tshark(&["-r", file.to_str().unwrap(), "-Y", "http.request"]);
    assert_eq!(
        requests.len(),
        1,
        "the exchange's one request: {requests:?}"
    );
    let elsewhere = path.replace("/west/", "/east/");
    assert_eq!(api(&d, &[&elsewhere]).0, 404, "east holds no node-b");
    // The window's export: pcapng, byte for byte what `export` writes over both contexts.
    let (code, bytes) = api(
        &d,
        &["-X", "POST", "-d", r#"{"kfl": "http"}"#, "/api/export"],
    );
    assert_eq!(code, 200);
    let cli_file = clusters.dir.path().join("cli.pcapng");
    run_ok(
        clusters
            .command(both, &["export", "http"])
            .arg("-o")
            .arg(&cli_file),
    );
    assert_eq!(
        bytes,
        std::fs::read(&cli_file).unwrap(),
        "the same pcapng as `export`"
    );
    // The map by cluster, as `map --by cluster` draws it.
    let map = ok_json(api(&d, &["-X", "POST", "-d", "{}", "/api/map?by=cluster"]));
    let cli: serde_json::Value = serde_json::from_str(
        &run_ok(&mut clusters.command(both, &["map", "--by", "cluster", "-o", "json"])).stdout,
    )
    .unwrap();
    assert_eq!(map["nodes"], cli["nodes"]);
    let requests = |m: &serde_json::Value| -> Vec<(String, String, u64)> {
        let mut all: Vec<_> = m["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["src"]["name"].to_string(),
                    e["dst"]["name"].to_string(),
                    e["requests"].as_u64().unwrap(),
                )
            })
            .collect();
        all.sort();
        all
    };
    assert_eq!(requests(&map), requests(&cli));
    assert!(!requests(&map).is_empty());
    // The histogram counts both clusters' entries.
    let histogram = ok_json(api(&d, &["/api/histogram?buckets=10"]));
    let counted: u64 = histogram["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(counted as usize, rows.len(), "{histogram}");
    // Status: each node with its cluster, each cluster with its entries.
    let status = ok_json(api(&d, &["/api/status"]));
    let clusters_seen: Vec<(String, u64)> = status["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["entries"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        clusters_seen,
        [
            ("east".to_string(), clusters.count(0, &[]) as u64),
            ("west".to_string(), clusters.count(1, &[]) as u64)
        ]
    );
    assert!(
        status["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["cluster"] == "east" || n["cluster"] == "west"),
        "{status}"
    );
}

#[test]
fn a_cluster_down_when_the_dashboard_starts_joins_once_its_api_server_answers() {
    use crate::fanout::{fake_api, fake_api_on, kubeconfig, two_agents_with};
    let (stores, a, b) = two_agents_with(AgentProcess::start);
    let dir = tempfile::tempdir().unwrap();
    let (_east_api, east) = fake_api(dir.path(), "east", Some(&[&a.url]));
    // West's API server refuses the credentials at first, as with a token not yet renewed.
    let (refusing, west) = fake_api(dir.path(), "west", None);
    let config = kubeconfig(
        dir.path(),
        &[("admin@east", "east", &east), ("admin@west", "west", &west)],
    );
    let d = Dashboard::start_with(&[
        "--kubeconfig".as_ref(),
        config.as_os_str(),
        "--context".as_ref(),
        "admin@east,admin@west".as_ref(),
    ]);
    let page = || {
        ok_json(api(
            &d,
            &["-X", "POST", "-d", r#"{"limit": 1000}"#, "/api/entries"],
        ))
    };
    let first = page();
    assert_eq!(first["failures"][0]["cluster"], "west", "{first}");
    // Said in one line, not as the API server's whole Status object.
    assert_eq!(
        first["failures"][0]["reason"], "API server answered 401 Unauthorized",
        "{first}"
    );
    // It comes back where it was, now fronting west's agent: the dashboard finds it by itself.
    drop(refusing);
    let port = west.rsplit(':').next().unwrap().parse().unwrap();
    let _west_api = fake_api_on(dir.path(), "west-again", Some(&[&b.url]), &[], port);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let answer = loop {
        let answer = page();
        if answer["failures"] == serde_json::json!([]) {
            break answer;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "west is still named down a minute later: {answer}"
        );
        std::thread::sleep(std::time::Duration::from_secs(1));
    };
    let rows = answer["rows"].as_array().unwrap();
    for (i, cluster) in ["east", "west"].into_iter().enumerate() {
        let mine = rows.iter().filter(|r| r["cluster"] == cluster).count();
        let stored = crate::util::query_json(stores[i].path(), &[]).len();
        assert_eq!(mine, stored, "{cluster}: {answer}");
    }
    let status = ok_json(api(&d, &["/api/status"]));
    assert!(
        status["clusters"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["reason"].is_null()),
        "{status}"
    );
}

#[test]
fn across_clusters_one_down_is_named_and_a_cluster_filter_asks_only_its_cluster() {
    let clusters = Clusters::start();
    // `gone` refuses the credentials: named with the API server's reason, east answers.
    let d = clusters.dashboard("admin@east,admin@gone");
    let answer = ok_json(api(
        &d,
        &[
            "-X",
            "POST",
            "-d",
            r#"{"kfl": "http", "limit": 1000}"#,
            "/api/entries",
        ],
    ));
    let failures = answer["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 1, "{answer}");
    assert_eq!(failures[0]["cluster"], "gone");
    assert!(
        failures[0]["reason"]
            .as_str()
            .unwrap()
            .contains("Unauthorized"),
        "{answer}"
    );
    let rows = answer["rows"].as_array().unwrap();
    assert_eq!(rows.len(), clusters.count(0, &["http"]));
    assert!(rows.iter().all(|r| r["cluster"] == "east"));
    let status = ok_json(api(&d, &["/api/status"]));
    let gone = status["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "gone")
        .cloned();
    assert!(
        gone.is_some_and(|c| c["reason"]
            .as_str()
            .is_some_and(|r| r.contains("Unauthorized"))),
        "{status}"
    );
    // A filter on cluster leaves the other out: not named, not asked.
    let east = ok_json(api(
        &d,
        &[
            "-X",
            "POST",
            "-d",
            r#"{"kfl": "cluster == \"east\""}"#,
            "/api/entries",
        ],
    ));
    assert_eq!(east["failures"], serde_json::json!([]), "{east}");
    // Agents one cluster cannot reach at all: were `west` asked, its failure would show.
    let dir = tempfile::tempdir().unwrap();
    let store = demo_store_as(dir.path(), "node-a");
    let agent = AgentProcess::start(&store, "node-a", &["--no-capture"]);
    let agents = crate::fanout::two_clusters(&agent, crate::fanout::NOBODY);
    let d = Dashboard::start_with(&[
        "--agents".as_ref(),
        agents.as_ref(),
        "--token".as_ref(),
        TOKEN.as_ref(),
    ]);
    let scoped = r#"{"kfl": "cluster == \"east\" and http"}"#;
    for (method, path) in [
        ("POST", "/api/entries"),
        ("POST", "/api/map"),
        ("POST", "/api/export"),
    ] {
        let (code, body) = api(&d, &["-X", method, "-d", scoped, path]);
        assert_eq!(code, 200, "{path}: {}", String::from_utf8_lossy(&body));
        if path != "/api/export" {
            let answer: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(
                answer["failures"],
                serde_json::json!([]),
                "{path}: {answer}"
            );
        }
    }
    let histogram = ok_json(api(
        &d,
        &["/api/histogram?kfl=cluster%20%3D%3D%20%22east%22"],
    ));
    assert_eq!(histogram["failures"], serde_json::json!([]), "{histogram}");
    let all = ok_json(api(
        &d,
        &["-X", "POST", "-d", r#"{"kfl": "http"}"#, "/api/entries"],
    ));
    let failures = all["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 1, "{all}");
    assert_eq!(failures[0]["cluster"], "west");
    assert!(
        failures[0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("no node answered"),
        "{all}"
    );
    assert!(!all["rows"].as_array().unwrap().is_empty());
    // Only west asked, and it answers nothing: an error naming it, not an empty page.
    let (code, body) = api(
        &d,
        &[
            "-X",
            "POST",
            "-d",
            r#"{"kfl": "cluster == \"west\""}"#,
            "/api/entries",
        ],
    );
    assert_eq!(code, 502, "{}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).contains("cluster west unreachable"));
}

#[test]
fn across_clusters_entries_at_one_instant_page_by_cluster_and_live_follows_each_cluster() {
    // The same capture in both clusters: every instant holds an entry of each.
    let dir = tempfile::tempdir().unwrap();
    let stores = [
        demo_store_as(dir.path(), "node-a"),
        demo_store_as(dir.path(), "node-b"),
    ];
    let a = AgentProcess::start(&stores[0], "node-a", &["--no-capture"]);
    let b = AgentProcess::start(&stores[1], "node-b", &["--no-capture"]);
    let agents = crate::fanout::two_clusters(&a, &b.url);
    let d = Dashboard::start_with(&[
        "--agents".as_ref(),
        agents.as_ref(),
        "--token".as_ref(),
        TOKEN.as_ref(),
    ]);
    // Pages of 5 cut between the two clusters' entries of one instant, and resume past them.
    let rows: Vec<_> = all_pages(&d, "", 5)
        .iter()
        .flat_map(|answer| answer["rows"].as_array().unwrap().iter().map(entry_key))
        .collect();
    let mut expected = rows.clone();
    expected.sort();
    expected.reverse();
    expected.dedup();
    assert_eq!(rows, expected, "newest first, each once");
    let each = crate::util::query_json(&stores[0], &[]).len();
    assert_eq!(rows.len(), 2 * each);
    // Into a file: a pipe nobody reads until the end holds 64 KiB, fewer rows than both
    // clusters send, and curl would stop reading the stream.
    let followed = dir.path().join("followed.ndjson");
    let live = Running::start(
        Command::new("curl")
            .args(["-s", "-N", "--max-time", "6", "-o"])
            .arg(&followed)
            .arg("-H")
            .arg(format!("Cookie: shark_ui={}", d.token()))
            .arg(format!("http://{}/api/follow?from=%400", d.address())),
    );
    // Every stored entry comes within seconds (curl gives up after 6 s anyway).
    std::thread::sleep(std::time::Duration::from_secs(5));
    live.stop_and_collect();
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&followed)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("NDJSON"))
        .collect();
    for cluster in ["east", "west"] {
        let mine: Vec<_> = lines.iter().filter(|l| l["cluster"] == cluster).collect();
        assert_eq!(mine.len(), each, "{cluster}: {lines:?}");
        // Each row resumes a listing in its own cluster.
        assert!(
            mine.iter()
                .all(|r| r["cursor"].as_str().is_some_and(|c| c.contains(cluster)))
        );
    }
}
