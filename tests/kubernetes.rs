//! What `capture` would deploy, checked offline against the Kubernetes 1.33 schemas.

use std::process::Command;

use crate::util::{run, run_ok, shark};

#[test]
fn dry_run_manifests_validate_against_kubernetes_1_33() {
    let yaml = run_ok(shark().args(["capture", "--dry-run", "-o", "yaml"])).stdout;
    for kind in ["Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Secret", "DaemonSet"] {
        assert!(yaml.contains(&format!("kind: {kind}\n")), "{kind} missing from:\n{yaml}");
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("shark.yaml");
    std::fs::write(&file, &yaml).expect("write");
    let checked = run(Command::new("kubernetes-validate").args(["-k", "1.33.0", "--strict"]).arg(&file));
    assert_eq!(checked.code, 0, "kubernetes-validate:\n{}{}", checked.stdout, checked.stderr);
}

#[test]
fn dry_run_carries_the_chosen_namespace_limits_and_node_selector() {
    let yaml = run_ok(shark().args([
        "capture", "--dry-run", "-n", "netdebug", "--storage-limit", "2GiB", "--retention", "6h",
        "--node-selector", "kubernetes.io/os=linux", "--pods", "checkout-.*", "--namespaces", "shop,payments",
    ]))
    .stdout;
    assert!(yaml.contains("--pods=checkout-.*") && yaml.contains("--namespaces=shop,payments"), "{yaml}");
    assert!(yaml.contains("namespace: netdebug"), "{yaml}");
    assert!(yaml.contains("--storage-limit=2GiB") && yaml.contains("--retention=6h"), "{yaml}");
    assert!(yaml.contains("kubernetes.io/os: linux"), "{yaml}");
}

#[test]
fn a_bad_node_selector_or_size_is_one_clear_line() {
    let r = run(shark().args(["capture", "--dry-run", "--node-selector", "oslinux"]));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--node-selector `oslinux` is not KEY=VALUE"), "{}", r.stderr);
    let r = run(shark().args(["capture", "--dry-run", "--storage-limit", "lots"]));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("lots"), "{}", r.stderr);
}
