//! Cluster reads against several real agents serving TLS, as deployed agents do: merged answers,
//! a missing node named in a footer, and a certificate from another CA refused in one line.

use crate::util::{AgentProcess, TOKEN, agent_tls, fixture, import, query_json, run, run_ok, text};

/// `kubectl-shark` trusting the test agents' CA (`SHARK_AGENT_CA`, as `--agent-ca` does).
fn shark() -> std::process::Command {
    let mut command = crate::util::shark();
    command.env("SHARK_AGENT_CA", &agent_tls().ca);
    command
}

/// Two "nodes", each an agent over its own store, serving TLS.
fn two_agents() -> (Vec<tempfile::TempDir>, AgentProcess, AgentProcess) {
    two_agents_with(AgentProcess::start_tls)
}

/// Two "nodes" as `start` starts their agents.
pub(crate) fn two_agents_with(
    start: fn(&std::path::Path, &str, &[&str]) -> AgentProcess,
) -> (Vec<tempfile::TempDir>, AgentProcess, AgentProcess) {
    let a = tempfile::tempdir().expect("temp dir");
    let b = tempfile::tempdir().expect("temp dir");
    import(a.path(), &fixture("deepflow/http__sw8.pcap"), "node-a");
    import(b.path(), &fixture("deepflow/http.pcap"), "node-b");
    import(b.path(), &fixture("deepflow/http__httpv1.pcap"), "node-b");
    let agent_a = start(a.path(), "node-a", &["--no-capture"]);
    let agent_b = start(b.path(), "node-b", &["--no-capture"]);
    (vec![a, b], agent_a, agent_b)
}

fn cluster_query(urls: &[&str], args: &[&str]) -> crate::util::Run {
    run(shark()
        .args(["query", "--agents", &urls.join(","), "--token", TOKEN])
        .arg("--agent-ca")
        .arg(&agent_tls().ca)
        .args(args))
}

#[test]
fn the_merged_answer_is_the_union_in_timestamp_order() {
    let (stores, a, b) = two_agents();
    let mut expected: Vec<serde_json::Value> = stores
        .iter()
        .flat_map(|s| query_json(s.path(), &[]))
        .collect();
    expected.sort_by_key(|e| text(&e["timestamp"]));
    let r = cluster_query(&[&a.url, &b.url], &["-o", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let merged: Vec<serde_json::Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let key = |e: &serde_json::Value| {
        (
            text(&e["timestamp"]),
            text(&e["node"]["name"]),
            text(&e["request"]["path"]),
        )
    };
    assert_eq!(
        merged.iter().map(key).collect::<Vec<_>>(),
        expected.iter().map(key).collect::<Vec<_>>()
    );
    // limit applies to the merged result.
    let r = cluster_query(&[&a.url, &b.url], &["-o", "json", "--limit", "2"]);
    assert_eq!(r.stdout.lines().count(), 2);
}

#[test]
fn a_stopped_node_is_named_in_a_footer_and_the_others_still_answer() {
    let (stores, a, b) = two_agents();
    let b_url = b.url.clone();
    assert_eq!(b.stop(), 0);
    let r = cluster_query(&[&a.url, &b_url], &["http"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let a_rows = query_json(stores[0].path(), &["http"]).len();
    assert!(
        r.stdout.contains(&format!("{a_rows} entries"))
            || (a_rows == 1 && r.stdout.contains("1 entry")),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .lines()
            .any(|l| l.starts_with(&format!("node {b_url} unreachable"))),
        "{}",
        r.stdout
    );
}

#[test]
fn cluster_export_merges_every_nodes_packets_for_tshark() {
    let (_stores, a, b) = two_agents();
    let out = tempfile::tempdir().expect("temp dir");
    let file = out.path().join("all.pcap");
    run_ok(
        shark()
            .args([
                "export",
                "--agents",
                &format!("{},{}", a.url, b.url),
                "--token",
                TOKEN,
                "http",
                "-o",
            ])
            .arg(&file)
            .arg("--agent-ca")
            .arg(&agent_tls().ca),
    );
    let times = crate::util::tshark(&[
        "-r",
        file.to_str().expect("utf-8"),
        "-T",
        "fields",
        "-e",
        "frame.time_epoch",
    ]);
    let secs: Vec<f64> = times.iter().map(|r| r[0].parse().expect("epoch")).collect();
    assert!(
        secs.windows(2).all(|w| w[0] <= w[1]),
        "merged in time order"
    );
    let requests = crate::util::tshark(&[
        "-r",
        file.to_str().expect("utf-8"),
        "-Y",
        "http.request",
        "-T",
        "fields",
        "-e",
        "http.request.uri",
    ]);
    assert!(
        requests.iter().any(|r| r[0] == "/") && requests.iter().any(|r| r[0].starts_with("/query")),
        "{requests:?}"
    );
}

/// The two agents as two clusters, `east` (node-a) and `west` (node-b), by `--agents CLUSTER=URL`.
pub(crate) fn two_clusters(a: &AgentProcess, b_url: &str) -> String {
    format!("east={},west={b_url}", a.url)
}

/// An address where no agent answers (the discard port: connections are refused).
pub(crate) const NOBODY: &str = "http://127.0.0.1:9";

#[test]
fn entries_from_two_clusters_carry_their_cluster_and_the_table_a_cluster_column() {
    let (stores, a, b) = two_agents();
    let agents = two_clusters(&a, &b.url);
    let r = cluster_query(&[&agents], &["-o", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines: Vec<serde_json::Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    for (cluster, node, store) in [
        ("east", "node-a", &stores[0]),
        ("west", "node-b", &stores[1]),
    ] {
        let mine: Vec<&serde_json::Value> =
            lines.iter().filter(|e| e["cluster"] == cluster).collect();
        assert_eq!(mine.len(), query_json(store.path(), &[]).len(), "{cluster}");
        assert!(mine.iter().all(|e| e["node"]["name"] == node), "{cluster}");
    }
    let table = cluster_query(&[&agents], &["http"]);
    assert_eq!(table.code, 0, "{}", table.stderr);
    let header = table.stdout.lines().nth(1).expect("a header row");
    assert!(header.contains("CLUSTER"), "{}", table.stdout);
    assert!(
        table.stdout.contains("│ east") && table.stdout.contains("│ west"),
        "{}",
        table.stdout
    );
    // One cluster, as before: no CLUSTER column and no `cluster` key.
    let one = cluster_query(&[&a.url], &["http"]);
    assert!(!one.stdout.contains("CLUSTER"), "{}", one.stdout);
}

#[test]
fn a_filter_on_cluster_does_not_ask_the_other_cluster_and_explain_says_so() {
    let (_stores, a, _b) = two_agents();
    // `west` cannot be reached: were it asked, the answer would be partial.
    let agents = two_clusters(&a, NOBODY);
    let r = cluster_query(&[&agents], &[r#"cluster == "east" and http"#]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        !r.stdout.contains("west") && !r.stderr.contains("west"),
        "{}",
        r.stdout
    );
    let explained = cluster_query(&[&agents], &["--explain", r#"cluster == "east" and http"#]);
    assert_eq!(explained.code, 0, "{}", explained.stderr);
    assert!(
        explained.stdout.contains("clusters: asks east"),
        "{}",
        explained.stdout
    );
    assert!(
        explained.stdout.contains("does not ask west"),
        "{}",
        explained.stdout
    );
}

#[test]
fn an_unreachable_cluster_is_named_in_the_footer_and_the_answer_is_partial() {
    let (stores, a, _b) = two_agents();
    let agents = two_clusters(&a, NOBODY);
    let r = cluster_query(&[&agents], &["http"]);
    assert_eq!(r.code, 3, "partial: {}\n{}", r.stdout, r.stderr);
    let east = query_json(stores[0].path(), &["http"]).len();
    assert!(r.stdout.contains(&format!("{east} entr")), "{}", r.stdout);
    assert!(
        r.stdout
            .lines()
            .any(|l| l.starts_with("cluster west unreachable: no node answered")),
        "{}",
        r.stdout
    );
    assert!(r.stderr.contains("partial answer"), "{}", r.stderr);
    for command in ["map", "status"] {
        let other = run(shark().args([command, "--agents", &agents, "--token", TOKEN]));
        assert_eq!(
            other.code, 3,
            "{command}: {}\n{}",
            other.stdout, other.stderr
        );
    }
    // Nothing answered at all is an error, not a partial answer.
    let none = cluster_query(&[&format!("east={NOBODY},west={NOBODY}")], &["http"]);
    assert_eq!(none.code, 2, "{}", none.stderr);
}

#[test]
fn an_export_across_clusters_names_each_packets_cluster_and_node_for_tshark() {
    let (_stores, a, b) = two_agents();
    let out = tempfile::tempdir().expect("temp dir");
    let file = out.path().join("both.pcapng");
    let r = run_ok(
        shark()
            .args([
                "export",
                "--agents",
                &two_clusters(&a, &b.url),
                "--token",
                TOKEN,
                "http",
                "-o",
            ])
            .arg(&file),
    );
    assert!(r.stderr.contains("in 2 clusters"), "{}", r.stderr);
    let rows = crate::util::tshark(&[
        "-r",
        file.to_str().expect("utf-8"),
        "-T",
        "fields",
        "-e",
        "frame.interface_name",
        "-e",
        "frame.time_epoch",
    ]);
    let exported: usize = r
        .stderr
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("exported N packets");
    assert_eq!(rows.len(), exported, "tshark reads every packet");
    let secs: Vec<f64> = rows.iter().map(|r| r[1].parse().expect("epoch")).collect();
    assert!(
        secs.windows(2).all(|w| w[0] <= w[1]),
        "merged in time order"
    );
    // Each packet's interface is its cluster and node (with --agents, the node each agent
    // reports, not its URL).
    let known = ["east/node-a", "west/node-b"];
    for interface in known {
        assert!(
            rows.iter().any(|r| r[0] == interface),
            "{interface}: {rows:?}"
        );
    }
    assert!(
        rows.iter().all(|r| known.contains(&r[0].as_str())),
        "{rows:?}"
    );
}

#[test]
fn following_two_clusters_shows_each_clusters_entries_with_its_cluster() {
    let (stores, a, b) = two_agents();
    let mut follower = crate::util::Running::start(
        shark()
            .args([
                "query", "--follow", "--from", "@0", "-o", "json", "--agents",
            ])
            .arg(two_clusters(&a, &b.url))
            .args([
                "--token",
                TOKEN,
                r#"cluster == "east" or cluster == "west""#,
            ])
            .stdout(std::process::Stdio::piped()),
    );
    let lines = crate::util::lines_of(&mut follower);
    let expected: Vec<(String, usize)> = [("east", &stores[0]), ("west", &stores[1])]
        .iter()
        .map(|(c, s)| (c.to_string(), query_json(s.path(), &[]).len()))
        .collect();
    let total: usize = expected.iter().map(|(_, n)| n).sum();
    let mut seen: Vec<serde_json::Value> = Vec::new();
    while seen.len() < total {
        let line = lines
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("every stored entry followed within a minute");
        seen.push(serde_json::from_str(&line).expect("follow prints NDJSON"));
    }
    for (cluster, count) in expected {
        assert_eq!(
            seen.iter()
                .filter(|e| e["cluster"] == cluster.as_str())
                .count(),
            count,
            "{cluster}"
        );
    }
}

/// A fake API server (`tests/cluster/fake_api.py`) fronting `agents`, or refusing every request
/// (`None`, as with expired credentials); its process and address.
pub(crate) fn fake_api(
    dir: &std::path::Path,
    name: &str,
    agents: Option<&[&str]>,
) -> (crate::util::Running, String) {
    fake_api_listing(dir, name, agents, &[])
}

/// [`fake_api`] whose cluster lists `pods` (`namespace/name`, IP).
pub(crate) fn fake_api_listing(
    dir: &std::path::Path,
    name: &str,
    agents: Option<&[&str]>,
    pods: &[(&str, &str)],
) -> (crate::util::Running, String) {
    fake_api_on(dir, name, agents, pods, 0)
}

/// [`fake_api_listing`] on `port` (0: a free one), as an API server comes back where it was.
pub(crate) fn fake_api_on(
    dir: &std::path::Path,
    name: &str,
    agents: Option<&[&str]>,
    pods: &[(&str, &str)],
    port: u16,
) -> (crate::util::Running, String) {
    let port_file = dir.join(format!("{name}.port"));
    let mut command = std::process::Command::new("python3");
    command
        .arg(crate::util::workspace().join("tests/cluster/fake_api.py"))
        .arg(&port_file)
        .env("FAKE_API_PORT", port.to_string())
        .stderr(std::process::Stdio::null());
    match agents {
        Some(urls) => {
            let listed: Vec<String> = pods.iter().map(|(pod, ip)| format!("{pod}={ip}")).collect();
            command.args([TOKEN, &urls.join(","), &listed.join(",")])
        }
        None => command.arg("--refuse"),
    };
    let server = crate::util::Running::start(&mut command);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let port = loop {
        if let Ok(port) = std::fs::read_to_string(&port_file) {
            break port;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "fake API server {name} did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    (server, format!("http://127.0.0.1:{port}"))
}

/// A kubeconfig with a context per `(context, cluster, server)`.
pub(crate) fn kubeconfig(
    dir: &std::path::Path,
    clusters: &[(&str, &str, &str)],
) -> std::path::PathBuf {
    let mut yaml = String::from(
        "apiVersion: v1\nkind: Config\nusers:\n- name: me\n  user: {token: t}\nclusters:\n",
    );
    for (_, cluster, server) in clusters {
        yaml.push_str(&format!(
            "- name: {cluster}\n  cluster: {{server: '{server}'}}\n"
        ));
    }
    yaml.push_str("contexts:\n");
    for (context, cluster, _) in clusters {
        yaml.push_str(&format!(
            "- name: {context}\n  context: {{cluster: {cluster}, user: me}}\n"
        ));
    }
    yaml.push_str(&format!("current-context: {}\n", clusters[0].0));
    let path = dir.join("kubeconfig");
    std::fs::write(&path, yaml).expect("kubeconfig written");
    path
}

#[test]
fn contexts_name_their_clusters_and_one_refusing_the_credentials_makes_a_partial_answer() {
    // The stand-in API server's pod proxy speaks plain HTTP to the agents.
    let (stores, a, b) = two_agents_with(AgentProcess::start);
    let dir = tempfile::tempdir().expect("temp dir");
    let (_east_api, east) = fake_api(dir.path(), "east", Some(&[&a.url]));
    let (_west_api, west) = fake_api(dir.path(), "west", Some(&[&b.url]));
    let (_gone_api, gone) = fake_api(dir.path(), "gone", None);
    let config = kubeconfig(
        dir.path(),
        &[
            ("admin@east", "east", &east),
            ("admin@west", "west", &west),
            ("admin@gone", "gone", &gone),
        ],
    );
    let query = |contexts: &str, args: &[&str]| {
        run(shark()
            .args(["query", "--kubeconfig"])
            .arg(&config)
            .args(["--context", contexts])
            .args(args))
    };
    // Each context is named after its cluster, or as renamed.
    let r = query("admin@east,far=admin@west", &["-o", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines: Vec<serde_json::Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    for (cluster, store) in [("east", &stores[0]), ("far", &stores[1])] {
        let mine = lines.iter().filter(|e| e["cluster"] == cluster).count();
        assert_eq!(mine, query_json(store.path(), &[]).len(), "{cluster}");
    }
    // Credentials refused: named with the API server's reason, the others answer, status 3.
    let r = query("admin@east,admin@gone", &["http"]);
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    let footer = r
        .stdout
        .lines()
        .find(|l| l.starts_with("cluster gone unreachable: "))
        .unwrap_or_else(|| panic!("{}", r.stdout));
    assert!(footer.contains("Unauthorized"), "{footer}");
    let east_http = query_json(stores[0].path(), &["http"]).len();
    assert!(
        r.stdout.contains(&format!("{east_http} entr")),
        "{}",
        r.stdout
    );
    // A filter on cluster asks only that cluster: the refusing one is not asked.
    let r = query("admin@east,admin@gone", &[r#"cluster == "east""#]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    // `clean` cleans each cluster it can reach and names the one it cannot.
    let clean = run(shark()
        .args(["clean", "--kubeconfig"])
        .arg(&config)
        .args(["--context", "admin@east,admin@gone"]));
    assert_eq!(clean.code, 3, "{}\n{}", clean.stdout, clean.stderr);
    assert!(
        clean.stdout.contains("cluster east: nothing to clean")
            && clean.stdout.contains("cluster gone unreachable: "),
        "{}",
        clean.stdout
    );
    // The map by cluster over two contexts counts every entry of both.
    let map = run_ok(
        shark()
            .args(["map", "--by", "cluster", "-o", "json", "--kubeconfig"])
            .arg(&config)
            .args(["--context", "admin@east,admin@west"]),
    );
    let map: serde_json::Value = serde_json::from_str(&map.stdout).expect("json map");
    let requests: u64 = map["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["requests"].as_u64().expect("requests"))
        .sum();
    // Every exchange, and every record of a connection nothing was dissected on (a dissected
    // connection's record brings its bytes, not a request).
    let entries = stores
        .iter()
        .map(|s| query_json(s.path(), &["not conn_l7_detected"]).len())
        .sum::<usize>();
    assert_eq!(requests as usize, entries);
    assert_eq!(map["by"], "cluster");
}

#[test]
fn an_agent_is_trusted_only_with_its_own_ca_and_only_over_tls() {
    let (_stores, a, _b) = two_agents();
    assert!(a.url.starts_with("https://"), "{}", a.url);
    let ca = agent_tls().ca.to_str().expect("utf-8").to_string();
    // curl trusting that CA alone gets the status; plain HTTP gets nothing.
    let (code, _) = crate::util::curl(&[
        "--cacert",
        &ca,
        "-H",
        &format!("Authorization: Bearer {TOKEN}"),
        &format!("{}/v1/status", a.url),
    ]);
    assert_eq!(code, 200);
    let plain = a.url.replacen("https://", "http://", 1);
    let (code, _) = crate::util::curl(&[&format!("{plain}/v1/status")]);
    assert_eq!(code, 0, "no HTTP answer without TLS");
    // Another deployment's CA: one line naming the certificate, and no entries.
    let stranger = tempfile::tempdir().expect("temp dir");
    let other_ca = stranger.path().join("ca.crt");
    std::fs::write(&other_ca, &crate::util::dry_run_secret()["ca.crt"]).expect("write");
    let r = run(shark()
        .args([
            "query",
            "--agents",
            &a.url,
            "--token",
            TOKEN,
            "-o",
            "json",
            "--agent-ca",
        ])
        .arg(&other_ca));
    assert!(
        r.stdout.lines().all(|l| !l.starts_with('{')),
        "no entry from an unverified agent: {} lines out",
        r.stdout.lines().count()
    );
    let said = format!("{}{}", r.stdout, r.stderr);
    let line = said
        .lines()
        .find(|l| l.contains("TLS certificate"))
        .unwrap_or_else(|| panic!("the certificate is named: {said}"));
    assert!(
        line.contains("--agent-ca") && line.contains("shark-agent"),
        "{line}"
    );
    // No CA at all for an https URL: told how to get it.
    let r = run(shark()
        .args(["query", "--agents", &a.url, "--token", TOKEN])
        .env_remove("SHARK_AGENT_CA"));
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("--agent-ca FILE") && r.stderr.lines().count() == 1,
        "{}",
        r.stderr
    );
    // The probe the DaemonSet runs: through with the CA, refused with another.
    let addr = a.url.trim_start_matches("https://").to_string();
    let token_file = stranger.path().join("token");
    std::fs::write(&token_file, TOKEN).expect("write");
    let probe = |ca: &std::path::Path| {
        run(
            std::process::Command::new(crate::util::binary("shark-agent"))
                .args(["probe", "--addr", &addr, "--token-file"])
                .arg(&token_file)
                .arg("--ca-file")
                .arg(ca),
        )
    };
    let ok = probe(&agent_tls().ca);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    let refused = probe(&other_ca);
    assert_ne!(refused.code, 0);
    assert!(refused.stderr.contains("certificate"), "{}", refused.stderr);
}

#[test]
fn each_cluster_of_agents_takes_its_own_token_given_or_read_from_a_file() {
    let a = tempfile::tempdir().expect("temp dir");
    let b = tempfile::tempdir().expect("temp dir");
    import(a.path(), &fixture("deepflow/http__sw8.pcap"), "node-a");
    import(b.path(), &fixture("deepflow/http.pcap"), "node-b");
    let west_token = b.path().join("west.token");
    std::fs::write(&west_token, "west-token-0123456789abcdef\n").expect("token written");
    let agent_a = AgentProcess::start(a.path(), "node-a", &["--no-capture"]);
    let token_flag = format!("--token-file={}", west_token.display());
    let agent_b = AgentProcess::start(b.path(), "node-b", &["--no-capture", &token_flag]);
    let agents = two_clusters(&agent_a, &agent_b.url);
    let query = |token: &str| {
        run(shark().args(["query", "--agents", &agents, "--token", token, "-o", "json"]))
    };
    let both = query(&format!("east={TOKEN},west=@{}", west_token.display()));
    assert_eq!(both.code, 0, "{}", both.stderr);
    for (cluster, store) in [("east", &a), ("west", &b)] {
        let mine = both
            .stdout
            .lines()
            .filter(|l| l.contains(&format!("\"cluster\":\"{cluster}\"")))
            .count();
        assert_eq!(mine, query_json(store.path(), &[]).len(), "{cluster}");
    }
    // One token for both: west refuses it, and the answer is partial.
    let one = query(TOKEN);
    assert_eq!(one.code, 3, "{}\n{}", one.stdout, one.stderr);
    assert!(
        one.stderr.contains("cluster west unreachable"),
        "{}",
        one.stderr
    );
}
