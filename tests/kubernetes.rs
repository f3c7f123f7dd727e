//! What `capture` would deploy, checked offline against the Kubernetes 1.33 schemas.

use std::process::Command;

use serde::Deserialize;

use serde_yaml::Value;

use crate::util::{AgentProcess, run, run_ok, shark};

/// The capture flags `capture` takes and passes on to the agents: (flag, a good value, a bad value).
const TUNING_FLAGS: [(&str, &str, &str); 8] = [
    ("--bpf", "tcp port 80 or udp port 53", "tcp port banana"),
    ("--buffer-size", "16MiB", "3GiB"),
    ("--queue-size", "256MiB", "lots"),
    ("--segment-size", "8MiB", "0"),
    ("--segment-age", "15s", "5 parsecs"),
    ("--index-body", "4096", "-1"),
    ("--max-body", "1MiB", "100MiB"),
    ("--memory-limit", "512MiB", "1MiB"),
];

/// The agent container of the DaemonSet in a `--dry-run -o yaml` stream.
fn agent_container(yaml: &str) -> Value {
    let daemon_set = serde_yaml::Deserializer::from_str(yaml)
        .map(|doc| Value::deserialize(doc).expect("each document is YAML"))
        .find(|doc| doc["kind"] == "DaemonSet")
        .expect("a DaemonSet in the dry run");
    daemon_set["spec"]["template"]["spec"]["containers"][0].clone()
}

/// The agent's args in a dry run of `capture` with `flags`.
fn dry_run_agent(flags: &[&str]) -> (Vec<String>, Value) {
    let yaml = run_ok(
        shark()
            .args(["capture", "--dry-run", "-o", "yaml"])
            .args(flags),
    )
    .stdout;
    let container = agent_container(&yaml);
    let args = container["args"]
        .as_sequence()
        .expect("args")
        .iter()
        .map(|a| a.as_str().expect("each arg is a string").to_string())
        .collect();
    (args, container)
}

/// The args among `args` that set one of the tuning flags.
fn tuning_args(args: &[String]) -> Vec<&str> {
    args.iter()
        .map(String::as_str)
        .filter(|a| {
            TUNING_FLAGS
                .iter()
                .any(|(flag, _, _)| a.starts_with(&format!("{flag}=")))
        })
        .collect()
}

#[test]
fn dry_run_manifests_validate_against_kubernetes_1_33() {
    let yaml = run_ok(shark().args(["capture", "--dry-run", "-o", "yaml"])).stdout;
    for kind in [
        "Namespace",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Secret",
        "DaemonSet",
    ] {
        assert!(
            yaml.contains(&format!("kind: {kind}\n")),
            "{kind} missing from:\n{yaml}"
        );
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("shark.yaml");
    std::fs::write(&file, &yaml).expect("write");
    let checked = run(Command::new("kubernetes-validate")
        .args(["-k", "1.33.0", "--strict"])
        .arg(&file));
    assert_eq!(
        checked.code, 0,
        "kubernetes-validate:\n{}{}",
        checked.stdout, checked.stderr
    );
}

#[test]
fn dry_run_carries_the_chosen_namespace_limits_and_node_selector() {
    let yaml = run_ok(shark().args([
        "capture",
        "--dry-run",
        "-n",
        "netdebug",
        "--storage-limit",
        "2GiB",
        "--retention",
        "6h",
        "--node-selector",
        "kubernetes.io/os=linux",
        "--pods",
        "checkout-.*",
        "--namespaces",
        "shop,payments",
    ]))
    .stdout;
    assert!(
        yaml.contains("--pods=checkout-.*") && yaml.contains("--namespaces=shop,payments"),
        "{yaml}"
    );
    assert!(yaml.contains("namespace: netdebug"), "{yaml}");
    assert!(
        yaml.contains("--storage-limit=2GiB") && yaml.contains("--retention=6h"),
        "{yaml}"
    );
    assert!(yaml.contains("kubernetes.io/os: linux"), "{yaml}");
}

#[test]
fn a_bad_node_selector_or_size_is_one_clear_line() {
    let r = run(shark().args(["capture", "--dry-run", "--node-selector", "oslinux"]));
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("--node-selector `oslinux` is not KEY=VALUE"),
        "{}",
        r.stderr
    );
    let r = run(shark().args(["capture", "--dry-run", "--storage-limit", "lots"]));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("lots"), "{}", r.stderr);
}

#[test]
fn each_tuning_flag_given_to_capture_reaches_the_agents_args_and_only_that_one() {
    for (flag, value, _) in TUNING_FLAGS {
        let (args, _) = dry_run_agent(&[flag, value]);
        assert_eq!(
            tuning_args(&args),
            [format!("{flag}={value}")],
            "capture {flag} {value}"
        );
    }
}

#[test]
fn without_tuning_flags_the_agents_keep_their_own_defaults_and_a_1gi_limit() {
    let (args, container) = dry_run_agent(&[]);
    assert!(tuning_args(&args).is_empty(), "{args:?}");
    assert_eq!(container["resources"]["limits"]["memory"], "1Gi");
}

#[test]
fn the_agent_accepts_the_tuning_args_capture_writes() {
    let given: Vec<&str> = TUNING_FLAGS
        .iter()
        .flat_map(|(flag, value, _)| [*flag, *value])
        .collect();
    let (args, _) = dry_run_agent(&given);
    let tuning = tuning_args(&args);
    assert_eq!(tuning.len(), TUNING_FLAGS.len(), "{args:?}");
    let store = tempfile::tempdir().expect("temp dir");
    // It would exit before listening if it refused any of them.
    let agent = AgentProcess::start(
        store.path(),
        "node-1",
        &[&["--no-capture"], tuning.as_slice()].concat(),
    );
    assert_eq!(agent.stop(), 0);
}

#[test]
fn a_bad_tuning_value_is_one_line_exit_2_and_nothing_applied() {
    for (flag, _, bad) in TUNING_FLAGS {
        // Without --dry-run and with no reachable cluster: the value is refused before any API call.
        let r = run(shark().args([
            "capture",
            "--kubeconfig",
            "/nonexistent/kubeconfig",
            flag,
            bad,
        ]));
        assert_eq!(r.code, 2, "capture {flag} {bad}: {}", r.stderr);
        assert_eq!(
            r.stderr.lines().count(),
            1,
            "capture {flag} {bad}:\n{}",
            r.stderr
        );
        assert!(
            r.stderr.starts_with(&format!("error: {flag}")),
            "capture {flag} {bad}: {}",
            r.stderr
        );
        assert!(
            !r.stderr.contains("kubeconfig") && r.stdout.is_empty(),
            "{}{}",
            r.stdout,
            r.stderr
        );
    }
}

#[test]
fn a_large_queue_raises_the_agents_memory_limit_and_keeps_the_request() {
    let (_, container) = dry_run_agent(&["--queue-size", "2GiB"]);
    // 1Gi holds the default 64MiB queue and 32MiB buffer; a 2GiB queue adds 2GiB - 64MiB.
    assert_eq!(container["resources"]["limits"]["memory"], "3008Mi");
    assert_eq!(container["resources"]["requests"]["memory"], "256Mi");
}

#[test]
fn tuned_manifests_validate_against_kubernetes_1_33() {
    let given: Vec<&str> = TUNING_FLAGS
        .iter()
        .flat_map(|(flag, value, _)| {
            [
                *flag,
                if *flag == "--queue-size" {
                    "1500MiB"
                } else {
                    *value
                },
            ]
        })
        .collect();
    let yaml = run_ok(
        shark()
            .args(["capture", "--dry-run", "-o", "yaml"])
            .args(&given),
    )
    .stdout;
    // 1Gi + (1500MiB queue + 16MiB buffer) - (64MiB + 32MiB defaults) + (512MiB - 256MiB) pipeline.
    assert_eq!(
        agent_container(&yaml)["resources"]["limits"]["memory"],
        "2700Mi"
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("shark.yaml");
    std::fs::write(&file, &yaml).expect("write");
    let checked = run(Command::new("kubernetes-validate")
        .args(["-k", "1.33.0", "--strict"])
        .arg(&file));
    assert_eq!(
        checked.code, 0,
        "kubernetes-validate:\n{}{}",
        checked.stdout, checked.stderr
    );
}
