//! What a person reads in the tables: outcomes in words, elapsed times in a unit that shows the
//! figure, failures in red on a terminal (never when piped), sizes in KiB/MiB/GiB in `status`
//! and the exact numbers in its JSON.

use std::path::Path;
use std::process::Command;

use crate::util::{binary, import, run_ok, shark, workspace};

/// A store holding the bundled demo capture (HTTP, DNS with NXDOMAIN, Redis, PostgreSQL, TLS,
/// Kafka, gRPC) as node `demo`.
fn demo_store() -> tempfile::TempDir {
    let store = tempfile::tempdir().expect("temp dir");
    import(
        store.path(),
        &workspace().join("tests/data/demo.pcap"),
        "demo",
    );
    store
}

/// The STATUS and ELAPSED cells of each row of a `query` table.
fn status_and_elapsed(table: &str) -> Vec<(String, String)> {
    table
        .lines()
        .filter(|l| l.starts_with("│ 20"))
        .map(|l| {
            let cells: Vec<&str> = l
                .split('┆')
                .map(|c| c.trim_matches(|ch: char| ch.is_whitespace() || ch == '│'))
                .collect();
            (cells[6].to_string(), cells[7].to_string())
        })
        .collect()
}

#[test]
fn status_cells_speak_each_protocols_words_and_elapsed_shows_its_figure() {
    let store = demo_store();
    let table = run_ok(shark().arg("query").arg("--store").arg(store.path())).stdout;
    let rows = status_and_elapsed(&table);
    let statuses: Vec<&str> = rows.iter().map(|(s, _)| s.as_str()).collect();
    for want in ["NXDOMAIN", "NOERROR", "OK", "DELETE 1", "200"] {
        assert!(
            statuses.contains(&want),
            "{want} missing from the STATUS column: {statuses:?}"
        );
    }
    for (status, elapsed) in &rows {
        if status.contains('↑') {
            // A connection record: a one-packet conversation spans no time.
            continue;
        }
        assert!(
            !status.starts_with("0 ") && !status.starts_with("3 "),
            "a code before the words: {status}"
        );
        // `42µs`, `1.3ms`, `2.1s`, `1m00s` (a long connection's record): the leading figure.
        let figure: f64 = elapsed
            .split(|c: char| c.is_alphabetic() || c == 'µ')
            .next()
            .unwrap_or_default()
            .parse()
            .unwrap_or(0.0);
        assert!(figure > 0.0, "ELAPSED {elapsed} shows no figure");
    }
    assert!(
        rows.iter().any(|(_, e)| e.ends_with("µs")),
        "sub-millisecond exchanges in µs: {rows:?}"
    );
    // JSON keeps the numbers filters use.
    let nx = run_ok(shark().arg("query").arg("--store").arg(store.path()).args([
        "-o",
        "json",
        "dns and response.status == 3",
    ]));
    assert_eq!(nx.stdout.lines().count(), 3, "{}", nx.stdout);
}

/// Runs `kubectl-shark ARGS` on a pseudo-terminal (util-linux `script`) and returns what it printed.
fn on_a_terminal(args: &[&str]) -> String {
    let mut line = binary("kubectl-shark").display().to_string();
    for arg in args {
        line.push_str(&format!(" '{arg}'"));
    }
    run_ok(
        Command::new("script")
            .args(["-qec", &line, "/dev/null"])
            .env_remove("NO_COLOR")
            .env_remove("CLICOLOR_FORCE"),
    )
    .stdout
}

#[test]
fn failures_are_red_on_a_terminal_and_never_when_piped() {
    let store = demo_store();
    let dir = store.path().to_str().expect("utf-8");
    let commands: [&[&str]; 2] = [
        &["query", "--store", dir, "dns"],
        &["replay", "--store", dir, "--speed=max", "dns"],
    ];
    for command in commands {
        let shown = on_a_terminal(command);
        let red: Vec<&str> = shown.lines().filter(|l| l.contains("\x1b[")).collect();
        assert_eq!(
            red.len(),
            3,
            "the three NXDOMAIN rows, and only they, are coloured:\n{shown}"
        );
        assert!(red.iter().all(|l| l.contains("NXDOMAIN")), "{red:?}");
        let piped = run_ok(shark().args(command).env_remove("CLICOLOR_FORCE")).stdout;
        assert!(
            piped.contains("NXDOMAIN") && !piped.contains('\x1b'),
            "piped output is plain:\n{piped}"
        );
    }
}

/// `status` cells of node `demo`.
fn status_row(store: &Path) -> Vec<String> {
    let table = run_ok(shark().arg("status").arg("--store").arg(store)).stdout;
    let row = table
        .lines()
        .find(|l| l.contains(" demo "))
        .unwrap_or_else(|| panic!("{table}"));
    row.split('┆')
        .map(|c| {
            c.trim_matches(|ch: char| ch.is_whitespace() || ch == '│')
                .to_string()
        })
        .collect()
}

#[test]
fn status_shows_sizes_people_read_and_its_json_the_exact_bytes() {
    let store = demo_store();
    let json = run_ok(
        shark()
            .arg("status")
            .arg("--store")
            .arg(store.path())
            .args(["-o", "json"]),
    )
    .stdout;
    let nodes: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line per node"))
        .collect();
    assert_eq!(nodes.len(), 1, "{json}");
    assert_eq!(nodes[0]["node"], "demo");
    // 24 exchanges and 19 connection records (16 connections; three long ones recorded at a
    // minute's mark as well).
    assert_eq!(nodes[0]["entries"], 43);
    let pcap_bytes = nodes[0]["pcapBytes"].as_u64().expect("pcapBytes");
    let on_disk: u64 = std::fs::read_dir(store.path().join("demo/segments"))
        .expect("segments")
        .map(|e| e.expect("entry").metadata().expect("metadata").len())
        .sum();
    assert_eq!(pcap_bytes, on_disk, "the exact size of the segments");
    let row = status_row(store.path());
    assert_eq!(
        row[4],
        format!("{:.1} KiB", pcap_bytes as f64 / 1024.0),
        "PCAP BYTES: {row:?}"
    );
    assert!(row[6].ends_with(" KiB"), "INDEX BYTES: {row:?}");
}
