//! The krew manifest against krew's validation rules, and the release script that builds the
//! plugin archive and fills the manifest's hashes; the archive installed the way krew does.

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

/// This machine's krew platform, as `release.sh archive` names its archive.
fn this_platform() -> (&'static str, &'static str) {
    let arch = match std::env::consts::ARCH {
        "aarch64" => "arm64",
        _ => "amd64",
    };
    ("linux", arch)
}

/// Installs `archive` as krew does for `platform` of `manifest`: unpacks it, copies each of the
/// platform's `files` (`from` in the archive, `to` in the install directory) and links `bin` as
/// `kubectl-shark` in a bin directory; returns that bin directory.
fn krew_install(manifest: &Value, archive: &Path, root: &Path) -> std::path::PathBuf {
    let (os, arch) = this_platform();
    let platform = manifest["spec"]["platforms"]
        .as_sequence()
        .expect("platforms")
        .iter()
        .find(|p| {
            p["selector"]["matchLabels"]["os"] == os && p["selector"]["matchLabels"]["arch"] == arch
        })
        .expect("this platform in the manifest");
    let (unpacked, install, bin) = (
        root.join("download"),
        root.join("store/shark/v"),
        root.join("bin"),
    );
    for dir in [&unpacked, &install, &bin] {
        std::fs::create_dir_all(dir).expect("mkdir");
    }
    run_ok(
        Command::new("tar")
            .arg("xzf")
            .arg(archive)
            .arg("-C")
            .arg(&unpacked),
    );
    for file in platform["files"].as_sequence().expect("files") {
        let from = unpacked.join(file["from"].as_str().expect("from"));
        let to = install.join(file["to"].as_str().expect("to"));
        assert!(from.is_file(), "the archive has no {}", from.display());
        std::fs::copy(&from, to.join(from.file_name().expect("file name"))).expect("copy");
    }
    let target = install.join(platform["bin"].as_str().expect("bin"));
    assert!(
        target.is_file(),
        "bin {} is not among the files installed",
        target.display()
    );
    std::os::unix::fs::symlink(&target, bin.join("kubectl-shark")).expect("link");
    bin
}

#[test]
fn release_script_builds_the_archive_krew_installs_and_kubectl_runs_the_plugin_from_it() {
    let dist = tempfile::tempdir().expect("temp dir");
    let script = workspace().join("krew-manifest/release.sh");
    let version = "v0.3.1";
    run_ok(
        Command::new("bash")
            .arg(&script)
            .args(["archive", version])
            .arg(dist.path())
            .env("SHARK_PLUGIN_BINARY", binary("kubectl-shark")),
    );
    let (os, arch) = this_platform();
    let real = dist
        .path()
        .join(format!("kubectl-shark_{version}_{os}_{arch}.tar.gz"));
    assert!(
        real.is_file(),
        "release.sh archive wrote {}",
        real.display()
    );
    // The other platforms' archives come from their own builders; stand-ins here.
    for other in [
        "linux_amd64.tar.gz",
        "linux_arm64.tar.gz",
        "darwin_amd64.tar.gz",
        "darwin_arm64.tar.gz",
        "windows_amd64.zip",
    ] {
        let path = dist.path().join(format!("kubectl-shark_{version}_{other}"));
        if !path.exists() {
            std::fs::write(path, other).expect("write");
        }
    }
    let out = dist.path().join("shark.yaml");
    run_ok(
        Command::new("bash")
            .arg(&script)
            .arg(version)
            .arg(dist.path())
            .arg(&out),
    );
    let manifest = load(&out);
    assert_eq!(krew_violations(&manifest, "shark"), Vec::<String>::new());
    assert_eq!(manifest["spec"]["version"].as_str(), Some(version));
    let sha = run_ok(Command::new("sha256sum").arg(&real)).stdout;
    let platform = manifest["spec"]["platforms"]
        .as_sequence()
        .expect("platforms")
        .iter()
        .find(|p| {
            p["selector"]["matchLabels"]["os"] == os && p["selector"]["matchLabels"]["arch"] == arch
        })
        .expect("this platform")
        .clone();
    let name = format!("/{version}/kubectl-shark_{version}_{os}_{arch}.tar.gz");
    assert!(
        platform["uri"].as_str().is_some_and(|u| u.ends_with(&name)),
        "{:?}",
        platform["uri"]
    );
    assert_eq!(
        platform["sha256"].as_str(),
        sha.split_whitespace().next(),
        "the manifest's hash is the archive's"
    );

    let root = tempfile::tempdir().expect("temp dir");
    let bin = krew_install(&manifest, &real, root.path());
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let help = run_ok(
        Command::new("kubectl")
            .args(["shark", "--help"])
            .env("PATH", &path),
    )
    .stdout;
    assert!(
        help.contains("capture") && help.contains("query"),
        "kubectl runs the plugin from krew's install:\n{help}"
    );
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
