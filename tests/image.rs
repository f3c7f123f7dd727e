//! The agent image two ways: `capture-agent/Dockerfile` (for builders that can pull) and
//! `capture-agent/image.sh` (no registry). They must give the same image: the Dockerfile's base
//! suite and packages, its binary path, entrypoint and user, and every workspace member copied in.

use crate::container::{IMAGE, load_image, podman};
use crate::util::{run_ok, workspace};

/// What the Dockerfile says the runtime image is.
struct Runtime {
    /// Debian suite of the runtime stage's base (`FROM debian:bookworm-slim` → `bookworm`).
    suite: String,
    /// Packages its `apt-get install` adds.
    packages: Vec<String>,
    /// Where `COPY --from=build` puts the binary.
    binary: String,
    /// The `ENTRYPOINT` (exec form).
    entrypoint: Vec<String>,
    /// The `USER`, if any.
    user: Option<String>,
}

/// Reads the Dockerfile's last stage; `RUN` lines joined at their `\` continuations.
fn dockerfile_runtime() -> Runtime {
    let text =
        std::fs::read_to_string(workspace().join("capture-agent/Dockerfile")).expect("Dockerfile");
    let joined = text.replace("\\\n", " ");
    let lines: Vec<&str> = joined
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect();
    let last_from = lines
        .iter()
        .rposition(|l| l.starts_with("FROM "))
        .expect("a FROM");
    let stage = &lines[last_from..];
    let base = stage[0].split_whitespace().nth(1).expect("FROM image");
    let suite = base
        .strip_prefix("debian:")
        .and_then(|t| t.strip_suffix("-slim"))
        .expect("FROM debian:SUITE-slim")
        .to_string();
    let packages = stage
        .iter()
        .filter_map(|l| l.split("--no-install-recommends").nth(1))
        .flat_map(|rest| {
            rest.split("&&")
                .next()
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_string)
        })
        .collect();
    let copy = stage
        .iter()
        .find(|l| l.starts_with("COPY --from=build "))
        .expect("COPY --from=build");
    let binary = copy
        .split_whitespace()
        .last()
        .expect("COPY destination")
        .to_string();
    let entrypoint = stage
        .iter()
        .find_map(|l| l.strip_prefix("ENTRYPOINT "))
        .expect("ENTRYPOINT");
    let entrypoint = serde_json::from_str(entrypoint).expect("ENTRYPOINT in exec form");
    let user = stage
        .iter()
        .find_map(|l| l.strip_prefix("USER "))
        .map(str::to_string);
    Runtime {
        suite,
        packages,
        binary,
        entrypoint,
        user,
    }
}

/// A `.dockerignore` pattern against a path relative to the context (`*` within one component,
/// a leading `**/` for any depth); a pattern also excludes everything below what it matches.
fn ignored(pattern: &str, path: &str) -> bool {
    fn glob(pattern: &str, name: &str) -> bool {
        match pattern.split_once('*') {
            Some((head, tail)) => {
                name.starts_with(head)
                    && name.len() >= head.len() + tail.len()
                    && name.ends_with(tail)
            }
            None => pattern == name,
        }
    }
    let parts: Vec<&str> = path.split('/').collect();
    let (anywhere, pattern) = match pattern.strip_prefix("**/") {
        Some(rest) => (true, rest),
        None => (false, pattern),
    };
    let wanted: Vec<&str> = pattern.trim_end_matches('/').split('/').collect();
    let starts: Vec<usize> = if anywhere {
        (0..parts.len()).collect()
    } else {
        vec![0]
    };
    starts.into_iter().any(|start| {
        parts.len() >= start + wanted.len()
            && wanted.iter().zip(&parts[start..]).all(|(w, p)| glob(w, p))
    })
}

#[test]
fn the_dockerfile_build_context_holds_every_workspace_member() {
    let manifest = workspace_members();
    assert!(
        manifest.iter().any(|m| m == "capture-agent"),
        "{manifest:?}"
    );
    let dockerfile =
        std::fs::read_to_string(workspace().join("capture-agent/Dockerfile")).expect("Dockerfile");
    let sources: Vec<String> = dockerfile
        .lines()
        .filter(|l| l.starts_with("COPY ") && !l.contains("--from="))
        .flat_map(|l| {
            let words: Vec<&str> = l.split_whitespace().skip(1).collect();
            words[..words.len() - 1]
                .iter()
                .map(|w| w.trim_end_matches('/').to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    let ignore = std::fs::read_to_string(workspace().join(".dockerignore")).unwrap_or_default();
    let patterns: Vec<&str> = ignore
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    for member in manifest
        .iter()
        .chain(["Cargo.toml".to_string(), "Cargo.lock".to_string()].iter())
    {
        assert!(
            sources
                .iter()
                .any(|s| s == "." || member == s || member.starts_with(&format!("{s}/"))),
            "the Dockerfile copies no source holding {member}: {sources:?}"
        );
        assert!(
            !patterns.iter().any(|p| ignored(p, member)),
            ".dockerignore leaves {member} out of the build context"
        );
    }
    assert!(
        ignored("target", "target")
            && ignored("**/fuzz/target", "capture-agent/fuzz/target/x")
            && ignored("target-*", "target-ci")
    );
    assert!(
        !ignored("target", "capture-agent") && !ignored("**/fuzz/target", "capture-agent/pipeline")
    );
}

/// The workspace members: the strings of `Cargo.toml`'s `members = [ ... ]`.
fn workspace_members() -> Vec<String> {
    let cargo_toml = std::fs::read_to_string(workspace().join("Cargo.toml")).expect("Cargo.toml");
    let start = cargo_toml.find("members = [").expect("workspace members") + "members = [".len();
    let end = start + cargo_toml[start..].find(']').expect("end of members");
    cargo_toml[start..end]
        .split(',')
        .map(|m| m.trim().trim_matches('"').to_string())
        .filter(|m| !m.is_empty())
        .collect()
}

#[test]
fn the_image_built_here_has_the_dockerfiles_base_packages_binary_entrypoint_and_user() {
    load_image();
    let runtime = dockerfile_runtime();
    let inspect = run_ok(podman().args(["image", "inspect", IMAGE])).stdout;
    let inspect: serde_json::Value = serde_json::from_str(&inspect).expect("inspect JSON");
    let config = &inspect[0]["Config"];
    assert_eq!(
        config["Entrypoint"],
        serde_json::json!(runtime.entrypoint),
        "{config}"
    );
    let user = config["User"].as_str().unwrap_or_default();
    assert_eq!(
        runtime.user.as_deref().unwrap_or(""),
        user,
        "the same user (root when the Dockerfile names none)"
    );
    let env: Vec<&str> = config["Env"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e.as_str())
        .collect();
    assert!(
        env.iter()
            .any(|e| e.starts_with("PATH=") && e.contains("/usr/local/bin")),
        "{env:?}"
    );

    let in_image = |entrypoint: &str, args: &[&str]| {
        run_ok(
            podman()
                .args([
                    "run",
                    "--rm",
                    "--network",
                    "none",
                    "--entrypoint",
                    entrypoint,
                    IMAGE,
                ])
                .args(args),
        )
        .stdout
    };
    let os_release = in_image("cat", &["/etc/os-release"]);
    assert!(
        os_release.contains(&format!("VERSION_CODENAME={}", runtime.suite)),
        "{os_release}"
    );
    for package in &runtime.packages {
        let status = in_image("dpkg-query", &["-W", "-f", "${Status}", package]);
        assert_eq!(status, "install ok installed", "{package}");
    }
    assert_eq!(
        in_image("ls", &["-A", "/var/lib/apt/lists"]).trim(),
        "",
        "apt's lists are gone, as the Dockerfile removes them"
    );
    let version = in_image(&runtime.binary, &["--version"]);
    assert_eq!(
        version.trim(),
        concat!("shark-agent ", env!("CARGO_PKG_VERSION")),
        "the binary at the Dockerfile's path"
    );
}
