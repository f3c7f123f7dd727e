//! Golden tests: one case per file under `tests/golden/`, run by this one harness.
//!
//! A case file:
//! ```text
//! sample: http_404_token          (a file stem under tests/samples/; omitted for errors)
//! --- filter
//! http and response.status == r"4.*"
//! --- expect
//! match                           (or `no match`, or the exact diagnostics printed)
//! --- plan                        (optional: the planner's split, as `--explain` prints it)
//! index:    protocol.name == "http"
//! residual: response.status == r"4.*"
//! ```
//! Every `match`/`no match` case also checks the planner on its sample: `index and residual`
//! must select exactly what the whole filter selects.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{INDEX, JsonRecord, NOW, entry_schema, samples};

struct Case {
    sample: Option<String>,
    sections: BTreeMap<String, String>,
}

fn parse_case(text: &str) -> Result<Case, String> {
    let mut sample = None;
    let mut sections = BTreeMap::new();
    let mut current: Option<(String, Vec<&str>)> = None;
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("--- ") {
            if let Some((name, lines)) = current.take() {
                sections.insert(name, lines.join("\n").trim_end().to_string());
            }
            current = Some((name.trim().to_string(), Vec::new()));
        } else if let Some((_, lines)) = current.as_mut() {
            lines.push(line);
        } else if let Some(name) = line.strip_prefix("sample:") {
            sample = Some(name.trim().to_string());
        } else if !line.trim().is_empty() && !line.starts_with('#') {
            return Err(format!("unexpected header line `{line}`"));
        }
    }
    if let Some((name, lines)) = current {
        sections.insert(name, lines.join("\n").trim_end().to_string());
    }
    Ok(Case { sample, sections })
}

fn run_case(
    case: &Case,
    schema: &kfl::Schema,
    samples: &BTreeMap<String, serde_json::Value>,
) -> Result<(), String> {
    let filter_source = case
        .sections
        .get("filter")
        .ok_or("no `--- filter` section")?;
    let expect = case
        .sections
        .get("expect")
        .ok_or("no `--- expect` section")?;
    let compiled = kfl::compile_at(filter_source, schema, NOW);
    match expect.as_str() {
        "match" | "no match" => {
            let filter = compiled
                .map_err(|diagnostics| format!("expected it to compile, got:\n{diagnostics}"))?;
            let name = case
                .sample
                .as_ref()
                .ok_or("`match` cases need a `sample:` line")?;
            let json = samples
                .get(name)
                .ok_or_else(|| format!("no sample `{name}`"))?
                .clone();
            let record = JsonRecord {
                json,
                root: &schema.root,
            };
            let matched = filter.matches(&record);
            if matched != (expect == "match") {
                return Err(format!(
                    "expected {expect}, got {}",
                    if matched { "match" } else { "no match" }
                ));
            }
            let plan = filter.plan(&INDEX);
            let split = plan.index.matches(&record)
                && plan
                    .residual
                    .as_ref()
                    .is_none_or(|residual| residual.matches(&record));
            if split != matched {
                return Err(format!(
                    "the plan disagrees with the filter (plan says {split}):\n{plan}"
                ));
            }
            if let Some(expected_plan) = case.sections.get("plan") {
                let actual = plan.to_string();
                if &actual != expected_plan {
                    return Err(format!(
                        "plan differs.\nexpected:\n{expected_plan}\nactual:\n{actual}"
                    ));
                }
            }
            Ok(())
        }
        expected_diagnostics => match compiled {
            Ok(filter) => Err(format!(
                "expected diagnostics, but it compiled to `{filter}`"
            )),
            Err(diagnostics) => {
                let actual = diagnostics.to_string();
                if actual == expected_diagnostics {
                    Ok(())
                } else {
                    Err(format!(
                        "diagnostics differ.\nexpected:\n{expected_diagnostics}\nactual:\n{actual}"
                    ))
                }
            }
        },
    }
}

#[test]
fn golden_cases() {
    let schema = entry_schema();
    let samples: BTreeMap<String, serde_json::Value> = samples().into_iter().collect();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "case"))
        .collect();
    paths.sort();
    assert!(
        paths.len() >= 60,
        "the issue asks for at least 60 golden cases, found {}",
        paths.len()
    );
    let mut failures = Vec::new();
    for path in &paths {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        if let Err(message) = parse_case(&text).and_then(|case| run_case(&case, &schema, &samples))
        {
            failures.push(format!("── {name}\n{message}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} golden cases failed:\n\n{}",
        failures.len(),
        paths.len(),
        failures.join("\n\n")
    );
}
