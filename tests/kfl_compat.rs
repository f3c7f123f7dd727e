//! KFL compatibility: the filters of `tests/compat/kfl.tsv`, written in Kubeshark's two dialects
//! (legacy KFL and KFL2), run with `kubectl shark query` on public captures, one node per capture.
//! Each must match exactly the entries its row names, or be refused when the row says so; the
//! share of each dialect's filters that is accepted is printed (and must stay at the targets).

use std::collections::BTreeMap;
use std::path::Path;

use crate::util::{fixture, import, run, shark, workspace};

/// Node name → capture, under `tests/fixtures/public/deepflow/`.
const CAPTURES: [(&str, &str); 13] = [
    ("http", "http.pcap"),
    ("h1", "http__httpv1.pcap"),
    ("sw8", "http__sw8.pcap"),
    ("h2", "http__h2c_ascii.pcap"),
    ("grpc", "http__grpc-unary.pcap"),
    ("grpcsvc", "http__grpc-service-name.pcap"),
    ("dns", "dns__dns.pcap"),
    ("nx", "dns__nxdomain.pcap"),
    ("redis", "redis__redis.pcap"),
    ("pg", "postgre__simple_query.pcap"),
    ("pgerr", "postgre__error.pcap"),
    ("kafka", "kafka__00-produce-v9.pcap"),
    ("tls", "tls__tls-1-3.pcap"),
];

/// The targets: shares of the table's filters accepted, per dialect.
const TARGETS: [(&str, f64); 2] = [("legacy", 0.95), ("kfl2", 0.90)];

struct Row {
    line: usize,
    dialect: String,
    expected: String,
    filter: String,
}

fn table() -> Vec<Row> {
    let text = std::fs::read_to_string(workspace().join("tests/compat/kfl.tsv"))
        .unwrap_or_else(|e| panic!("tests/compat/kfl.tsv: {e}"));
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.starts_with('#') && !line.trim().is_empty())
        .map(|(i, line)| {
            let mut parts = line.splitn(3, '\t');
            let (Some(dialect), Some(expected), Some(filter)) =
                (parts.next(), parts.next(), parts.next())
            else {
                panic!("tests/compat/kfl.tsv:{}: expected 3 columns", i + 1);
            };
            Row {
                line: i + 1,
                dialect: dialect.to_string(),
                expected: expected.to_string(),
                filter: filter.to_string(),
            }
        })
        .collect()
}

/// Matching entries per node, as the table writes them (`dns:2 nx`), sorted by node.
fn written(counts: &BTreeMap<String, usize>) -> String {
    let parts: Vec<String> = counts
        .iter()
        .map(|(node, n)| {
            if *n == 1 {
                node.clone()
            } else {
                format!("{node}:{n}")
            }
        })
        .collect();
    if parts.is_empty() {
        "-".to_string()
    } else {
        parts.join(" ")
    }
}

fn normalized(expected: &str, all: &BTreeMap<String, usize>) -> String {
    if expected == "*" {
        return written(all);
    }
    let mut counts = BTreeMap::new();
    for part in expected.split_whitespace().filter(|p| *p != "-") {
        let (node, n) = part.split_once(':').unwrap_or((part, "1"));
        counts.insert(node.to_string(), n.parse().unwrap_or(0));
    }
    written(&counts)
}

/// Runs `filter` on the store: matching entries per node, or the error printed.
fn matches(store: &Path, filter: &str) -> Result<BTreeMap<String, usize>, String> {
    let r = run(shark()
        .arg("query")
        .arg("--store")
        .arg(store)
        .args(["-o", "json", "--limit", "100000"])
        .arg(filter));
    if r.code != 0 {
        return Err(r.stderr);
    }
    let mut counts = BTreeMap::new();
    for line in r.stdout.lines() {
        let entry: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("bad NDJSON line {line:?}: {e}"));
        let node = entry["node"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        *counts.entry(node).or_insert(0) += 1;
    }
    Ok(counts)
}

#[test]
fn kubeshark_filters_in_both_dialects_match_what_they_should() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path();
    for (node, capture) in CAPTURES {
        import(store, &fixture(&format!("deepflow/{capture}")), node);
    }
    let all = matches(store, "").unwrap_or_else(|e| panic!("{e}"));
    let mut failures = Vec::new();
    let mut tally: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for row in table() {
        let outcome = matches(store, &row.filter);
        let counted = tally.entry(row.dialect.clone()).or_default();
        counted.1 += 1;
        match (row.expected.as_str(), outcome) {
            ("refused", Err(_)) => {}
            ("refused", Ok(found)) => failures.push(format!(
                "line {}: `{}` should be refused, matched {}",
                row.line,
                row.filter,
                written(&found)
            )),
            (expected, Ok(found)) => {
                counted.0 += 1;
                let want = normalized(expected, &all);
                if written(&found) != want {
                    failures.push(format!(
                        "line {}: `{}` matched {}, expected {want}",
                        row.line,
                        row.filter,
                        written(&found)
                    ));
                }
            }
            (_, Err(error)) => failures.push(format!(
                "line {}: `{}` was refused:\n{error}",
                row.line, row.filter
            )),
        }
    }
    for (dialect, (accepted, total)) in &tally {
        println!(
            "{dialect}: {accepted} of {total} filters accepted ({:.1} %)",
            100.0 * *accepted as f64 / *total as f64
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    for (dialect, target) in TARGETS {
        let (accepted, total) = tally.get(dialect).copied().unwrap_or_default();
        assert!(
            accepted as f64 >= target * total as f64,
            "{dialect}: {accepted} of {total} accepted, below {:.0} %",
            target * 100.0
        );
    }
}

#[test]
fn redact_in_the_filter_and_as_a_flag_hides_fields_in_what_is_printed() {
    let dir = tempfile::tempdir().expect("tempdir");
    import(dir.path(), &fixture("deepflow/http.pcap"), "http");
    let r = crate::util::run_ok(
        shark()
            .arg("query")
            .arg("--store")
            .arg(dir.path())
            .args(["-o", "json", "--redact", "response.body"])
            .arg(r#"http and redact("request.headers.user-agent")"#),
    );
    let entry: serde_json::Value = serde_json::from_str(r.stdout.trim()).expect("one entry");
    assert_eq!(entry["request"]["headers"]["User-Agent"], "[REDACTED]");
    assert_eq!(entry["response"]["body"], "[REDACTED]");
    assert_eq!(entry["request"]["headers"]["Host"], "10.1.6.92");
}

#[test]
fn every_filter_the_readme_shows_in_both_dialects_is_accepted() {
    let readme = std::fs::read_to_string(workspace().join("README.md")).expect("README.md");
    let section = readme
        .split_once("KFL, the Kubeshark Filter Language")
        .map(|(_, rest)| rest)
        .expect("the README's KFL section");
    let mut checked = 0;
    for block in section.split("```").skip(1).step_by(2).take(2) {
        for filter in block.lines().filter(|line| !line.trim().is_empty()) {
            let r = run(shark().args(["query", "--explain"]).arg(filter));
            assert_eq!(r.code, 0, "README filter `{filter}`:\n{}", r.stderr);
            checked += 1;
        }
    }
    assert!(checked >= 15, "only {checked} README filters found");
}

#[test]
fn fields_lists_both_spellings_and_the_protocols_not_dissected() {
    let out = crate::util::run_ok(shark().arg("fields")).stdout;
    for (name, target) in [
        ("status_code", "response.status"),
        ("src.pod.name", "src.pod"),
        ("grpc_method", "request.grpcMethod"),
        ("requestSize", "request.size"),
    ] {
        assert!(
            out.lines()
                .any(|l| l.starts_with(name) && l.trim_end().ends_with(&format!("=  {target}"))),
            "`fields` does not list {name} = {target}:\n{out}"
        );
    }
    assert!(
        out.contains("not dissected here") && out.contains("mongodb"),
        "{out}"
    );
}
