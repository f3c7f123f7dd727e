//! The agent API as the plugin and a curious user meet it: token, status, query, export, metrics.

use crate::util::{AgentProcess, Running, TOKEN, curl, fixture, import, lines_of, shark, text};

fn bearer() -> String {
    format!("Authorization: Bearer {TOKEN}")
}

fn agent_over(capture: &str) -> (tempfile::TempDir, AgentProcess) {
    let store = tempfile::tempdir().expect("temp dir");
    import(store.path(), &fixture(capture), "node-a");
    let agent = AgentProcess::start(store.path(), "node-a", &["--no-capture"]);
    (store, agent)
}

#[test]
fn every_route_demands_the_token_and_gives_no_data_without_it() {
    let (_store, agent) = agent_over("deepflow/http.pcap");
    for (method, path) in [
        ("GET", "/v1/status"),
        ("POST", "/v1/query"),
        ("POST", "/v1/export"),
        ("GET", "/metrics"),
    ] {
        let (code, body) = curl(&["-X", method, &format!("{}{path}", agent.url)]);
        assert_eq!(code, 401, "{method} {path}");
        assert!(
            !String::from_utf8_lossy(&body).contains("GET /"),
            "no data leaks: {path}"
        );
        let (code, _) = curl(&[
            "-X",
            method,
            "-H",
            "Authorization: Bearer wrong-token-wrong-token",
            &format!("{}{path}", agent.url),
        ]);
        assert_eq!(code, 401, "{method} {path} with a wrong token");
    }
}

/// Tokens that share all but their end with the real one: a check that compared only the common
/// length, or stopped at the shorter, would let each through.
#[test]
fn near_misses_of_the_token_are_refused_in_either_header() {
    let (_store, agent) = agent_over("deepflow/http.pcap");
    let url = format!("{}/v1/status", agent.url);
    let mut last_off = TOKEN.to_string();
    last_off.pop();
    last_off.push('_');
    let prefix = &TOKEN[..TOKEN.len() - 1];
    let appended = format!("{TOKEN}x");
    for wrong in [prefix, &appended, &last_off, &TOKEN[..1]] {
        for header in [
            format!("Authorization: Bearer {wrong}"),
            format!("X-Shark-Token: {wrong}"),
        ] {
            assert_eq!(curl(&["-H", &header, &url]).0, 401, "{header}");
        }
    }
    // Empty headers (curl sends `Name:` with nothing after it for `Name;`).
    for header in ["X-Shark-Token;", "Authorization: Bearer "] {
        assert_eq!(curl(&["-H", header, &url]).0, 401, "{header}");
    }
    assert_eq!(curl(&["-H", &bearer(), &url]).0, 200);
}

#[test]
fn query_streams_matching_entries_as_ndjson_in_time_order() {
    let (_store, agent) = agent_over("deepflow/http__sw8.pcap");
    let (code, body) = curl(&[
        "-X",
        "POST",
        "-H",
        &bearer(),
        "-d",
        r#"{"kfl": "http"}"#,
        &format!("{}/v1/query", agent.url),
    ]);
    assert_eq!(code, 200);
    let entries: Vec<serde_json::Value> = String::from_utf8_lossy(&body)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert!(entries.len() >= 2, "{entries:?}");
    let times: Vec<i64> = entries
        .iter()
        .map(|e| e["timestamp"].as_i64().expect("ns timestamp"))
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "time order: {times:?}"
    );
    assert!(
        entries
            .iter()
            .all(|e| text(&e["protocol"]["name"]) == "http")
    );
    // The same through the token header the API server's proxy leaves alone.
    let (code, proxied) = curl(&[
        "-X",
        "POST",
        "-H",
        &format!("X-Shark-Token: {TOKEN}"),
        "-d",
        r#"{"kfl": "http"}"#,
        &format!("{}/v1/query", agent.url),
    ]);
    assert_eq!((code, proxied), (200, body));
}

#[test]
fn bad_kfl_and_malformed_requests_get_400_with_the_reason() {
    let (_store, agent) = agent_over("deepflow/http.pcap");
    let url = format!("{}/v1/query", agent.url);
    let (code, body) = curl(&[
        "-X",
        "POST",
        "-H",
        &bearer(),
        "-d",
        r#"{"kfl": "http and respnse.status == 200"}"#,
        &url,
    ]);
    assert_eq!(code, 400);
    let message = String::from_utf8_lossy(&body);
    assert!(
        message.contains("respnse") && message.contains("response"),
        "diagnostic with a suggestion: {message}"
    );
    let (code, body) = curl(&["-X", "POST", "-H", &bearer(), "-d", "{not json", &url]);
    assert_eq!(code, 400);
    assert!(String::from_utf8_lossy(&body).contains("malformed request body"));
    let (code, _) = curl(&[
        "-X",
        "POST",
        "-H",
        &bearer(),
        "-d",
        r#"{"kfl": "http", "from": 10, "to": 5}"#,
        &url,
    ]);
    assert_eq!(code, 400);
    // A follow that cannot say where to resume is refused, not started from somewhere else.
    let (code, body) = curl(&[
        "-H",
        &bearer(),
        &format!("{}/v1/follow?after=node-a:seven", agent.url),
    ]);
    assert_eq!(code, 400);
    assert!(
        String::from_utf8_lossy(&body).contains("`node-a:seven` is not NODE:ID"),
        "{}",
        String::from_utf8_lossy(&body)
    );
}

#[test]
fn export_streams_a_pcap_that_tshark_reads() {
    let (_store, agent) = agent_over("deepflow/http.pcap");
    let out = tempfile::tempdir().expect("temp dir");
    let file = out.path().join("export.pcap");
    let (code, _) = curl(&[
        "-X",
        "POST",
        "-H",
        &bearer(),
        "-d",
        r#"{"kfl": "http"}"#,
        "-o",
        file.to_str().expect("utf-8"),
        &format!("{}/v1/export", agent.url),
    ]);
    assert_eq!(code, 200);
    let rows = crate::util::tshark(&[
        "-r",
        file.to_str().expect("utf-8"),
        "-Y",
        "http.request",
        "-T",
        "fields",
        "-e",
        "http.request.uri",
    ]);
    assert_eq!(rows, vec![vec!["/".to_string()]]);
}

#[test]
fn status_and_metrics_report_the_store() {
    let (_store, agent) = agent_over("deepflow/http.pcap");
    let (code, body) = curl(&["-H", &bearer(), &format!("{}/v1/status", agent.url)]);
    assert_eq!(code, 200);
    let status: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(text(&status["node"]), "node-a");
    assert!(
        status["store"][0]["entries"]
            .as_u64()
            .is_some_and(|n| n >= 1),
        "{status}"
    );
    let (code, body) = curl(&["-H", &bearer(), &format!("{}/metrics", agent.url)]);
    assert_eq!(code, 200);
    let page = String::from_utf8_lossy(&body);
    assert!(page.contains("# TYPE shark_store_entries gauge"), "{page}");
    assert!(
        page.lines()
            .any(|l| l.starts_with("shark_store_entries{node=\"node-a\"} ") && !l.ends_with(" 0")),
        "{page}"
    );
}

#[test]
fn sigterm_stops_the_agent_cleanly() {
    let (_store, agent) = agent_over("deepflow/http.pcap");
    assert_eq!(agent.stop(), 0);
}

#[test]
fn sigterm_ends_open_follow_streams_and_the_follower_says_so() {
    use std::process::Stdio;
    let (store, agent) = agent_over("deepflow/http.pcap");
    let mut follower = Running::start(
        shark()
            .args([
                "query", "--follow", "-o", "json", "--agents", &agent.url, "--token", TOKEN,
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    // Connected once an exchange stored after it started reaches it.
    let shown = lines_of(&mut follower);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while shown.try_recv().is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the follower shows nothing stored after it started"
        );
        import(store.path(), &fixture("deepflow/http.pcap"), "node-b");
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    // Kubernetes stops pods with SIGTERM, then kills them after the grace period: a stream that
    // never ends must not hold the agent past it.
    let asked = std::time::Instant::now();
    assert_eq!(agent.stop(), 0);
    assert!(
        asked.elapsed() < std::time::Duration::from_secs(10),
        "stopped in {:?}",
        asked.elapsed()
    );
    // The follower notices and says it waits for the node (a restarted agent is followed again).
    std::thread::sleep(std::time::Duration::from_secs(1));
    let said = String::from_utf8_lossy(&follower.stop_and_collect().stderr).into_owned();
    assert!(
        said.contains("the agent ended the stream; following again once it answers"),
        "{said}"
    );
}

#[test]
fn the_probe_subcommand_passes_against_a_live_agent_and_fails_with_a_wrong_token() {
    let (store, agent) = agent_over("deepflow/http.pcap");
    let addr = agent.url.trim_start_matches("http://").to_string();
    let good = store.path().join("token");
    std::fs::write(&good, TOKEN).expect("write");
    let probe = |token_file: &std::path::Path| {
        crate::util::run(
            std::process::Command::new(crate::util::binary("shark-agent"))
                .args(["probe", "--addr", &addr, "--token-file"])
                .arg(token_file),
        )
    };
    assert_eq!(probe(&good).code, 0);
    let bad = store.path().join("bad-token");
    std::fs::write(&bad, "not-the-token-at-all").expect("write");
    assert_ne!(probe(&bad).code, 0);
}

#[test]
fn a_follower_resumes_through_a_restarted_agent_without_gap_or_repeat() {
    let (store, agent) = agent_over("deepflow/http.pcap");
    let listen = agent.url.trim_start_matches("http://").to_string();
    let mut follower = Running::start(
        shark()
            .args([
                "query", "--follow", "-o", "json", "--agents", &agent.url, "--token", TOKEN, "http",
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped()),
    );
    let shown = lines_of(&mut follower);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut seen: Vec<serde_json::Value> = Vec::new();
    while seen.is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the follower shows nothing stored after it started"
        );
        import(store.path(), &fixture("deepflow/http.pcap"), "node-probe");
        std::thread::sleep(std::time::Duration::from_millis(500));
        seen.extend(
            shown
                .try_iter()
                .map(|l| serde_json::from_str(&l).expect("NDJSON")),
        );
    }
    // A rollout restarts the agent: while it is down, three more exchanges are stored (as live
    // capture would store them: now); once it is back (a new process on the node's address), one
    // more.
    assert_eq!(agent.stop(), 0);
    let now =
        |capture: &str| crate::util::shifted_to_seconds_ago(&fixture(capture), store.path(), 0.0);
    import(store.path(), &now("deepflow/http__sw8.pcap"), "node-b");
    let agent = AgentProcess::start_at(store.path(), "node-a", &listen, &["--no-capture"]);
    import(store.path(), &now("deepflow/http__httpv1.pcap"), "node-c");
    let want = |node: &str| if node == "node-b" { 3 } else { 1 };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let count = |seen: &[serde_json::Value], node: &str| {
        seen.iter()
            .filter(|e| text(&e["node"]["name"]) == node)
            .count()
    };
    while (count(&seen, "node-b"), count(&seen, "node-c")) != (want("node-b"), want("node-c")) {
        assert!(
            std::time::Instant::now() < deadline,
            "not resumed: {seen:#?}"
        );
        if let Ok(line) = shown.recv_timeout(std::time::Duration::from_millis(200)) {
            seen.push(serde_json::from_str(&line).expect("NDJSON"));
        }
    }
    // Anything shown twice would come within a few polls.
    std::thread::sleep(std::time::Duration::from_secs(2));
    seen.extend(
        shown
            .try_iter()
            .map(|l| serde_json::from_str(&l).expect("NDJSON")),
    );
    let mut ids: Vec<(String, String)> = seen
        .iter()
        .map(|e| (text(&e["node"]["name"]), text(&e["id"])))
        .collect();
    let shown_count = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), shown_count, "no entry shown twice: {ids:?}");
    assert_eq!(
        (count(&seen, "node-b"), count(&seen, "node-c")),
        (3, 1),
        "none missed"
    );
    drop(agent);
    let said = String::from_utf8_lossy(&follower.stop_and_collect().stderr).into_owned();
    assert!(
        said.contains("the agent ended the stream; following again once it answers"),
        "{said}"
    );
    assert!(said.contains("following again\n"), "{said}");
}
