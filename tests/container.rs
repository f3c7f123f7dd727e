//! The agent as it ships: its image (built by `capture-agent/image.sh`) run with podman exactly as
//! the DaemonSet that `capture --dry-run -o yaml` prints says (args, capabilities, read-only root,
//! host network, the hostPath store, the token Secret as a file, env, resources, exec probes), in
//! the cluster of network namespaces, with a stand-in API server for its Kubernetes watchers.
//! It must name the same requests with the same identities as the in-process capture does.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_yaml::Value;

use crate::cluster_e2e::{EXPECTED, matches};
use crate::util::{Cluster, Running, agent_tls, binary, run, run_ok, summary, text, workspace};

/// The image `image.sh` builds for this version.
pub const IMAGE: &str = concat!("localhost/shark-agent:", env!("CARGO_PKG_VERSION"));
/// The node the container's pod runs on (what `spec.nodeName` gives it).
const NODE: &str = "node-1";
/// Where the stand-in API server listens, in the node's network namespace.
const KUBE_API: (&str, u16) = ("127.0.0.1", 6443);

/// podman as `image.sh` configures it (runc, cgroupfs, the image's own storage).
pub fn podman() -> Command {
    let mut cmd = Command::new("bash");
    cmd.arg(workspace().join("capture-agent/image.sh"))
        .arg("podman");
    cmd
}

/// Loads the OCI archive `image.sh` wrote, so the test runs what would be pushed.
pub fn load_image() {
    let archive = workspace().join(format!(
        "target/image/shark-agent-{}.oci.tar",
        env!("CARGO_PKG_VERSION")
    ));
    assert!(
        archive.is_file(),
        "{} is missing: run `bash capture-agent/image.sh` first (tests/run-tests.sh does)",
        archive.display()
    );
    let loaded = run_ok(podman().arg("load").arg("-i").arg(&archive)).stdout;
    assert!(loaded.contains(IMAGE), "{loaded}");
}

/// The agents' pod spec from `capture --dry-run -o yaml --image IMAGE`.
fn daemon_set_pod_spec() -> Value {
    let yaml = run_ok(Command::new(binary("kubectl-shark")).args([
        "capture",
        "--dry-run",
        "-o",
        "yaml",
        "--image",
        IMAGE,
    ]))
    .stdout;
    let daemon_set = serde_yaml::Deserializer::from_str(&yaml)
        .map(|doc| Value::deserialize(doc).expect("each document is YAML"))
        .find(|doc| doc["kind"] == "DaemonSet")
        .expect("a DaemonSet in the dry run");
    daemon_set["spec"]["template"]["spec"].clone()
}

fn string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => String::new(),
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_sequence().into_iter().flatten().map(string).collect()
}

/// What the node and the API server give the pod: where its volumes' files are.
struct Node {
    /// `/run/netns/NAME` of the node's network namespace (the pod's host network).
    netns: PathBuf,
    /// hostPath volumes are made below this directory.
    host_root: PathBuf,
    /// The Secret's files are written here.
    secret_dir: PathBuf,
    /// The agents' API token (the Secret's `token`).
    token: String,
    /// The service account's files (token, ca.crt, namespace), as the kubelet mounts them.
    service_account: PathBuf,
}

/// A Kubernetes quantity as podman writes it: `1Gi` → `1g`, `256Mi` → `256m`.
fn memory(quantity: &str) -> String {
    quantity
        .strip_suffix('i')
        .unwrap_or(quantity)
        .to_lowercase()
}

/// CPUs of a Kubernetes quantity: `1` → 1, `100m` → 0.1.
fn cpus(quantity: &str) -> f64 {
    match quantity.strip_suffix('m') {
        Some(milli) => milli.parse::<f64>().expect("millicores") / 1000.0,
        None => quantity.parse().expect("cores"),
    }
}

/// The `podman run` arguments for the pod spec's one container, as a kubelet would run it on
/// `node`. Every field of the spec is translated or named here as one podman cannot apply; a
/// field this does not know fails the test, so a change to the DaemonSet is looked at here.
fn podman_run_args(pod: &Value, node: &Node, name: &str, drop_caps: &[&str]) -> Vec<String> {
    let containers = pod["containers"].as_sequence().expect("containers");
    assert_eq!(containers.len(), 1, "one container");
    let c = &containers[0];
    let mut args: Vec<String> = vec!["run".into(), "-d".into(), "--name".into(), name.into()];
    for (key, value) in pod.as_mapping().expect("pod spec") {
        match key.as_str().expect("key") {
            "hostNetwork" => {
                assert_eq!(value.as_bool(), Some(true));
                args.push(format!("--network=ns:{}", node.netns.display()));
            }
            // No cluster DNS here; the agent resolves nothing by name.
            "dnsPolicy" => assert_eq!(string(value), "ClusterFirstWithHostNet"),
            // Scheduling: the pod is on this node.
            "nodeSelector" | "tolerations" => {}
            // Used by `podman stop -t` below.
            "terminationGracePeriodSeconds" => {}
            "serviceAccountName" => {
                // The kubelet mounts the service account's token and CA and says where the API is.
                args.push(format!(
                    "--volume={}:/var/run/secrets/kubernetes.io/serviceaccount:ro",
                    node.service_account.display()
                ));
                args.push(format!("--env=KUBERNETES_SERVICE_HOST={}", KUBE_API.0));
                args.push(format!("--env=KUBERNETES_SERVICE_PORT={}", KUBE_API.1));
            }
            "containers" | "volumes" => {}
            other => {
                panic!("the pod spec's `{other}` is not run by this test: translate it to podman")
            }
        }
    }
    let volumes = pod["volumes"].as_sequence().expect("volumes");
    for mount in c["volumeMounts"].as_sequence().expect("volume mounts") {
        let volume = volumes
            .iter()
            .find(|v| v["name"] == mount["name"])
            .expect("the mount's volume");
        let target = string(&mount["mountPath"]);
        let read_only = if mount["readOnly"].as_bool() == Some(true) {
            ":ro"
        } else {
            ""
        };
        let source = if let Some(host_path) = volume["hostPath"].as_mapping() {
            let path = node
                .host_root
                .join(string(&host_path[&Value::from("path")]).trim_start_matches('/'));
            std::fs::create_dir_all(&path).expect("hostPath directory (DirectoryOrCreate)");
            path
        } else if volume["secret"].is_mapping() {
            let mode = volume["secret"]["defaultMode"]
                .as_u64()
                .expect("defaultMode");
            // Every key of the Secret `capture` makes: the token, the agents' certificate, its CA.
            let tls = agent_tls();
            let keys = [
                ("token", node.token.clone()),
                ("ca.crt", std::fs::read_to_string(&tls.ca).expect("CA")),
                (
                    "tls.crt",
                    std::fs::read_to_string(&tls.cert).expect("certificate"),
                ),
                ("tls.key", std::fs::read_to_string(&tls.key).expect("key")),
            ];
            for (key, value) in keys {
                let file = node.secret_dir.join(key);
                std::fs::write(&file, value).expect("write the Secret's file");
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(
                    &file,
                    std::fs::Permissions::from_mode(u32::try_from(mode).expect("mode")),
                )
                .expect("chmod");
            }
            node.secret_dir.clone()
        } else {
            panic!("volume {volume:?} is not run by this test")
        };
        args.push(format!("--volume={}:{target}{read_only}", source.display()));
    }
    for env in c["env"].as_sequence().into_iter().flatten() {
        let value = match string(&env["valueFrom"]["fieldRef"]["fieldPath"]).as_str() {
            "spec.nodeName" => NODE.to_string(),
            // The node's address: this node namespace has none but loopback, where the test asks.
            "status.hostIP" => "127.0.0.1".to_string(),
            "" => string(&env["value"]),
            other => panic!("env from {other} is not run by this test"),
        };
        args.push(format!("--env={}={value}", string(&env["name"])));
    }
    let sc = &c["securityContext"];
    assert_eq!(sc["privileged"].as_bool(), Some(false));
    if sc["allowPrivilegeEscalation"].as_bool() == Some(false) {
        args.push("--security-opt=no-new-privileges".into());
    }
    if sc["readOnlyRootFilesystem"].as_bool() == Some(true) {
        args.push("--read-only".into());
    }
    for cap in strings(&sc["capabilities"]["drop"])
        .into_iter()
        .chain(drop_caps.iter().map(|c| c.to_string()))
    {
        args.push(format!("--cap-drop={cap}"));
    }
    for cap in strings(&sc["capabilities"]["add"])
        .into_iter()
        .filter(|c| !drop_caps.contains(&c.as_str()))
    {
        args.push(format!("--cap-add={cap}"));
    }
    let resources = &c["resources"];
    args.push(format!(
        "--memory={}",
        memory(&string(&resources["limits"]["memory"]))
    ));
    args.push(format!(
        "--memory-reservation={}",
        memory(&string(&resources["requests"]["memory"]))
    ));
    args.push(format!(
        "--cpus={}",
        cpus(&string(&resources["limits"]["cpu"]))
    ));
    // CPU shares as the kubelet sets them from the request: 1024 per core.
    args.push(format!(
        "--cpu-shares={}",
        (cpus(&string(&resources["requests"]["cpu"])) * 1024.0).round()
    ));
    assert_eq!(string(&c["image"]), IMAGE);
    args.push(IMAGE.into());
    args.extend(strings(&c["args"]));
    args
}

/// A container started by the test, removed when dropped.
struct Container(String);

impl Container {
    /// Starts the container with `args` (from [`podman_run_args`]).
    fn start(args: &[String]) -> Self {
        let name = args[3].clone();
        let _ = run(podman().args(["rm", "-f", &name]));
        let container = Container(name);
        run_ok(podman().args(args));
        container
    }

    /// What the container printed on stderr and stdout so far.
    fn logs(&self) -> String {
        let r = run(podman().args(["logs", &self.0]));
        format!("{}{}", r.stdout, r.stderr)
    }

    /// Runs the probe's exec command in the container; true when it exits 0.
    fn probe(&self, command: &[String]) -> bool {
        run(podman().args(["exec", &self.0]).args(command)).code == 0
    }

    /// Whether the container still runs.
    fn running(&self) -> bool {
        run(podman().args(["inspect", "--format", "{{.State.Running}}", &self.0]))
            .stdout
            .trim()
            == "true"
    }

    /// Stops it as the kubelet does (SIGTERM, then SIGKILL after the grace period); its exit code.
    fn stop(&self, grace_seconds: u64) -> i32 {
        run_ok(podman().args(["stop", "-t", &grace_seconds.to_string(), &self.0]));
        self.exit_code()
    }

    fn exit_code(&self) -> i32 {
        run_ok(podman().args(["inspect", "--format", "{{.State.ExitCode}}", &self.0]))
            .stdout
            .trim()
            .parse()
            .expect("exit code")
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = run(podman().args(["rm", "-f", "-t", "0", &self.0]));
    }
}

/// A CA and a serving certificate for 127.0.0.1 in `dir` (ca.crt, api.crt, api.key), made by openssl.
fn certificates(dir: &Path) {
    let openssl = |args: &[&str]| run_ok(Command::new("openssl").current_dir(dir).args(args));
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=shark-test-ca",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=kube-apiserver",
        "-keyout",
        "api.key",
        "-out",
        "api.csr",
    ]);
    std::fs::write(
        dir.join("san.ext"),
        format!("subjectAltName=IP:{}\n", KUBE_API.0),
    )
    .expect("write");
    openssl(&[
        "x509",
        "-req",
        "-in",
        "api.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        "san.ext",
        "-out",
        "api.crt",
    ]);
}

/// The stand-in API server in the node's namespace, and the service account files that reach it;
/// returns the server and a receiver of its request log.
fn kube_api(
    cluster: &Cluster,
    dir: &Path,
    service_account: &Path,
) -> (Running, std::sync::mpsc::Receiver<String>) {
    certificates(dir);
    let sa_token = "service-account-token-for-the-agent";
    std::fs::create_dir_all(service_account).expect("mkdir");
    std::fs::copy(dir.join("ca.crt"), service_account.join("ca.crt")).expect("copy");
    std::fs::write(service_account.join("token"), sa_token).expect("write");
    std::fs::write(service_account.join("namespace"), "shark").expect("write");
    let mut server = Running::start(
        cluster
            .exec("node", Path::new("python3"))
            .arg(workspace().join("tests/cluster/kube_api.py"))
            .arg(cluster.identities())
            .arg(dir.join("api.crt"))
            .arg(dir.join("api.key"))
            .arg(format!("{}:{}", KUBE_API.0, KUBE_API.1))
            .arg(sa_token)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    let mut stdout = std::io::BufReader::new(server.stdout.take().expect("stdout")).lines();
    let first = stdout.next().and_then(Result::ok).unwrap_or_default();
    assert!(first.starts_with("kube API listening"), "{first}");
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = server.stderr.take().expect("stderr");
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    (server, rx)
}

/// Waits until the API server's log has a line starting with `prefix`; returns every line read.
fn wait_for_request(log: &std::sync::mpsc::Receiver<String>, seen: &mut Vec<String>, prefix: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !seen.iter().any(|l| l.starts_with(prefix)) {
        let left = deadline.saturating_duration_since(Instant::now());
        match log.recv_timeout(left) {
            Ok(line) => seen.push(line),
            Err(_) => panic!(
                "the agent never asked the API server for `{prefix}`; it asked:\n{}",
                seen.join("\n")
            ),
        }
    }
}

/// The probe command of the pod spec's container (liveness and readiness must be the same).
fn probe_command(pod: &Value) -> Vec<String> {
    let c = &pod["containers"][0];
    assert_eq!(
        c["livenessProbe"], c["readinessProbe"],
        "one probe for both"
    );
    strings(&c["livenessProbe"]["exec"]["command"])
}

/// Runs the probe until it passes; panics with the logs if the agent does not come up.
fn wait_until_ready(container: &Container, probe: &[String]) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !container.probe(probe) {
        assert!(
            container.running() && Instant::now() < deadline,
            "the agent never became ready:\n{}",
            container.logs()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// `query -o json` through the agent's API over TLS with the token and the Secret's CA, from the node.
fn query(cluster: &Cluster, token: &str, kfl: &[&str]) -> Vec<serde_json::Value> {
    let url = "https://127.0.0.1:8898";
    let r = run_ok(
        cluster
            .exec("node", &binary("kubectl-shark"))
            .args(["query", "--agents", url, "--token", token, "-o", "json"])
            .arg("--agent-ca")
            .arg(&agent_tls().ca)
            .args(kfl),
    );
    r.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad NDJSON {l:?}: {e}")))
        .collect()
}

/// The pieces a container run needs: the cluster, its node's files and the stand-in API server.
struct Setup {
    cluster: Cluster,
    node: Node,
    _dir: tempfile::TempDir,
    api: Running,
    api_log: std::sync::mpsc::Receiver<String>,
}

fn setup(stem: &str) -> Setup {
    load_image();
    let cluster = Cluster::up(stem);
    let dir = tempfile::tempdir().expect("temp dir");
    let sub = |name: &str| {
        let path = dir.path().join(name);
        std::fs::create_dir_all(&path).expect("mkdir");
        path
    };
    let node = Node {
        netns: PathBuf::from("/run/netns").join(cluster.namespace("node")),
        host_root: sub("host"),
        secret_dir: sub("secret"),
        token: "container-test-token-0123456789".into(),
        service_account: dir.path().join("serviceaccount"),
    };
    let (api, api_log) = kube_api(&cluster, &sub("pki"), &node.service_account);
    Setup {
        cluster,
        node,
        _dir: dir,
        api,
        api_log,
    }
}

#[test]
fn the_image_run_as_the_daemon_set_says_names_every_request_with_only_net_raw() {
    let Setup {
        cluster,
        node,
        api,
        api_log,
        _dir,
    } = setup("ct");
    let pod = daemon_set_pod_spec();
    let name = format!("shark-agent-test-{}", std::process::id());
    let container = Container::start(&podman_run_args(&pod, &node, &name, &[]));
    let probe = probe_command(&pod);
    wait_until_ready(&container, &probe);
    // The watchers list the pods with the service account's token over TLS, then watch.
    let mut asked = Vec::new();
    wait_for_request(&api_log, &mut asked, "GET /api/v1/pods watch=True");
    assert!(
        asked
            .iter()
            .any(|l| l == "GET /api/v1/pods watch=False token=ok"),
        "{asked:?}"
    );
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        container.logs().contains("capturing on any (node node-1)"),
        "{}",
        container.logs()
    );

    run_ok(&mut cluster.script("traffic.sh"));
    let deadline = Instant::now() + Duration::from_secs(30);
    let entries = loop {
        let entries = query(&cluster, &node.token, &[]);
        if EXPECTED
            .iter()
            .all(|want| entries.iter().any(|e| matches(e, want)))
            || Instant::now() > deadline
        {
            break entries;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    for want in EXPECTED {
        assert!(
            entries.iter().any(|e| matches(e, want)),
            "{} {} {} → {} not found among:\n{}",
            want.protocol,
            want.verb,
            want.object,
            want.dst,
            entries.iter().map(summary).collect::<Vec<_>>().join("\n")
        );
    }
    assert!(
        entries.iter().all(|e| text(&e["node"]["name"]) == NODE),
        "the node name comes from spec.nodeName"
    );
    let h2 = query(
        &cluster,
        &node.token,
        &["http2 and request.path == \"/health\""],
    );
    assert_eq!(
        h2.len(),
        1,
        "the h2c request, once: {}",
        h2.iter().map(summary).collect::<Vec<_>>().join("\n")
    );
    let ca = agent_tls().ca.to_str().expect("utf-8").to_string();
    let unauthorized = run_ok(cluster.exec("node", Path::new("curl")).args([
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "--cacert",
        &ca,
        "-H",
        "Authorization: Bearer wrong-token-0123456789",
        "https://127.0.0.1:8898/v1/status",
    ]));
    assert_eq!(unauthorized.stdout, "401", "another token is refused");
    // The API speaks TLS only, and on the node's address only (127.0.0.2 is loopback too).
    let plain = run(cluster.exec("node", Path::new("curl")).args([
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "http://127.0.0.1:8898/v1/status",
    ]));
    assert_eq!(plain.stdout, "000", "no answer in plain HTTP");
    let elsewhere = run(cluster.exec("node", Path::new("curl")).args([
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        // Whatever the certificate: only whether something listens there matters.
        "--insecure",
        "https://127.0.0.2:8898/v1/status",
    ]));
    assert_eq!(
        elsewhere.stdout, "000",
        "nothing listens beside the node's address"
    );

    // Both probes pass while capturing; the store is on the hostPath, not in the read-only image.
    assert!(container.probe(&probe), "{}", container.logs());
    let store = node.host_root.join("var/lib/shark").join(NODE);
    assert!(
        store.join("index.sqlite").is_file(),
        "the store is on the host: {}",
        store.display()
    );
    let grace = pod["terminationGracePeriodSeconds"]
        .as_u64()
        .expect("grace period");
    assert_eq!(
        container.stop(grace),
        0,
        "SIGTERM ends the agent cleanly:\n{}",
        container.logs()
    );
    let logs = container.logs();
    assert!(
        logs.contains("stopped:") && logs.contains(" 0 dropped"),
        "{logs}"
    );
    let segments = std::fs::read_dir(store.join("segments"))
        .expect("segments")
        .count();
    assert!(segments > 0, "the segment was sealed on the host");
    drop(api);
}

#[test]
fn the_container_really_lacks_what_the_daemon_set_drops_without_net_raw_it_cannot_capture() {
    // The run above proves NET_RAW alone is enough only if the container really has no more:
    // take NET_RAW away too and libpcap must be refused.
    let Setup {
        cluster: _cluster,
        node,
        api,
        _dir,
        ..
    } = setup("cn");
    let pod = daemon_set_pod_spec();
    let name = format!("shark-agent-nocap-{}", std::process::id());
    let container = Container::start(&podman_run_args(&pod, &node, &name, &["NET_RAW"]));
    let deadline = Instant::now() + Duration::from_secs(20);
    while container.running() {
        assert!(
            Instant::now() < deadline,
            "the agent kept running without NET_RAW:\n{}",
            container.logs()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(container.exit_code(), 2, "{}", container.logs());
    let logs = container.logs();
    assert!(
        logs.contains("cannot capture on interface `any`")
            && logs.contains("Operation not permitted"),
        "{logs}"
    );
    drop(api);
}
