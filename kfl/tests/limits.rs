//! Hostile sizes and shapes: long or deeply nested filters are rejected with a diagnostic, never
//! a crash, and what is accepted compiles and runs on a small thread stack (tokio's workers have
//! 2 MiB; these tests use less).

mod common;

use common::{INDEX, JsonRecord, NOW, entry_schema, samples};

/// Runs `f` on a thread with a `stack`-byte stack and returns its result.
fn on_small_stack<T: Send + 'static>(stack: usize, f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(stack)
        .spawn(f)
        .and_then(|handle| {
            handle
                .join()
                .map_err(|_| std::io::Error::other("thread panicked"))
        })
        .unwrap_or_else(|e| panic!("running on a small stack: {e}"))
}

fn codes(source: String) -> Vec<&'static str> {
    on_small_stack(256 * 1024, move || {
        match kfl::compile_at(&source, &entry_schema(), NOW) {
            Ok(_) => Vec::new(),
            Err(diagnostics) => diagnostics.codes(),
        }
    })
}

#[test]
fn a_filter_over_64_kib_is_rejected_as_too_long() {
    assert_eq!(codes("not ".repeat(100_000) + "http"), ["E014"]);
}

#[test]
fn a_long_run_of_nots_is_rejected_as_too_deep() {
    assert_eq!(codes("not ".repeat(16_000) + "http"), ["E013"]);
}

#[test]
fn a_long_or_chain_is_rejected_as_too_deep() {
    let chain = vec!["dst.port == 80"; 3_000].join(" or ");
    assert_eq!(codes(chain), ["E013"]);
}

#[test]
fn redundant_parentheses_do_not_nest() {
    assert_eq!(
        codes("(".repeat(10_000) + "http" + &")".repeat(10_000)),
        Vec::<&str>::new()
    );
}

#[test]
fn deep_method_chains_are_rejected_as_too_deep() {
    assert_eq!(
        codes("request.path".to_string() + &".lower()".repeat(5_000) + " == \"a\""),
        ["E013"]
    );
}

#[test]
fn a_deep_syntax_error_is_reported_without_crashing() {
    let chain = vec!["dst.port == 80"; 3_000].join(" or ") + " or";
    assert_eq!(codes(chain), ["E011"]);
}

#[test]
fn thousands_of_top_level_conditions_are_fine() {
    let conditions = vec!["dst.port != 1"; 3_000].join(" and ");
    assert_eq!(codes(conditions), Vec::<&str>::new());
}

#[test]
fn nesting_just_under_the_limit_compiles_and_runs_on_a_small_stack() {
    let samples = samples();
    let (_, json) = samples
        .into_iter()
        .find(|(name, _)| name == "http_404_token")
        .unwrap_or_else(|| panic!("no sample"));
    let matched = on_small_stack(1024 * 1024, move || {
        let schema = entry_schema();
        let source =
            vec!["dst.port == 1"; 48].join(" or ") + " or (" + &"not ".repeat(48) + "http)";
        let filter = kfl::compile_at(&source, &schema, NOW).unwrap_or_else(|d| panic!("{d}"));
        let _ = filter.plan(&INDEX).to_string();
        filter.matches(&JsonRecord {
            json,
            root: &schema.root,
        })
    });
    assert!(matched, "48 nots of `http` on an HTTP entry is `http`");
}

#[test]
fn thousands_of_errors_render_the_first_twenty_and_a_count() {
    let source = (0..1_000)
        .map(|i| format!("nofield{i} == 1"))
        .collect::<Vec<_>>()
        .join(" and ");
    let diagnostics = kfl::compile_at(&source, &entry_schema(), NOW)
        .err()
        .unwrap_or_else(|| panic!("compiled"));
    assert_eq!(diagnostics.codes().len(), 1_000);
    let text = diagnostics.to_string();
    assert_eq!(text.matches("error[E101]").count(), 20);
    assert!(
        text.ends_with("… and 980 more errors"),
        "{}",
        text.lines().last().unwrap_or_default()
    );
    assert!(text.len() < 20 * 600, "{} bytes rendered", text.len());
}

#[test]
fn a_64_kib_filter_of_regexes_is_refused_before_any_is_compiled() {
    // Each `\w{100}` compiles to hundreds of KiB of Unicode classes: thousands of them would take
    // seconds and gigabytes. The budget refuses the filter on its tokens.
    let one = r#"request.path == r"\w{100}\w{100}""#;
    let filter = vec![one; 64 * 1024 / (one.len() + 4)].join(" or ");
    assert!(filter.len() > 60 * 1024 && filter.len() <= 64 * 1024);
    assert_eq!(codes(filter.clone()), ["E014"]);
    let rendered = kfl::compile_at(&filter, &entry_schema(), NOW)
        .err()
        .map(|d| d.to_string())
        .unwrap_or_default();
    assert!(rendered.contains("too many regexes"), "{rendered}");
}
