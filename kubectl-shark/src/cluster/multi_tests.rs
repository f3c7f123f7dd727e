//! Several clusters at once, in process: two fake API servers, each fronting a real agent (its
//! router) over its own store. Both stores hold the same capture with the same pod IPs, named
//! differently in each cluster (cluster `west` calls every pod `b-…`), and `west`'s packets come
//! 1 ms later, so the clusters' entries interleave. `east` does not know nginx's address
//! (10.1.6.92); `west`'s API server lists it as its pod `web/b-nginx-8b7f`.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use serde_json::{Value, json};
use shark_pipeline::identities::{SharedIdentities, load_identities_file};
use shark_pipeline::{FileSource, Ingest, open_store};
use shark_store::{Entry, GroupBy, Query, ServiceMap};

use super::cluster_filter::for_cluster;
use super::fanout::{Source, query_all};
use super::fleet::{Fleet, direct_targets, split_asked};
use super::maps::{map_all, name_peers};
use super::mock_api::{Call, fake_api_with_agents, status};
use super::pcap_merge::export_all;

const TOKEN: &str = "0123456789abcdef0123456789abcdef";
/// The node both clusters' agents run on: node names overlap too.
const NODE: &str = "worker-1";

fn data(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data")
        .join(name)
}

/// A store of the demo capture shifted by `shift_ns`, named with `identities` (YAML).
fn store(dir: &Path, identities: &str, shift_ns: i64) {
    let file = dir.join("identities.yaml");
    std::fs::write(&file, identities).expect("identities written");
    let names = SharedIdentities::new(load_identities_file(&file).expect("identities"));
    let mut ingest = Ingest::open(
        &dir.join("store"),
        NODE,
        shark_store::StoreConfig::default(),
        names,
        shark_pipeline::DEFAULT_INDEX_BODY,
        64 << 10,
    )
    .expect("store opens");
    for packet in FileSource::open(data("demo.pcap")).expect("demo.pcap") {
        let mut packet = packet.expect("packet");
        packet.ts_ns += shift_ns;
        ingest.push_packet(packet.as_packet()).expect("ingested");
    }
    ingest.finish().expect("finished");
}

/// One fake cluster: its API client, the calls its API server got, and its store.
struct FakeCluster {
    client: kube::Client,
    calls: Arc<std::sync::Mutex<Vec<Call>>>,
    dir: tempfile::TempDir,
}

impl FakeCluster {
    /// A cluster whose API server fronts one agent (pod `shark-agent-x` on [`NODE`]) over a store
    /// of the demo capture named by `identities`; `refuse` makes the API server answer 401 to
    /// everything, as with expired credentials.
    fn new(identities: &str, shift_ns: i64, refuse: bool, pods: Value) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        store(dir.path(), identities, shift_ns);
        let state = shark_agent::api::ApiState::new(
            dir.path().join("store"),
            NODE.into(),
            TOKEN.into(),
            Arc::new(AtomicBool::new(false)),
        );
        let router = shark_agent::api::router(state);
        let handler = move |method: &str, path: &str, _: &Value| {
            if refuse {
                return status(401, "Unauthorized", "Unauthorized");
            }
            match (method, path) {
                ("GET", "/api/v1/namespaces/shark/secrets/shark-agent-token") => (
                    200,
                    json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "shark-agent-token"},
                           "data": {"token": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}}),
                ),
                ("GET", "/api/v1/namespaces/shark/pods") => (
                    200,
                    json!({"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": [
                        {"metadata": {"name": "shark-agent-x", "namespace": "shark"},
                         "spec": {"nodeName": NODE, "containers": []},
                         "status": {"conditions": [{"type": "Ready", "status": "True"}]}}]}),
                ),
                ("GET", "/api/v1/pods") => (
                    200,
                    json!({"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": pods}),
                ),
                _ => status(404, "NotFound", "not found"),
            }
        };
        let (client, calls) = fake_api_with_agents(handler, vec![("shark-agent-x".into(), router)]);
        FakeCluster { client, calls, dir }
    }

    /// Every entry of its store, in time order.
    fn entries(&self) -> Vec<Entry> {
        let store = open_store(&self.dir.path().join("store")).expect("store");
        store
            .query(&Query::default())
            .expect("query")
            .map(|e| e.expect("entry"))
            .collect()
    }

    /// Its store's map.
    fn map(&self, by: GroupBy) -> ServiceMap {
        let store = open_store(&self.dir.path().join("store")).expect("store");
        store.map(&Query::default(), by).expect("map")
    }

    /// How many requests went through its pod proxy (to its agent).
    fn proxied(&self) -> usize {
        let calls = self.calls.lock().expect("calls");
        calls.iter().filter(|c| c.uri.contains("/proxy/")).count()
    }
}

/// The address `east` cannot name and `west` knows.
const NGINX: &str = "10.1.6.92";

/// The demo's identities as cluster `east` has them (without nginx), and as `west` names the
/// same IPs.
fn identities() -> (String, String) {
    let all = std::fs::read_to_string(data("demo-identities.yaml")).expect("identities");
    let west = all.replace("name: ", "name: b-");
    let east = all
        .lines()
        .filter(|l| !l.contains(NGINX))
        .collect::<Vec<_>>()
        .join("\n");
    (east, west)
}

/// `east`'s checkout pod as its API server lists it: west has a pod at the same address, which
/// west's agents name themselves.
fn east_pods() -> Value {
    json!([{"metadata": {"name": "checkout-7d9f", "namespace": "shop"},
            "spec": {"nodeName": NODE, "containers": []},
            "status": {"podIP": "10.100.19.214", "podIPs": [{"ip": "10.100.19.214"}]}}])
}

/// `west`'s nginx pod as its API server lists it.
fn west_pods() -> Value {
    json!([{"metadata": {"name": "b-nginx-8b7f", "namespace": "web"},
            "spec": {"nodeName": NODE, "containers": []},
            "status": {"podIP": NGINX, "podIPs": [{"ip": NGINX}]}}])
}

/// `east` and `west` (west 1 ms later), and the fleet that found both.
async fn two_clusters(west_refuses: bool) -> (FakeCluster, FakeCluster, Fleet) {
    let (east_names, west_names) = identities();
    let east = FakeCluster::new(&east_names, 0, false, east_pods());
    let west = FakeCluster::new(&west_names, 1_000_000, west_refuses, west_pods());
    let fleet = Fleet::discover(
        vec![
            ("east".into(), Ok(east.client.clone())),
            ("west".into(), Ok(west.client.clone())),
        ],
        "shark",
        Duration::from_secs(10),
    )
    .await;
    (east, west, fleet)
}

/// Asks every cluster of `fleet` for `kfl`; the entries with their cluster, and the failures.
async fn query(fleet: &Fleet, kfl: &str) -> (Vec<(String, Entry)>, super::failures::Failures) {
    let sources: Vec<Source> = fleet
        .members
        .iter()
        .map(|member| Source {
            member,
            request: json!({"kfl": for_cluster(kfl, &member.name)}),
        })
        .collect();
    let mut got = Vec::new();
    let failed = query_all(&sources, None, |source, entry| {
        got.push((sources[source].member.name.clone(), entry));
        Ok(())
    })
    .await
    .expect("merged");
    (got, fleet.failures(failed))
}

fn names(entry: &Entry) -> [&str; 2] {
    [entry.src.name.as_str(), entry.dst.name.as_str()]
}

#[tokio::test]
async fn a_query_over_two_clusters_gives_each_clusters_entries_once_in_time_order_with_its_names() {
    let (east, west, fleet) = two_clusters(false).await;
    assert_eq!(fleet.members.len(), 2, "both clusters found");
    let (got, failures) = query(&fleet, "").await;
    assert!(failures.footers().is_empty(), "{:?}", failures.footers());
    let times: Vec<i64> = got.iter().map(|(_, e)| e.timestamp).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "in time order");
    for (name, cluster) in [("east", &east), ("west", &west)] {
        let mut ids: Vec<(u64, i64)> = got
            .iter()
            .filter(|(c, _)| c == name)
            .map(|(_, e)| (e.id, e.timestamp))
            .collect();
        ids.sort_unstable();
        let mut expected: Vec<(u64, i64)> = cluster
            .entries()
            .iter()
            .map(|e| (e.id, e.timestamp))
            .collect();
        expected.sort_unstable();
        assert!(!expected.is_empty());
        assert_eq!(ids, expected, "{name}'s entries, each once");
    }
    // The same pod IPs, named by each cluster's own identities only.
    let pod = "10.100.19.214";
    let named = |cluster: &str| {
        got.iter()
            .filter(|(c, _)| c == cluster)
            .flat_map(|(_, e)| [&e.src, &e.dst])
            .find(|ep| ep.ip == pod)
            .map(|ep| ep.name.clone())
    };
    assert_eq!(named("east").as_deref(), Some("checkout-7d9f"));
    assert_eq!(named("west").as_deref(), Some("b-checkout-7d9f"));
    assert!(
        got.iter()
            .filter(|(c, _)| c == "east")
            .all(|(_, e)| names(e).iter().all(|n| !n.starts_with("b-")))
    );
}

#[tokio::test]
async fn a_filter_on_cluster_asks_only_that_cluster_and_each_cluster_answers_it_by_its_name() {
    let (east, west, _) = two_clusters(false).await;
    let kfl = r#"cluster == "west" and http"#;
    let filter = kfl::compile(kfl, &shark_store::entry_schema()).expect("compiles");
    let targets =
        direct_targets(&["east=http://e:1".into(), "west=http://w:1".into()]).expect("targets");
    let (asked, skipped) = split_asked(targets, Some(&filter));
    assert_eq!(
        asked.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        ["west"]
    );
    assert_eq!(
        skipped.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        ["east"]
    );
    // Asked anyway, east's agent answers nothing to it and west's its HTTP entries.
    let fleet = Fleet::discover(
        vec![
            ("east".into(), Ok(east.client.clone())),
            ("west".into(), Ok(west.client.clone())),
        ],
        "shark",
        Duration::from_secs(10),
    )
    .await;
    let (got, _) = query(&fleet, kfl).await;
    let http = west
        .entries()
        .iter()
        .filter(|e| e.protocol.name == "http")
        .count();
    assert!(http > 0);
    assert_eq!(got.len(), http);
    assert!(got.iter().all(|(c, _)| c == "west"));
    assert!(east.proxied() > 0 && west.proxied() > 0);
}

#[tokio::test]
async fn a_cluster_refusing_the_credentials_is_named_with_its_reason_and_the_other_answers() {
    let (east, west, fleet) = two_clusters(true).await;
    assert_eq!(fleet.members.len(), 1);
    assert_eq!(fleet.down.len(), 1);
    assert_eq!(fleet.down[0].cluster, "west");
    assert!(
        fleet.down[0].reason.contains("Unauthorized"),
        "{:?}",
        fleet.down
    );
    let (got, failures) = query(&fleet, "").await;
    assert_eq!(got.len(), east.entries().len());
    assert_eq!(west.proxied(), 0);
    let footers = failures.footers();
    assert_eq!(footers.len(), 1);
    assert!(
        footers[0].starts_with("cluster west unreachable: "),
        "{footers:?}"
    );
    let partial = failures.outcome().expect_err("partial");
    assert!(
        partial.downcast_ref::<super::failures::Partial>().is_some(),
        "{partial}"
    );
}

#[tokio::test]
async fn maps_by_cluster_and_by_workload_across_clusters_are_exact() {
    let (east, west, fleet) = two_clusters(false).await;
    let directory = fleet.directory().await;
    for by in [GroupBy::Workload, GroupBy::Cluster] {
        let (map, failed) = map_all(&fleet, "", &Query::default(), by).await;
        assert!(failed.is_empty());
        let mut expected = ServiceMap::new(by);
        for (name, cluster) in [("east", &east), ("west", &west)] {
            let mut one = cluster.map(by);
            name_peers(&mut one, name, true);
            directory.name_peers(name, &mut one);
            expected.merge(&one);
        }
        assert_eq!(map, expected, "by {by}");
        // Every exchange is a request, and so is the record of a connection nothing was
        // dissected on (a dissected connection's record brings its bytes alone).
        let requests = |c: &FakeCluster| {
            let entries = c.entries();
            entries
                .iter()
                .filter(|e| !e.response.contains_key("l7"))
                .count()
        };
        let total: u64 = map.edges.iter().map(|e| e.requests).sum();
        assert_eq!(total as usize, requests(&east) + requests(&west));
    }
    // By workload: the same workload in two clusters is two peers, each named in its cluster.
    let (map, _) = map_all(&fleet, "", &Query::default(), GroupBy::Workload).await;
    let checkout: Vec<String> = map
        .peers()
        .iter()
        .filter(|p| p.peer.name == "checkout")
        .map(|p| p.peer.to_string())
        .collect();
    assert_eq!(checkout, ["east:shop/checkout", "west:shop/checkout"]);
    // By cluster: every peer a cluster knows is its one box.
    let (map, _) = map_all(&fleet, "", &Query::default(), GroupBy::Cluster).await;
    let boxes: Vec<String> = map
        .peers()
        .iter()
        .filter(|p| p.peer.kind == "Cluster")
        .map(|p| p.peer.to_string())
        .collect();
    assert_eq!(boxes, ["east", "west"]);
    // East's traffic to nginx's address goes to the cluster that has it.
    assert!(
        map.edges
            .iter()
            .any(|e| e.src.to_string() == "east" && e.dst.to_string() == "west"),
        "{:?}",
        map.edges
    );
}

#[tokio::test]
async fn a_peer_one_cluster_cannot_name_is_named_as_the_other_cluster_has_it_and_names_never_cross()
{
    let (_east, _west, fleet) = two_clusters(false).await;
    let directory = fleet.directory().await;
    let (got, _) = query(&fleet, "").await;
    let mut named_by_west = 0;
    for (cluster, mut entry) in got {
        let before = entry.clone();
        let named = directory.name_entry(&cluster, &mut entry);
        for (side, (was, now)) in named
            .iter()
            .zip([(&before.src, &entry.src), (&before.dst, &entry.dst)])
        {
            match side {
                Some(other) => {
                    assert_eq!((cluster.as_str(), other.as_str()), ("east", "west"));
                    assert_eq!((was.ip.as_str(), was.name.as_str()), (NGINX, ""));
                    assert_eq!(
                        (now.namespace.as_str(), now.name.as_str(), now.kind.as_str()),
                        ("web", "b-nginx-8b7f", "Pod")
                    );
                    named_by_west += 1;
                }
                // A side its own cluster named, or no other cluster knows, stays as it was.
                None => assert_eq!(was, now),
            }
        }
    }
    assert!(
        named_by_west > 0,
        "east's traffic to nginx is named by west"
    );
}

#[tokio::test]
async fn an_export_across_clusters_is_one_pcapng_naming_each_packets_cluster_and_node() {
    let (east, west, fleet) = two_clusters(false).await;
    let sources: Vec<Source> = fleet
        .members
        .iter()
        .map(|member| Source {
            member,
            request: json!({"kfl": ""}),
        })
        .collect();
    let out = tempfile::NamedTempFile::new().expect("temp file");
    let mut file = std::fs::File::create(out.path()).expect("file");
    let (packets, failed) = export_all(&sources, &mut file, true)
        .await
        .expect("exported");
    assert!(failed.is_empty());
    drop(file);
    let mut each = 0;
    for cluster in [&east, &west] {
        let mut one = Vec::new();
        open_store(&cluster.dir.path().join("store"))
            .expect("store")
            .export(&Query::default(), false, &mut one)
            .expect("export");
        let mut reader = pcap_file::pcap::PcapReader::new(one.as_slice()).expect("pcap");
        each = 0;
        while let Some(packet) = reader.next_packet() {
            packet.expect("packet");
            each += 1;
        }
    }
    assert_eq!(packets as usize, 2 * each);
    let tshark = std::process::Command::new("tshark")
        .args(["-r"])
        .arg(out.path())
        .args([
            "-T",
            "fields",
            "-e",
            "frame.interface_name",
            "-e",
            "frame.time_epoch",
        ])
        .output()
        .expect("tshark runs");
    assert!(
        tshark.status.success(),
        "{}",
        String::from_utf8_lossy(&tshark.stderr)
    );
    let text = String::from_utf8_lossy(&tshark.stdout);
    let rows: Vec<(&str, f64)> = text
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(i, t)| (i, t.parse().expect("epoch")))
        .collect();
    assert_eq!(rows.len(), packets as usize, "tshark reads every packet");
    assert!(
        rows.windows(2).all(|w| w[0].1 <= w[1].1),
        "merged in time order"
    );
    for interface in ["east/worker-1", "west/worker-1"] {
        assert_eq!(
            rows.iter().filter(|(i, _)| *i == interface).count(),
            each,
            "{interface}"
        );
    }
}
