//! Helpers for the end-to-end tests: the real binaries, fixtures, temporary stores, tshark as oracle.

use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace")
        .to_path_buf()
}

/// A public capture from `tests/fixtures/public/`, e.g. `fixture("deepflow/http.pcap")`.
pub fn fixture(name: &str) -> PathBuf {
    let path = workspace().join("tests/fixtures/public").join(name);
    assert!(
        path.is_file(),
        "fixture {} is missing from tests/fixtures/public",
        path.display()
    );
    path
}

/// The directory the workspace's binaries are built into (`target/debug`), found from this test binary.
fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // target/debug/deps/tests-xxxx → target/debug
    exe.parent()
        .and_then(Path::parent)
        .expect("test binary sits in target/<profile>/deps")
        .to_path_buf()
}

/// Path of one of the workspace's binaries; they must be built (`cargo build --bins`) before the tests.
pub fn binary(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    assert!(
        path.is_file(),
        "{} is not built: run `cargo build --workspace --bins` before the tests",
        path.display()
    );
    path
}

/// A command running the real `kubectl-shark` binary.
pub fn shark() -> Command {
    Command::new(binary("kubectl-shark"))
}

/// The result of running a command, with its output as text.
pub struct Run {
    /// Exit code (-1 when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Runs `cmd` to completion.
pub fn run(cmd: &mut Command) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("command starts");
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// Runs `cmd` and insists that it succeeded.
pub fn run_ok(cmd: &mut Command) -> Run {
    let r = run(cmd);
    assert_eq!(
        r.code, 0,
        "command failed: {cmd:?}\nstdout:\n{}\nstderr:\n{}",
        r.stdout, r.stderr
    );
    r
}

/// Imports `capture` into the store at `store` as node `node`.
pub fn import(store: &Path, capture: &Path, node: &str) -> Run {
    run_ok(
        shark()
            .arg("import")
            .arg(capture)
            .arg("--store")
            .arg(store)
            .args(["--node", node]),
    )
}

/// Runs `query -o json` with `args` and parses each output line.
pub fn query_json(store: &Path, args: &[&str]) -> Vec<serde_json::Value> {
    let r = run_ok(
        shark()
            .arg("query")
            .arg("--store")
            .arg(store)
            .args(["-o", "json"])
            .args(args),
    );
    r.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad NDJSON line {l:?}: {e}")))
        .collect()
}

/// Runs tshark with `args` and returns its stdout lines, split on tabs.
pub fn tshark(args: &[&str]) -> Vec<Vec<String>> {
    let r = run_ok(Command::new("tshark").args(args));
    r.stdout
        .lines()
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

/// How many times each item occurs.
pub fn counted<T: Ord>(items: impl IntoIterator<Item = T>) -> std::collections::BTreeMap<T, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for item in items {
        *counts.entry(item).or_default() += 1;
    }
    counts
}

/// tshark: the TCP payload bytes of every packet of `pcap`, both ways summed.
pub fn tcp_payload_bytes(pcap: &Path) -> u64 {
    let pcap = pcap.to_str().expect("utf-8 path");
    tshark(&[
        "-r",
        pcap,
        "-Y",
        "tcp.len > 0",
        "-T",
        "fields",
        "-e",
        "tcp.len",
    ])
    .iter()
    .filter_map(|row| row.first()?.parse::<u64>().ok())
    .sum()
}

/// The wire bytes `entries` (as `query -o json` prints them) account for: every request's and
/// response's `size`.
pub fn entry_bytes(entries: &[serde_json::Value]) -> u64 {
    entries
        .iter()
        .map(|e| {
            e["request"]["size"].as_u64().unwrap_or(0) + e["response"]["size"].as_u64().unwrap_or(0)
        })
        .sum()
}

/// A JSON value as text for comparisons: strings unquoted, numbers as written, absent as "".
pub fn text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Every file below `dir` with its bytes, to check that a failed command left a store untouched.
pub fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(read) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in read.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push((p.clone(), std::fs::read(&p).unwrap_or_default()));
            }
        }
    }
    files.sort();
    files
}

/// Reads an agent's stderr `lines` until it serves its API and, when `capturing`, captures (so
/// traffic sent from now on is seen); returns the API's URL (`http://ADDR`, `https://` with TLS).
pub fn wait_until_serving(
    lines: &mut impl Iterator<Item = std::io::Result<String>>,
    capturing: bool,
) -> String {
    let mut waiting_for_capture = capturing;
    let mut url = None;
    while url.is_none() || waiting_for_capture {
        match lines.next() {
            Some(Ok(line)) => {
                if let Some(listening) = line.strip_prefix("agent API listening on ") {
                    url = Some(listening.trim().to_string());
                }
                waiting_for_capture &= !line.starts_with("capturing on ");
            }
            other => panic!("shark-agent exited before serving (and capturing): {other:?}"),
        }
    }
    url.unwrap_or_default()
}

/// A running `shark-agent`, stopped (SIGTERM, then waited for, killed if it does not end) when dropped.
pub struct AgentProcess {
    child: std::process::Child,
    /// `http://127.0.0.1:PORT` (`https://` when started with TLS)
    pub url: String,
}

/// The token test agents use.
pub const TOKEN: &str = "test-token-0123456789abcdef";

/// The agents' TLS files as `kubectl shark capture` makes them (taken from a dry run's Secret).
pub struct AgentTls {
    /// The Secret's `ca.crt`: what clients trust.
    pub ca: PathBuf,
    /// `tls.crt`, the agents' certificate.
    pub cert: PathBuf,
    /// `tls.key`, its private key.
    pub key: PathBuf,
}

/// The Secret's `stringData` of `capture --dry-run -o yaml`: a new token and TLS certificate.
pub fn dry_run_secret() -> std::collections::BTreeMap<String, String> {
    let yaml = run_ok(shark().args(["capture", "--dry-run", "-o", "yaml"])).stdout;
    for doc in yaml.split("\n---\n") {
        let doc: serde_yaml::Value = serde_yaml::from_str(doc.trim_start_matches("---\n"))
            .unwrap_or_else(|e| panic!("a YAML document: {e}"));
        if doc["kind"] == "Secret" {
            return serde_yaml::from_value(doc["stringData"].clone()).expect("string data");
        }
    }
    panic!("no Secret in the dry run:\n{yaml}")
}

/// The TLS files of one dry run, made once per test run (in a directory that outlives it).
pub fn agent_tls() -> &'static AgentTls {
    static TLS: std::sync::OnceLock<AgentTls> = std::sync::OnceLock::new();
    TLS.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("shark-agent-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("TLS directory");
        let secret = dry_run_secret();
        let file = |key: &str| {
            let path = dir.join(key);
            std::fs::write(&path, &secret[key]).expect("write a TLS file");
            path
        };
        AgentTls {
            ca: file("ca.crt"),
            cert: file("tls.crt"),
            key: file("tls.key"),
        }
    })
}

impl AgentProcess {
    /// Starts an agent serving `store` as `node` on a free loopback port; `extra` adds flags
    /// (without `--no-capture` in it, give the capture flags yourself).
    pub fn start(store: &Path, node: &str, extra: &[&str]) -> Self {
        Self::start_at(store, node, "127.0.0.1:0", extra)
    }

    /// Like [`start`](Self::start), listening on `listen` (e.g. the address an agent that was
    /// stopped had, as a restarted pod keeps its node's address).
    pub fn start_at(store: &Path, node: &str, listen: &str, extra: &[&str]) -> Self {
        use std::io::BufRead;
        let mut child = Command::new(binary("shark-agent"))
            .arg("--store")
            .arg(store)
            .args(["--node", node, "--listen", listen])
            .args(extra)
            .env("SHARK_TOKEN", TOKEN)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("shark-agent starts");
        let stderr = child.stderr.take().expect("stderr piped");
        let mut lines = std::io::BufReader::new(stderr).lines();
        let url = wait_until_serving(&mut lines, !extra.contains(&"--no-capture"));
        // Keep draining stderr so the agent never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        AgentProcess { child, url }
    }

    /// Like [`start`](Self::start), serving TLS with the certificate [`agent_tls`] holds.
    pub fn start_tls(store: &Path, node: &str, extra: &[&str]) -> Self {
        let tls = agent_tls();
        let (cert, key) = (tls.cert.display(), tls.key.display());
        let flags = [format!("--tls-cert={cert}"), format!("--tls-key={key}")];
        let mut args: Vec<&str> = flags.iter().map(String::as_str).collect();
        args.extend_from_slice(extra);
        Self::start(store, node, &args)
    }

    /// The agent's process id (to read its descriptors and memory from /proc).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops the agent the way Kubernetes does (SIGTERM) and returns its exit code.
    pub fn stop(mut self) -> i32 {
        let code = self.terminate();
        std::mem::forget(self);
        code
    }

    /// SIGTERM, then the exit code; an agent still running 20 s later is killed (-1), so a test
    /// fails rather than hangs.
    fn terminate(&mut self) -> i32 {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::time::Instant::now() < deadline {
            match self.child.try_wait() {
                Ok(Some(status)) => return status.code().unwrap_or(-1),
                Ok(None) => std::thread::sleep(std::time::Duration::from_millis(50)),
                Err(_) => break,
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        -1
    }
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        self.terminate();
    }
}

/// `curl` against an agent: returns (HTTP status, body).
pub fn curl(args: &[&str]) -> (u16, Vec<u8>) {
    let out = Command::new("curl")
        .args(["-s", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .expect("curl runs");
    let mut body = out.stdout;
    let split = body.iter().rposition(|&b| b == b'\n').expect("status line");
    let code = String::from_utf8_lossy(&body[split + 1..])
        .trim()
        .parse()
        .expect("status code");
    body.truncate(split);
    (code, body)
}

/// One line per entry for failure messages: protocol, endpoints, request and status.
pub fn summary(e: &serde_json::Value) -> String {
    format!(
        "{} {}→{} {} {}",
        text(&e["protocol"]["name"]),
        text(&e["src"]["name"]),
        text(&e["dst"]["name"]),
        e["request"],
        text(&e["response"]["status"])
    )
}

/// The cluster of `tests/cluster/up.sh` (network namespaces with real servers), torn down when
/// dropped. Each test picks its own `stem`, so tests running at once get separate namespaces.
pub struct Cluster {
    prefix: String,
    dir: tempfile::TempDir,
}

impl Cluster {
    /// Brings the cluster up under the namespace prefix `<stem><pid>`.
    pub fn up(stem: &str) -> Self {
        assert_eq!(
            effective_uid(),
            0,
            "the end-to-end cluster needs root (network namespaces); CI runs as root"
        );
        let cluster = Cluster {
            prefix: format!("{stem}{}", std::process::id() % 100_000),
            dir: tempfile::tempdir().expect("temp dir"),
        };
        run_ok(cluster.script("up.sh").arg(cluster.dir.path()));
        cluster
    }

    /// One of the cluster scripts (`up.sh`, `traffic.sh`, `down.sh`) for this cluster.
    pub fn script(&self, name: &str) -> Command {
        let mut cmd = Command::new("bash");
        cmd.arg(workspace().join("tests/cluster").join(name))
            .env("SHARK_CLUSTER", &self.prefix);
        cmd
    }

    /// The identities file describing the cluster's pods.
    pub fn identities(&self) -> PathBuf {
        self.dir.path().join("identities.yaml")
    }

    /// The network namespace's name of a pod (`client`, `web`, …) or of the `node`.
    pub fn namespace(&self, ns: &str) -> String {
        format!("{}-{ns}", self.prefix)
    }

    /// A command run inside `ns`'s network namespace: a pod (`client`, `web`, …) or `node`.
    pub fn exec(&self, ns: &str, program: &Path) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.namespace(ns)])
            .arg(program);
        cmd
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.script("down.sh").status();
    }
}

/// The effective user id, read from /proc (no unsafe code).
fn effective_uid() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|uid| uid.parse().ok())
        .unwrap_or(u32::MAX)
}

/// A started process, killed and reaped when dropped: a test that fails midway leaves nothing
/// running (a follower or an agent left behind runs forever and keeps the test run's output open).
pub struct Running(Option<Child>);

impl Running {
    /// Starts `command`.
    pub fn start(command: &mut Command) -> Self {
        match command.spawn() {
            Ok(child) => Running(Some(child)),
            Err(e) => panic!("{command:?} does not start: {e}"),
        }
    }

    /// Ends the process (one that runs until stopped, like a follower) and collects what it
    /// printed on the outputs still attached. A pipe is read only here and holds 64 KiB: a process
    /// that prints more blocks first, so a long stream goes to a file instead.
    pub fn stop_and_collect(mut self) -> Output {
        let mut child = self.0.take().expect("a process not yet finished");
        let _ = child.kill();
        child.wait_with_output().expect("the process's output")
    }
}

impl Deref for Running {
    type Target = Child;
    fn deref(&self) -> &Child {
        self.0.as_ref().expect("a process not yet finished")
    }
}

impl DerefMut for Running {
    fn deref_mut(&mut self) -> &mut Child {
        self.0.as_mut().expect("a process not yet finished")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The lines a process prints on stdout, read on a thread so a test can wait with a deadline.
pub fn lines_of(child: &mut Running) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead;
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().expect("stdout piped");
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// Epoch seconds of the first packet of `capture`, as tshark reads it.
pub fn first_packet_epoch(capture: &Path) -> f64 {
    let rows = tshark(&[
        "-r",
        capture.to_str().expect("utf-8"),
        "-c",
        "1",
        "-T",
        "fields",
        "-e",
        "frame.time_epoch",
    ]);
    rows.first()
        .and_then(|row| row.first())
        .and_then(|t| t.parse().ok())
        .expect("the capture has a first packet")
}

/// A copy of `capture` in `dir`, every packet moved in time so that the first is `seconds_ago`
/// before now (editcap -t): traffic as a live capture would store it.
pub fn shifted_to_seconds_ago(capture: &Path, dir: &Path, seconds_ago: f64) -> PathBuf {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs_f64();
    let shift = format!("{:.6}", now - seconds_ago - first_packet_epoch(capture));
    let name = capture
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let shifted = dir.join(format!("shifted-{seconds_ago}-{name}"));
    run_ok(
        Command::new("editcap")
            .args(["-F", "pcap", "-t", &shift])
            .arg(capture)
            .arg(&shifted),
    );
    shifted
}
