//! The demo script (`tests/demo.sh`) as a user reads it.

use std::process::Command;

use crate::util::{run_ok, workspace};

/// Each command the demo echoes pastes back into a shell as the same arguments it ran with.
#[test]
fn the_demo_echoes_each_command_so_it_can_be_pasted_back() {
    let args = [
        "query",
        "--store",
        "/tmp/shark demo",
        "http and response.status >= 400",
        r#"request.headers["X-It's"] == "a $b `c`""#,
        "-o",
        "json",
    ];
    let script = workspace().join("tests/show.sh");
    let shown = run_ok(
        Command::new("bash")
            .arg("-c")
            .arg(r#"shark=true; source "$0"; show "$@""#)
            .arg(&script)
            .args(args),
    )
    .stdout;
    let echoed = shown
        .lines()
        .find_map(|l| l.strip_prefix("$ kubectl shark "))
        .unwrap_or_else(|| panic!("{shown}"));
    assert!(
        echoed.contains("'http and response.status >= 400'"),
        "{echoed}"
    );
    // Pasted back into a shell, the line gives the same arguments.
    let pasted = run_ok(
        Command::new("bash")
            .arg("-c")
            .arg(format!("printf '%s\\n' {echoed}")),
    )
    .stdout;
    assert_eq!(pasted.lines().collect::<Vec<_>>(), args, "{echoed}");
}
