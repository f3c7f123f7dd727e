//! `kubectl shark …` works once the binary is on PATH.

use std::process::Command;

use crate::util::{binary, run_ok};

#[test]
fn kubectl_plugin_list_finds_kubectl_shark_on_path() {
    let dir = binary("kubectl-shark").parent().expect("bin dir").to_path_buf();
    let path = format!("{}:{}", dir.display(), std::env::var("PATH").unwrap_or_default());
    let listed = run_ok(Command::new("kubectl").args(["plugin", "list"]).env("PATH", &path));
    assert!(listed.stdout.contains(&dir.join("kubectl-shark").display().to_string()), "{}", listed.stdout);
    // And kubectl dispatches `kubectl shark` to it.
    let help = run_ok(Command::new("kubectl").args(["shark", "--help"]).env("PATH", &path));
    assert!(help.stdout.contains("query"), "{}", help.stdout);
}
