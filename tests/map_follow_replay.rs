//! The service map, `query --follow` and `replay` as a user runs them: on the namespace cluster
//! (live capture, real servers and clients), and on real captures served by two agents.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{
    AgentProcess, Cluster, Running, TOKEN, binary, first_packet_epoch, fixture, import, lines_of,
    query_json, run_ok, shark, shifted_to_seconds_ago, text, tshark, wait_until_serving,
};

const CLIENT: &str = "checkout-5c8d7-zz9yx";
const WEB: &str = "web-6d4cf56db6-x7k2p";
const GREETER: &str = "greeter-7f9b8-qwert";

/// (src, dst, protocol) → (requests, errors), from `map -o json`.
fn edges(map: &serde_json::Value) -> BTreeMap<(String, String, String), (u64, u64)> {
    map["edges"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            let peer = |p: &serde_json::Value| {
                let ns = text(&p["namespace"]);
                if ns.is_empty() {
                    text(&p["name"])
                } else {
                    format!("{ns}/{}", text(&p["name"]))
                }
            };
            let key = (peer(&e["src"]), peer(&e["dst"]), text(&e["protocol"]));
            (
                key,
                (
                    e["requests"].as_u64().unwrap_or(0),
                    e["errors"].as_u64().unwrap_or(0),
                ),
            )
        })
        .collect()
}

fn map_json(args: &[&str]) -> serde_json::Value {
    let out = run_ok(shark().arg("map").args(["-o", "json"]).args(args)).stdout;
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("map -o json is not JSON ({e}):\n{out}"))
}

/// The same edges counted from `query -o json` (what the index holds), grouped by pod.
fn edges_from_query(store: &Path, filter: &str) -> BTreeMap<(String, String, String), (u64, u64)> {
    let mut counted = BTreeMap::new();
    for e in query_json(store, &[filter]) {
        if e["response"]["l7"].is_array() {
            // A dissected connection's record: its bytes go to its exchanges' edge.
            continue;
        }
        let peer =
            |p: &serde_json::Value| format!("{}/{}", text(&p["namespace"]), text(&p["name"]));
        let status = e["response"]["status"].as_i64();
        let proto = text(&e["protocol"]["name"]);
        let failed = e.get("error").is_some_and(|v| !v.is_null())
            || status.is_some_and(|s| if proto == "http" { s >= 500 } else { s != 0 });
        let slot = counted
            .entry((peer(&e["src"]), peer(&e["dst"]), proto))
            .or_insert((0, 0));
        slot.0 += 1;
        slot.1 += u64::from(failed);
    }
    counted
}

#[test]
fn the_namespace_cluster_maps_follows_and_replays_what_its_pods_did() {
    let cluster = Cluster::up("mfr");
    let store = tempfile::tempdir().expect("temp dir");
    let identities: PathBuf = cluster.identities();
    // The node's agent captures on the bridge and serves its store (on the node's loopback).
    let mut agent = Running::start(
        cluster
            .exec("node", &binary("shark-agent"))
            .args([
                "-i",
                "br0",
                "--node",
                "node-1",
                "--listen",
                "127.0.0.1:0",
                "--store",
            ])
            .arg(store.path())
            .arg("--identities")
            .arg(&identities)
            .env("SHARK_TOKEN", TOKEN)
            .stderr(Stdio::piped()),
    );
    let mut stderr = BufReader::new(agent.stderr.take().expect("stderr")).lines();
    let url = wait_until_serving(&mut stderr, true);

    // Before follow starts: the whole traffic script, plus the greeter pod calling web and redis.
    run_ok(&mut cluster.script("traffic.sh"));
    let curl = Path::new("curl");
    run_ok(
        cluster
            .exec("grpc", curl)
            .args(["-s", "-o", "/dev/null", "http://10.244.0.10/health"]),
    );
    run_ok(
        cluster
            .exec("grpc", Path::new("redis-cli"))
            .args(["-h", "10.244.0.11", "PING"]),
    );
    std::thread::sleep(Duration::from_secs(2));

    // follow only web's HTTP traffic from now on: from the store, and through the agent's API.
    let follow_filter = format!("http and dst.name == \"{WEB}\"");
    let mut local = Running::start(
        shark()
            .args(["query", "--follow", "-o", "json", "--store"])
            .arg(store.path())
            .arg(&follow_filter)
            .stdout(Stdio::piped()),
    );
    let mut remote = Running::start(
        cluster
            .exec("node", &binary("kubectl-shark"))
            .args([
                "query",
                "--follow",
                "-o",
                "json",
                "--agents",
                &url,
                "--token",
                TOKEN,
                &follow_filter,
            ])
            .stdout(Stdio::piped()),
    );
    // With --from, the stored entries come first, then the live ones, none twice and none missing.
    let mut backlog = Running::start(
        shark()
            .args([
                "query", "--follow", "--from", "-10m", "-o", "json", "--store",
            ])
            .arg(store.path())
            .arg(&follow_filter)
            .stdout(Stdio::piped()),
    );
    let followed = [
        lines_of(&mut local),
        lines_of(&mut remote),
        lines_of(&mut backlog),
    ];
    std::thread::sleep(Duration::from_secs(2));
    for path in ["/after-1", "/after-2", "/boom"] {
        run_ok(cluster.exec("client", curl).args([
            "-s",
            "-o",
            "/dev/null",
            &format!("http://10.244.0.10{path}"),
        ]));
    }
    run_ok(cluster.exec("client", Path::new("redis-cli")).args([
        "-h",
        "10.244.0.11",
        "GET",
        "after",
    ]));
    let mut shown = Vec::new();
    for (lines, count) in followed.iter().zip([3, 3, 9]) {
        let mut seen = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while seen.len() < count && Instant::now() < deadline {
            if let Ok(line) = lines.recv_timeout(Duration::from_millis(200)) {
                seen.push(
                    serde_json::from_str::<serde_json::Value>(&line).expect("follow prints NDJSON"),
                );
            }
        }
        // Anything more (a duplicate, an older entry) would arrive within a few polls.
        std::thread::sleep(Duration::from_secs(2));
        while let Ok(line) = lines.try_recv() {
            seen.push(serde_json::from_str(&line).expect("follow prints NDJSON"));
        }
        shown.push(seen);
    }
    drop([local, remote, backlog]);
    let paths = |seen: &[serde_json::Value]| {
        seen.iter()
            .map(|e| text(&e["request"]["path"]))
            .collect::<Vec<_>>()
    };
    let after = ["/after-1", "/after-2", "/boom"];
    assert_eq!(
        paths(&shown[0]),
        after,
        "local follow shows exactly the matching requests made after it started"
    );
    assert_eq!(
        paths(&shown[1]),
        after,
        "cluster follow shows exactly the matching requests made after it started"
    );
    let stamped = |seen: &[serde_json::Value]| {
        seen.iter()
            .map(|e| (text(&e["timestamp"]), text(&e["request"]["path"])))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        stamped(&shown[2]),
        stamped(&query_json(store.path(), &[&follow_filter])),
        "stored, then live"
    );

    std::thread::sleep(Duration::from_millis(500));
    run_ok(Command::new("kill").args(["-TERM", &agent.id().to_string()]));
    let stopped: Vec<String> = stderr.map_while(Result::ok).collect();
    assert_eq!(
        agent.wait().expect("agent exits").code(),
        Some(0),
        "{stopped:?}"
    );
    assert!(
        stopped.iter().any(|l| l.ends_with(" 0 dropped")),
        "no drops: {stopped:?}"
    );
    let dir = store.path().to_str().expect("utf-8 path");

    // The map by pod: what the scripts did, request for request.
    let by_pod = edges(&map_json(&["--store", dir, "--by", "pod"]));
    let client = format!("shop/{CLIENT}");
    let web = format!("shop/{WEB}");
    let get =
        |m: &BTreeMap<(String, String, String), (u64, u64)>, src: &str, dst: &str, proto: &str| {
            m.get(&(src.to_string(), dst.to_string(), proto.to_string()))
                .copied()
        };
    // traffic.sh: 4 HTTP/1.1 + 1 h2c request, one of them /boom (503); then /after-1, /after-2, /boom.
    assert_eq!(
        get(&by_pod, &client, &web, "http"),
        Some((8, 2)),
        "{by_pod:#?}"
    );
    assert_eq!(
        get(&by_pod, &client, "shop/redis-0", "redis"),
        Some((3, 0)),
        "{by_pod:#?}"
    );
    assert_eq!(
        get(
            &by_pod,
            &client,
            "kube-system/coredns-5d78c9869d-abcde",
            "dns"
        ),
        Some((1, 0)),
        "{by_pod:#?}"
    );
    assert_eq!(
        get(&by_pod, &client, &format!("shop/{GREETER}"), "grpc"),
        Some((1, 0)),
        "{by_pod:#?}"
    );
    assert_eq!(
        get(&by_pod, &format!("shop/{GREETER}"), &web, "http"),
        Some((1, 0)),
        "{by_pod:#?}"
    );
    assert_eq!(
        get(&by_pod, &format!("shop/{GREETER}"), "shop/redis-0", "redis"),
        Some((1, 0)),
        "{by_pod:#?}"
    );
    // Every edge agrees with the entries the index holds.
    assert_eq!(by_pod, edges_from_query(store.path(), ""));

    // By workload and by namespace, the same traffic folds into fewer boxes.
    let by_workload = edges(&map_json(&["--store", dir, "--by", "workload"]));
    assert_eq!(
        get(&by_workload, "shop/checkout", "shop/web", "http"),
        Some((8, 2)),
        "{by_workload:#?}"
    );
    let by_namespace = edges(&map_json(&["--store", dir, "--by", "namespace"]));
    assert_eq!(
        get(&by_namespace, "shop", "kube-system", "dns"),
        Some((1, 0)),
        "{by_namespace:#?}"
    );

    // By node: each pod folds into the node it ran on (web, redis, postgres on worker-1; the
    // client, coredns and greeter on worker-2), so the node map is the pod map summed that way.
    let node_of = |pod: &str| {
        if ["web", "redis", "postgres"]
            .iter()
            .any(|w| pod.starts_with(&format!("shop/{w}")))
        {
            "worker-1"
        } else {
            "worker-2"
        }
    };
    let mut folded: BTreeMap<(String, String, String), (u64, u64)> = BTreeMap::new();
    for ((src, dst, proto), (requests, errors)) in &by_pod {
        let sum = folded
            .entry((
                node_of(src).to_string(),
                node_of(dst).to_string(),
                proto.clone(),
            ))
            .or_default();
        *sum = (sum.0 + requests, sum.1 + errors);
    }
    assert_eq!(edges(&map_json(&["--store", dir, "--by", "node"])), folded);
    assert!(
        folded.contains_key(&("worker-2".into(), "worker-1".into(), "http".into())),
        "{folded:#?}"
    );
    let across = run_ok(shark().args([
        "query",
        "--store",
        dir,
        "-o",
        "json",
        r#"src.node == "worker-2" and dst.node == "worker-1" and http"#,
    ]));
    assert_eq!(
        across.stdout.lines().count() as u64,
        folded[&("worker-2".into(), "worker-1".into(), "http".into())].0
    );

    // KFL scopes the map: the ingress of web and postgres, and the egress of greeter.
    let scope = format!(
        "(dst.name == \"{WEB}\" or dst.name == \"postgres-0\") or src.name == \"{GREETER}\""
    );
    let scoped = edges(&map_json(&["--store", dir, "--by", "pod", &scope]));
    let pairs: Vec<(String, String, String)> = scoped.keys().cloned().collect();
    let mut want = vec![
        (client.clone(), web.clone(), "http".to_string()),
        (
            client.clone(),
            "shop/postgres-0".to_string(),
            "postgres".to_string(),
        ),
        (
            format!("shop/{GREETER}"),
            "shop/redis-0".to_string(),
            "redis".to_string(),
        ),
        (format!("shop/{GREETER}"), web.clone(), "http".to_string()),
    ];
    want.sort();
    assert_eq!(pairs, want);
    assert_eq!(scoped, edges_from_query(store.path(), &scope));

    // The table a person reads: the error edge and its counts.
    let table = run_ok(shark().args(["map", "--store", dir, "--by", "workload"])).stdout;
    let row = table
        .lines()
        .find(|l| l.contains("shop/checkout") && l.contains("shop/web"))
        .unwrap_or_default();
    let cells: Vec<&str> = row.split(['│', '┆']).map(str::trim).collect();
    assert_eq!(cells.get(3..6), Some(&["http", "8", "2"][..]), "{table}");

    // DOT renders with graphviz; the erroring edge is red.
    let dot = run_ok(shark().args(["map", "--store", dir, "-o", "dot"])).stdout;
    let edge = dot
        .lines()
        .find(|l| l.contains("\"shop/checkout\" -> \"shop/web\""))
        .unwrap_or_default();
    assert!(
        edge.contains("http ×8") && edge.contains("color=red"),
        "{dot}"
    );
    let png = store.path().join("map.png");
    let dot_file = store.path().join("map.dot");
    std::fs::write(&dot_file, &dot).expect("write dot");
    run_ok(
        Command::new("dot")
            .arg("-Tpng")
            .arg(&dot_file)
            .arg("-o")
            .arg(&png),
    );
    let image = std::fs::read(&png).expect("png written");
    assert!(
        image.starts_with(b"\x89PNG\r\n\x1a\n") && image.len() > 1000,
        "dot wrote a PNG"
    );
    let mermaid = run_ok(shark().args(["map", "--store", dir, "-o", "mermaid"])).stdout;
    assert!(
        mermaid.starts_with("flowchart LR")
            && mermaid.contains("http ×8, 2 errors")
            && mermaid.contains("linkStyle"),
        "{mermaid}"
    );

    // replay re-dissects the segments: the same entries as the index, for a window cut inside the traffic.
    // The window spans the exchanges (connection records come later, stamped when the
    // connections ended or the capture stopped); the records within it are replayed too.
    let all = query_json(store.path(), &["not conn"]);
    let stamps: Vec<String> = all.iter().map(|e| text(&e["timestamp"])).collect();
    let (from, to) = (
        stamps.get(2).cloned().expect("entries"),
        stamps.last().cloned().expect("entries"),
    );
    let window = ["--from".to_string(), from, "--to".to_string(), to];
    for filter in ["", "http or redis"] {
        let indexed = query_json(
            store.path(),
            &[&window[0], &window[1], &window[2], &window[3], filter],
        );
        let replayed = run_ok(
            shark()
                .args([
                    "replay",
                    "--store",
                    dir,
                    "--speed",
                    "max",
                    "-o",
                    "json",
                    "--identities",
                ])
                .arg(&identities)
                .args(&window)
                .arg(filter),
        )
        .stdout;
        let replayed: Vec<serde_json::Value> = replayed
            .lines()
            .map(|l| serde_json::from_str(l).expect("NDJSON"))
            .collect();
        assert!(
            indexed.len() >= 5,
            "the window holds traffic: {}",
            indexed.len()
        );
        assert_eq!(
            replayed.iter().map(key).collect::<Vec<_>>(),
            indexed.iter().map(key).collect::<Vec<_>>(),
            "filter {filter:?}"
        );
    }

    // --speed 10 keeps the original spacing, ten times faster: never sooner than span / 10.
    let span = seconds_of_day(&window[3]) - seconds_of_day(&window[1]);
    let started = Instant::now();
    run_ok(
        shark()
            .args(["replay", "--store", dir, "--speed", "10", "-o", "json"])
            .args(&window),
    );
    let took = started.elapsed().as_secs_f64();
    assert!(
        span > 1.0 && took >= span / 10.0,
        "replayed {span:.2} s of traffic in {took:.2} s at --speed 10"
    );
}

/// Seconds since midnight of an RFC 3339 UTC timestamp (`…THH:MM:SS.fffffffffZ`).
fn seconds_of_day(stamp: &str) -> f64 {
    let clock = stamp
        .split_once('T')
        .map(|(_, t)| t.trim_end_matches('Z'))
        .unwrap_or_default();
    clock.split(':').fold(0.0, |acc, part| {
        acc * 60.0 + part.parse::<f64>().unwrap_or(f64::NAN)
    })
}

/// What replay and query must agree on: time, endpoints, protocol, request, response, packets.
fn key(e: &serde_json::Value) -> String {
    format!(
        "{} {} {} {} {} {} {} {}",
        text(&e["timestamp"]),
        text(&e["src"]["name"]),
        text(&e["dst"]["name"]),
        text(&e["protocol"]["name"]),
        e["request"],
        e["response"],
        text(&e["packets"]["first"]),
        text(&e["packets"]["last"]),
    )
}

#[test]
fn two_agents_maps_merge_into_the_http_exchanges_tshark_counts() {
    let (a, b) = (
        tempfile::tempdir().expect("temp dir"),
        tempfile::tempdir().expect("temp dir"),
    );
    let captures_a = ["deepflow/http__sw8.pcap"];
    let captures_b = ["deepflow/http.pcap", "deepflow/http__httpv1.pcap"];
    captures_a
        .iter()
        .for_each(|c| drop(import(a.path(), &fixture(c), "node-a")));
    captures_b
        .iter()
        .for_each(|c| drop(import(b.path(), &fixture(c), "node-b")));
    // tshark: HTTP requests per (client IP, server IP) over every capture.
    let mut want: BTreeMap<(String, String, String), (u64, u64)> = BTreeMap::new();
    for capture in captures_a.iter().chain(&captures_b) {
        let path = fixture(capture);
        for row in tshark(&[
            "-r",
            path.to_str().expect("utf-8"),
            "-Y",
            "http.request",
            "-T",
            "fields",
            "-e",
            "ip.src",
            "-e",
            "ip.dst",
        ]) {
            let (src, dst) = (
                row.first().cloned().unwrap_or_default(),
                row.get(1).cloned().unwrap_or_default(),
            );
            want.entry((src, dst, "http".to_string()))
                .or_insert((0, 0))
                .0 += 1;
        }
        for row in tshark(&[
            "-r",
            path.to_str().expect("utf-8"),
            "-Y",
            "http.response.code >= 500",
            "-T",
            "fields",
            "-e",
            "ip.dst",
            "-e",
            "ip.src",
        ]) {
            let (src, dst) = (
                row.first().cloned().unwrap_or_default(),
                row.get(1).cloned().unwrap_or_default(),
            );
            want.entry((src, dst, "http".to_string()))
                .or_insert((0, 0))
                .1 += 1;
        }
    }
    assert!(!want.is_empty(), "the captures hold HTTP requests");
    let agent_a = AgentProcess::start(a.path(), "node-a", &["--no-capture"]);
    let agent_b = AgentProcess::start(b.path(), "node-b", &["--no-capture"]);
    let agents = format!("{},{}", agent_a.url, agent_b.url);
    let merged = edges(&map_json(&[
        "--agents", &agents, "--token", TOKEN, "--by", "pod", "http",
    ]));
    assert_eq!(merged, want);
    // Latency sketches merge exactly: the merged map equals the map of one store holding both nodes.
    let both = tempfile::tempdir().expect("temp dir");
    captures_a
        .iter()
        .for_each(|c| drop(import(both.path(), &fixture(c), "node-a")));
    captures_b
        .iter()
        .for_each(|c| drop(import(both.path(), &fixture(c), "node-b")));
    let one_store = map_json(&[
        "--store",
        both.path().to_str().expect("utf-8"),
        "--by",
        "pod",
        "http",
    ]);
    let merged_json = map_json(&["--agents", &agents, "--token", TOKEN, "--by", "pod", "http"]);
    assert_eq!(merged_json, one_store);
    // A node that does not answer is named on stderr; the others' edges still come.
    let with_dead = format!("{agents},http://127.0.0.1:9");
    let r = run_ok(shark().args([
        "map", "-o", "json", "--agents", &with_dead, "--token", TOKEN, "--by", "pod", "http",
    ]));
    assert!(
        r.stderr.contains("node http://127.0.0.1:9 unreachable"),
        "{}",
        r.stderr
    );
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&r.stdout).ok(),
        Some(one_store)
    );
}

#[test]
fn bad_map_and_replay_flags_get_one_clear_sentence() {
    let store = tempfile::tempdir().expect("temp dir");
    import(store.path(), &fixture("deepflow/http.pcap"), "node-a");
    let dir = store.path().to_str().expect("utf-8");
    let r = crate::util::run(shark().args(["replay", "--store", dir, "--speed", "fast"]));
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("--speed fast is not a speed"),
        "{}",
        r.stderr
    );
    let r = crate::util::run(shark().args(["map", "--store", dir, "--watch", "-o", "dot"]));
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("--watch redraws the table"),
        "{}",
        r.stderr
    );
    let r = crate::util::run(shark().args(["map", "--store", dir, "--by", "team"]));
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("pod, workload, service, namespace, node"),
        "{}",
        r.stderr
    );
}

#[test]
fn map_watch_redraws_the_table_until_stopped() {
    let store = tempfile::tempdir().expect("temp dir");
    import(store.path(), &fixture("deepflow/http.pcap"), "node-a");
    let once = run_ok(shark().arg("map").arg("--store").arg(store.path())).stdout;
    let mut watch = Running::start(
        shark()
            .arg("map")
            .arg("--store")
            .arg(store.path())
            .args(["--watch", "--interval", "1s"])
            .stdout(Stdio::piped()),
    );
    let lines = lines_of(&mut watch);
    std::thread::sleep(Duration::from_millis(2_500));
    drop(watch);
    let shown: Vec<String> = lines.try_iter().collect();
    let redraws = shown
        .iter()
        .filter(|l| l.starts_with("kubectl-shark map --by workload"))
        .count();
    assert!(redraws >= 2, "redrawn every second: {shown:#?}");
    // Not a terminal: no screen clearing, and each redraw holds the same table `map` prints once.
    assert!(shown.iter().all(|l| !l.contains('\x1b')), "{shown:#?}");
    let first_table: Vec<&str> = shown
        .iter()
        .skip(2)
        .take(once.lines().count())
        .map(String::as_str)
        .collect();
    assert_eq!(first_table, once.lines().collect::<Vec<_>>());
}

#[test]
fn follow_shows_once_each_exchange_indexed_minutes_after_it_started() {
    let store = tempfile::tempdir().expect("temp dir");
    // Stored before following starts: not shown.
    import(store.path(), &fixture("deepflow/http.pcap"), "node-a");
    let agent = AgentProcess::start(store.path(), "node-a", &["--no-capture"]);
    let local = Running::start(
        shark()
            .args(["query", "--follow", "-o", "json", "--store"])
            .arg(store.path())
            .arg("http")
            .stdout(Stdio::piped()),
    );
    let remote = Running::start(
        shark()
            .args([
                "query", "--follow", "-o", "json", "--agents", &agent.url, "--token", TOKEN, "http",
            ])
            .stdout(Stdio::piped()),
    );
    let mut followers = [local, remote];
    let followed = followers.each_mut().map(lines_of);
    // The followers are live once an exchange stored after they started reaches each: import
    // probes until both have shown one (however long they take to start on a loaded machine).
    let mut live = [false, false];
    let deadline = Instant::now() + Duration::from_secs(60);
    while live != [true, true] {
        assert!(
            Instant::now() < deadline,
            "followers not live after a minute: {live:?}"
        );
        import(store.path(), &fixture("deepflow/http.pcap"), "node-probe");
        std::thread::sleep(Duration::from_secs(1));
        for (lines, live) in followed.iter().zip(&mut live) {
            for line in lines.try_iter() {
                let probe: serde_json::Value =
                    serde_json::from_str(&line).expect("follow prints NDJSON");
                assert_eq!(
                    text(&probe["node"]["name"]),
                    "node-probe",
                    "only probes were stored since"
                );
                *live = true;
            }
        }
    }

    // Three requests that started five minutes ago, indexed only now (as a writer that flushed
    // late, or exchanges answered minutes after they started, would be).
    let shifted = shifted_to_seconds_ago(&fixture("deepflow/http__sw8.pcap"), store.path(), 300.0);
    let requests = request_times_and_uris(&shifted);
    assert_eq!(requests.len(), 3, "{requests:?}");
    import(store.path(), &shifted, "node-b");

    for (lines, how) in followed.iter().zip(["local", "through the agent"]) {
        let mut seen: Vec<serde_json::Value> = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while seen.len() < requests.len() && Instant::now() < deadline {
            if let Ok(line) = lines.recv_timeout(Duration::from_millis(200)) {
                let entry: serde_json::Value =
                    serde_json::from_str(&line).expect("follow prints NDJSON");
                if text(&entry["node"]["name"]) != "node-probe" {
                    seen.push(entry);
                }
            }
        }
        // A duplicate would come within a few polls.
        std::thread::sleep(Duration::from_secs(2));
        seen.extend(
            lines
                .try_iter()
                .map(|l| {
                    serde_json::from_str::<serde_json::Value>(&l).expect("follow prints NDJSON")
                })
                .filter(|e| text(&e["node"]["name"]) != "node-probe"),
        );
        let shown: Vec<(String, String)> = seen
            .iter()
            .map(|e| (text(&e["node"]["name"]), text(&e["request"]["path"])))
            .collect();
        let want: Vec<(String, String)> = requests
            .iter()
            .map(|r| ("node-b".to_string(), r.get(1).cloned().unwrap_or_default()))
            .collect();
        assert_eq!(
            shown, want,
            "{how}: each request once, none of those stored before"
        );
        // They carry their own time, five minutes before they were shown.
        for (entry, request) in seen.iter().zip(&requests) {
            let started: f64 = request.first().and_then(|t| t.parse().ok()).expect("epoch");
            let shown_at = seconds_of_day(&text(&entry["timestamp"]));
            assert!(
                (shown_at - started.rem_euclid(86_400.0)).abs() < 1e-3,
                "{how}: {} is when the request started ({started})",
                text(&entry["timestamp"])
            );
        }
    }
    drop(followers);
}

#[test]
fn replay_of_a_late_window_reads_from_its_flows_not_from_the_first_segment() {
    let store = tempfile::tempdir().expect("temp dir");
    // The same three requests twice, twenty minutes apart: two segments (they rotate every 60 s).
    let capture = fixture("deepflow/http__sw8.pcap");
    let later = store.path().join("twenty-minutes-later.pcap");
    run_ok(
        Command::new("editcap")
            .args(["-F", "pcap", "-t", "1200"])
            .arg(&capture)
            .arg(&later),
    );
    let both = store.path().join("both.pcap");
    run_ok(
        Command::new("mergecap")
            .args(["-F", "pcap", "-w"])
            .arg(&both)
            .arg(&capture)
            .arg(&later),
    );
    import(store.path(), &both, "node-a");
    let requests = request_times_and_uris(&later);
    let first_packet = first_packet_epoch(&later);
    // The window holds the later copy only; the earlier segment is gone from disk, so reading it
    // would be a warning on stderr.
    let window = [
        "--from".to_string(),
        format!("@{}", first_packet.floor() as i64),
        "--to".to_string(),
        format!("@{}", first_packet.floor() as i64 + 60),
    ];
    let dir = store.path().to_str().expect("utf-8");
    let indexed = query_json(
        store.path(),
        &[&window[0], &window[1], &window[2], &window[3]],
    );
    let mut segments: Vec<PathBuf> = std::fs::read_dir(store.path().join("node-a/segments"))
        .expect("segments")
        .map(|e| e.expect("entry").path())
        .collect();
    segments.sort();
    assert_eq!(segments.len(), 2, "{segments:?}");
    std::fs::remove_file(&segments[0]).expect("remove the earlier segment");
    let replayed = run_ok(
        shark()
            .args(["replay", "--store", dir, "--speed", "max", "-o", "json"])
            .args(&window),
    );
    assert!(
        !replayed.stderr.contains("skipping segment"),
        "{}",
        replayed.stderr
    );
    let replayed: Vec<serde_json::Value> = replayed
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("NDJSON"))
        .collect();
    let paths: Vec<String> = replayed
        .iter()
        .filter(|e| text(&e["protocol"]["name"]) == "http")
        .map(|e| text(&e["request"]["path"]))
        .collect();
    let want: Vec<String> = requests
        .iter()
        .map(|r| r.get(1).cloned().unwrap_or_default())
        .collect();
    assert_eq!(paths, want);
    assert_eq!(
        replayed.iter().map(key).collect::<Vec<_>>(),
        indexed.iter().map(key).collect::<Vec<_>>()
    );
}

/// Each HTTP request of a capture as tshark reads it: its time (epoch seconds) and URI.
fn request_times_and_uris(capture: &std::path::Path) -> Vec<Vec<String>> {
    let path = capture.to_str().expect("utf-8");
    tshark(&[
        "-r",
        path,
        "-Y",
        "http.request",
        "-T",
        "fields",
        "-e",
        "frame.time_epoch",
        "-e",
        "http.request.uri",
    ])
}
