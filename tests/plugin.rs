//! `kubectl shark …` works once the binary is on PATH.

use std::process::Command;

use crate::util::{binary, run_ok};

#[test]
fn kubectl_plugin_list_finds_kubectl_shark_on_path() {
    // A directory holding only the plugin, as an install puts it (target/ also holds `.d` files
    // that kubectl would warn about).
    let install = tempfile::tempdir().expect("temp dir");
    let dir = install.path().to_path_buf();
    std::fs::copy(binary("kubectl-shark"), dir.join("kubectl-shark")).expect("copy the plugin");
    let path = format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let listed = run_ok(
        Command::new("kubectl")
            .args(["plugin", "list"])
            .env("PATH", &path),
    );
    assert!(
        listed
            .stdout
            .contains(&dir.join("kubectl-shark").display().to_string()),
        "{}",
        listed.stdout
    );
    // And kubectl dispatches `kubectl shark` to it.
    let help = run_ok(
        Command::new("kubectl")
            .args(["shark", "--help"])
            .env("PATH", &path),
    );
    assert!(help.stdout.contains("query"), "{}", help.stdout);
}
