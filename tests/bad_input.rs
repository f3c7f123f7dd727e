//! Bad input of every kind: one clear line naming the problem, exit status 2, and the store untouched.

use std::path::Path;

use crate::util::{Run, fixture, import, run, shark, snapshot};

/// A store that already holds one import, to check that failures leave it as it was.
fn populated_store() -> tempfile::TempDir {
    let store = tempfile::tempdir().expect("temp dir");
    import(store.path(), &fixture("deepflow/http.pcap"), "n");
    store
}

fn import_into(store: &Path, capture: &Path) -> Run {
    run(shark().arg("import").arg(capture).arg("--store").arg(store))
}

/// The failure is reported as exactly one line on stderr, saying `needle`.
fn assert_one_line_error(r: &Run, needle: &str) {
    assert_eq!(r.code, 2, "exit status 2; stderr: {}", r.stderr);
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line, got: {:?}", r.stderr);
    assert!(
        lines[0].contains(needle),
        "{:?} should mention {needle:?}",
        lines[0]
    );
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
}

#[test]
fn missing_capture_file_is_named() {
    let store = populated_store();
    let before = snapshot(store.path());
    let r = import_into(store.path(), Path::new("/nonexistent/capture.pcap"));
    assert_one_line_error(&r, "/nonexistent/capture.pcap");
    assert_eq!(snapshot(store.path()), before);
}

#[test]
fn a_file_that_is_not_a_capture_is_refused() {
    let store = populated_store();
    let before = snapshot(store.path());
    let dir = tempfile::tempdir().expect("temp dir");
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "these are not packets\n".repeat(20)).expect("write");
    let r = import_into(store.path(), &notes);
    assert_one_line_error(&r, "notes.txt");
    assert_eq!(snapshot(store.path()), before);
}

#[test]
fn a_capture_cut_off_mid_record_is_refused_whole() {
    let store = populated_store();
    let before = snapshot(store.path());
    let dir = tempfile::tempdir().expect("temp dir");
    let bytes = std::fs::read(fixture("deepflow/http__httpv1.pcap")).expect("read");
    let cut = dir.path().join("cut.pcap");
    std::fs::write(&cut, &bytes[..bytes.len() - 10]).expect("write");
    let r = import_into(store.path(), &cut);
    assert_one_line_error(&r, "cut.pcap");
    assert!(r.stderr.contains("cut off"), "{}", r.stderr);
    assert_eq!(snapshot(store.path()), before);
}

#[test]
fn an_unwritable_store_path_is_named() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").expect("write");
    // A store "inside" a regular file cannot be created, even by root.
    let store = file.join("store");
    let r = import_into(&store, &fixture("deepflow/http.pcap"));
    assert_one_line_error(&r, "a-file");
}

#[test]
fn a_kfl_syntax_error_is_a_diagnostic_and_exit_2() {
    let store = populated_store();
    let before = snapshot(store.path());
    let r = run(shark()
        .arg("query")
        .arg("--store")
        .arg(store.path())
        .arg("http and (response.status >"));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.starts_with("error"), "{}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    assert_eq!(snapshot(store.path()), before);
}

#[test]
fn a_bad_time_flag_says_what_it_accepts() {
    let store = populated_store();
    let r = run(shark()
        .arg("query")
        .arg("--store")
        .arg(store.path())
        .args(["--from", "yesterday-ish"]));
    assert_one_line_error(&r, "yesterday-ish");
}

#[test]
fn querying_a_store_that_does_not_exist_names_it() {
    let r = run(shark().args(["query", "--store", "/nonexistent/store"]));
    assert_one_line_error(&r, "/nonexistent/store");
}

#[test]
fn an_unknown_kfl_field_is_shown_with_a_caret_and_a_suggestion() {
    let store = populated_store();
    let r = run(shark()
        .arg("query")
        .arg("--store")
        .arg(store.path())
        .arg("http and respnse.status == 200"));
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.starts_with("error[E101]: unknown field `respnse`"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("^^^^^^^ did you mean `response`?"),
        "{}",
        r.stderr
    );
}

#[test]
fn explain_shows_what_the_index_answers_and_what_is_left() {
    let r = crate::util::run_ok(shark().args([
        "query",
        "--explain",
        r#"http and src.namespace == "shop" and request.headers["x"] == "y""#,
    ]));
    assert!(
        r.stdout
            .contains(r#"index:    protocol.name == "http" and src.namespace == "shop""#),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains(r#"residual: request.headers["x"] == "y""#),
        "{}",
        r.stdout
    );
}
