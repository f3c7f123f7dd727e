//! Cluster reads against several real agents: merged answers, and a missing node named in a footer.

use crate::util::{AgentProcess, TOKEN, fixture, import, query_json, run, run_ok, shark, text};

/// Two "nodes", each an agent over its own store.
fn two_agents() -> (Vec<tempfile::TempDir>, AgentProcess, AgentProcess) {
    let a = tempfile::tempdir().expect("temp dir");
    let b = tempfile::tempdir().expect("temp dir");
    import(a.path(), &fixture("deepflow/http__sw8.pcap"), "node-a");
    import(b.path(), &fixture("deepflow/http.pcap"), "node-b");
    import(b.path(), &fixture("deepflow/http__httpv1.pcap"), "node-b");
    let agent_a = AgentProcess::start(a.path(), "node-a", &["--no-capture"]);
    let agent_b = AgentProcess::start(b.path(), "node-b", &["--no-capture"]);
    (vec![a, b], agent_a, agent_b)
}

fn cluster_query(urls: &[&str], args: &[&str]) -> crate::util::Run {
    run(shark()
        .args(["query", "--agents", &urls.join(","), "--token", TOKEN])
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
            .arg(&file),
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
