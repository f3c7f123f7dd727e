//! The krew manifest against krew's validation rules, and the release script that fills its hashes.

use std::path::Path;
use std::process::Command;

use serde_yaml::Value;

use crate::util::{binary, run_ok, workspace};

/// Checks a manifest the way krew's validation does; returns every rule it breaks.
fn krew_violations(manifest: &Value, file_stem: &str) -> Vec<String> {
    let mut bad = Vec::new();
    let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
    if s(&manifest["apiVersion"]) != "krew.googlecontainertools.github.com/v1alpha2" {
        bad.push("apiVersion".into());
    }
    if s(&manifest["kind"]) != "Plugin" {
        bad.push("kind".into());
    }
    let name = s(&manifest["metadata"]["name"]);
    let name_ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.contains("kubectl");
    if !name_ok || name != file_stem {
        bad.push(format!("name `{name}` (file {file_stem}.yaml)"));
    }
    let spec = &manifest["spec"];
    let version = s(&spec["version"]);
    let semver = version.strip_prefix('v').is_some_and(|v| {
        let core = v.split(['-', '+']).next().unwrap_or_default();
        let parts: Vec<&str> = core.split('.').collect();
        parts.len() == 3
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    });
    if !semver {
        bad.push(format!("version `{version}`"));
    }
    for field in ["shortDescription", "description", "homepage"] {
        if s(&spec[field]).trim().is_empty() {
            bad.push(format!("{field} missing"));
        }
    }
    let platforms = spec["platforms"].as_sequence().cloned().unwrap_or_default();
    let mut seen = Vec::new();
    for p in &platforms {
        let labels = p["selector"]["matchLabels"]
            .as_mapping()
            .cloned()
            .unwrap_or_default();
        if labels
            .keys()
            .any(|k| !matches!(k.as_str(), Some("os" | "arch")))
        {
            bad.push("selector may only use os and arch".into());
        }
        let (os, arch) = (
            s(&labels[&Value::from("os")]),
            s(&labels[&Value::from("arch")]),
        );
        seen.push(format!("{os}/{arch}"));
        let sha = s(&p["sha256"]);
        if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
            bad.push(format!("{os}/{arch}: sha256 `{sha}`"));
        }
        if !s(&p["uri"]).starts_with("https://") {
            bad.push(format!("{os}/{arch}: uri"));
        }
        let bin = s(&p["bin"]);
        if bin.is_empty() || (os == "windows") != bin.ends_with(".exe") {
            bad.push(format!("{os}/{arch}: bin `{bin}`"));
        }
        let files: Vec<String> = p["files"]
            .as_sequence()
            .into_iter()
            .flatten()
            .map(|f| s(&f["from"]))
            .collect();
        if !files.iter().any(|f| f == "LICENSE") || !files.contains(&bin) {
            bad.push(format!("{os}/{arch}: files {files:?}"));
        }
    }
    for wanted in [
        "linux/amd64",
        "linux/arm64",
        "darwin/amd64",
        "darwin/arm64",
        "windows/amd64",
    ] {
        if !seen.iter().any(|p| p == wanted) {
            bad.push(format!("no {wanted} platform"));
        }
    }
    bad
}

fn load(path: &Path) -> Value {
    serde_yaml::from_str(&std::fs::read_to_string(path).expect("read manifest"))
        .expect("manifest is YAML")
}

#[test]
fn the_committed_manifest_follows_krews_rules() {
    let path = workspace().join("krew-manifest/shark.yaml");
    assert_eq!(krew_violations(&load(&path), "shark"), Vec::<String>::new());
    assert!(
        workspace().join("LICENSE").is_file(),
        "the archives ship LICENSE from the repository root"
    );
}

#[test]
fn release_script_fills_every_hash_from_the_archives_it_is_given() {
    let dist = tempfile::tempdir().expect("temp dir");
    let staging = tempfile::tempdir().expect("temp dir");
    std::fs::copy(
        binary("kubectl-shark"),
        staging.path().join("kubectl-shark"),
    )
    .expect("copy binary");
    std::fs::copy(workspace().join("LICENSE"), staging.path().join("LICENSE"))
        .expect("copy license");
    let version = "v0.3.1";
    let real = dist
        .path()
        .join(format!("kubectl-shark_{version}_linux_amd64.tar.gz"));
    run_ok(
        Command::new("tar")
            .arg("czf")
            .arg(&real)
            .arg("-C")
            .arg(staging.path())
            .args(["kubectl-shark", "LICENSE"]),
    );
    // The other platforms' archives come from their own builders; stand-ins here.
    for other in [
        "linux_arm64.tar.gz",
        "darwin_amd64.tar.gz",
        "darwin_arm64.tar.gz",
        "windows_amd64.zip",
    ] {
        std::fs::write(
            dist.path().join(format!("kubectl-shark_{version}_{other}")),
            other,
        )
        .expect("write");
    }
    let out = dist.path().join("shark.yaml");
    run_ok(
        Command::new("bash")
            .arg(workspace().join("krew-manifest/release.sh"))
            .arg(version)
            .arg(dist.path())
            .arg(&out),
    );
    let manifest = load(&out);
    assert_eq!(krew_violations(&manifest, "shark"), Vec::<String>::new());
    assert_eq!(manifest["spec"]["version"].as_str(), Some(version));
    let sha = run_ok(Command::new("sha256sum").arg(&real)).stdout;
    let linux = &manifest["spec"]["platforms"][0];
    assert!(linux["uri"].as_str().is_some_and(|u| u.ends_with(&format!(
        "/{version}/kubectl-shark_{version}_linux_amd64.tar.gz"
    ))));
    assert_eq!(linux["sha256"].as_str(), sha.split_whitespace().next());
}

#[test]
fn release_script_refuses_a_missing_archive_and_a_bad_version() {
    let dist = tempfile::tempdir().expect("temp dir");
    let script = workspace().join("krew-manifest/release.sh");
    let out = dist.path().join("shark.yaml");
    let r = crate::util::run(
        Command::new("bash")
            .arg(&script)
            .arg("v1.0.0")
            .arg(dist.path())
            .arg(&out),
    );
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("is missing"), "{}", r.stderr);
    let r = crate::util::run(
        Command::new("bash")
            .arg(&script)
            .arg("1.0")
            .arg(dist.path())
            .arg(&out),
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("semver"), "{}", r.stderr);
}
