//! An index written by an older build is carried forward: `tests/data/index-v6.sqlite` is the index
//! the build before schema version 7 (connection columns in every `entries` row, LZ4 blocks of
//! format 2, connection records) wrote for `tests/data/demo.pcap` imported with the demo identities and
//! `--index-body 0`. Put in place of a fresh import's index, it is migrated when first read and
//! then answers every pushed-down filter exactly as the fresh index does; `reindex` rebuilds it.
//! `tests/data/index-v8.sqlite` is what the build before schema version 9 (LZ4 blocks of format 3)
//! wrote for the same import: its blocks are read as they are beside the deflate ones written since.
//! `tests/data/index-v9.sqlite` is what the build before schema version 10 (deflate blocks of format
//! 4 with ids of their own, each `entries` row naming its block) wrote for it: migrating rebuilds
//! `blocks` keyed by first entry id and `entries` without the block, keeping the blocks' data.
//! `tests/data/index-v10.sqlite` is what the build before schema version 11 (deflated column blocks
//! of format 5) wrote for it: its blocks are read as they are beside the zstd ones written since.

use std::path::Path;

use crate::util::{query_json, run_ok, shark, workspace};

/// Filters over every indexed column (node, both endpoints, ports, protocol, method, status), each
/// with how many demo entries it matches.
const FILTERS: &[(&str, usize)] = &[
    ("", 43),
    (r#"node.name == "local""#, 43),
    (r#"src.namespace == "batch""#, 6),
    (r#"src.ip == "10.33.0.31""#, 2),
    ("src.port == 61959", 2),
    (r#"src.pod == "checkout-7d9f""#, 4),
    (r#"dst.name == "kube-dns" and response.status == 3"#, 3),
    (r#"dst.service == "kube-dns""#, 8),
    (r#"dst.pod == "postgres-0""#, 2),
    (r#"dst.namespace != "kube-system""#, 35),
    ("dst.port == 6379", 19),
    (r#"redis and src.ip != "10.33.0.31""#, 10),
    (r#"protocol.version == "1.1""#, 5),
    (r#"request.method == "POST""#, 5),
    ("response.status >= 200", 5),
    (r#"dst.port == 53 or protocol.name == "kafka""#, 9),
    ("conn", 19),
];

/// The first bytes of a format-4 block (deflate), in hex.
const DEFLATE: &str = "534B34FF";
/// The first bytes of a format-5 block (deflate over columns), in hex.
const DEFLATED_COLUMNS: &str = "534B35FF";
/// The first bytes of a format-6 block (zstd over columns), in hex.
const COLUMNS: &str = "534B36FF";

/// The store at `dir` (a copy of `fresh`) with the old index `tests/data/NAME` in place of its own.
fn old_store(fresh: &Path, dir: &Path, name: &str) {
    run_ok(
        std::process::Command::new("cp")
            .arg("-r")
            .arg(fresh)
            .arg(dir),
    );
    let index = dir.join("local/index.sqlite");
    std::fs::copy(workspace().join("tests/data").join(name), &index).unwrap();
}

/// Every filter gives the same entries, byte for byte, from `store` as from `fresh`.
fn answers_as_fresh(fresh: &Path, store: &Path) {
    for (filter, count) in FILTERS {
        let args: &[&str] = if filter.is_empty() { &[] } else { &[filter] };
        let want = query_json(fresh, args);
        assert_eq!(want.len(), *count, "fresh index, {filter:?}");
        let got = query_json(store, args);
        assert_eq!(got.len(), want.len(), "{filter:?}");
        for (i, (got, want)) in got.iter().zip(&want).enumerate() {
            assert_eq!(got, want, "{filter:?}, entry {i}");
        }
    }
}

fn schema_version(store: &Path) -> i64 {
    rusqlite::Connection::open(store.join("local/index.sqlite"))
        .unwrap()
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap()
}

/// A fresh import of the demo capture into `dir/fresh`.
fn fresh_store(dir: &Path) -> std::path::PathBuf {
    let fresh = dir.join("fresh");
    run_ok(
        shark()
            .arg("import")
            .arg(workspace().join("tests/data/demo.pcap"))
            .arg("--store")
            .arg(&fresh)
            .arg("--identities")
            .arg(workspace().join("tests/data/demo-identities.yaml"))
            .args(["--index-body", "0"]),
    );
    fresh
}

/// `reindex` of `store` with the demo capture's identities.
fn reindex(store: &Path) {
    run_ok(
        shark()
            .args(["reindex", "--store"])
            .arg(store)
            .arg("--identities")
            .arg(workspace().join("tests/data/demo-identities.yaml")),
    );
}

/// How many of the index's blocks begin with each format's magic (`SK3\xff`: LZ4, `SK4\xff`: deflate,
/// `SK5\xff`: deflate over columns, `SK6\xff`: zstd over columns).
fn blocks_by_format(store: &Path) -> Vec<(String, i64)> {
    index_rows(
        store,
        "SELECT hex(substr(data, 1, 4)), count(*) FROM blocks GROUP BY 1 ORDER BY 1",
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

/// Every row `sql` selects from the index of `store`'s node `local`, each made by `row`.
fn index_rows<T>(
    store: &Path,
    sql: &str,
    row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> Vec<T> {
    let conn = rusqlite::Connection::open(store.join("local/index.sqlite")).unwrap();
    let mut stmt = conn.prepare(sql).unwrap();
    stmt.query_map([], row)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn an_old_index_is_migrated_and_answers_like_a_fresh_one() {
    let dir = tempfile::tempdir().unwrap();
    let fresh = fresh_store(dir.path());
    let old = dir.path().join("old");
    old_store(&fresh, &old, "index-v6.sqlite");
    assert_eq!(schema_version(&old), 6);
    answers_as_fresh(&fresh, &old);
    assert_eq!(schema_version(&old), 11, "migrated when first read");
    // The old entries table is gone, its columns carried into `peers`.
    let conn = rusqlite::Connection::open(old.join("local/index.sqlite")).unwrap();
    let peers: i64 = conn
        .query_row("SELECT count(*) FROM peers", [], |r| r.get(0))
        .unwrap();
    assert!((1..43).contains(&peers), "{peers} peers for 43 entries");
    drop(conn);
    // The plan still pushes the connection columns down.
    let explain = run_ok(
        shark()
            .args(["query", "--explain", "--store"])
            .arg(&old)
            .arg(r#"dst.service == "kube-dns""#),
    );
    assert!(explain.stdout.contains("dst.service"), "{}", explain.stdout);

    let rebuilt = dir.path().join("rebuilt");
    old_store(&fresh, &rebuilt, "index-v6.sqlite");
    reindex(&rebuilt);
    assert_eq!(schema_version(&rebuilt), 11);
    answers_as_fresh(&fresh, &rebuilt);
}

#[test]
fn an_index_of_lz4_blocks_answers_like_a_fresh_one() {
    let dir = tempfile::tempdir().unwrap();
    let fresh = fresh_store(dir.path());
    assert_eq!(blocks_by_format(&fresh), [(COLUMNS.to_string(), 17)]);
    let old = dir.path().join("old");
    old_store(&fresh, &old, "index-v8.sqlite");
    assert_eq!(schema_version(&old), 8);
    assert_eq!(blocks_by_format(&old), [("534B33FF".to_string(), 17)]);
    answers_as_fresh(&fresh, &old);
    assert_eq!(schema_version(&old), 11, "migrated when first read");
    assert_eq!(blocks_by_format(&old), [("534B33FF".to_string(), 17)]);
}

/// The names of a table's columns.
fn columns(store: &Path, table: &str) -> Vec<String> {
    let sql = format!("SELECT name FROM pragma_table_info('{table}') ORDER BY cid");
    index_rows(store, &sql, |r| r.get(0))
}

#[test]
fn an_index_whose_rows_name_their_blocks_answers_like_a_fresh_one() {
    let dir = tempfile::tempdir().unwrap();
    let fresh = fresh_store(dir.path());
    let old = dir.path().join("old");
    old_store(&fresh, &old, "index-v9.sqlite");
    assert_eq!(schema_version(&old), 9);
    assert!(columns(&old, "entries").contains(&"block".to_string()));
    assert_eq!(blocks_by_format(&old), [(DEFLATE.to_string(), 17)]);
    answers_as_fresh(&fresh, &old);
    assert_eq!(schema_version(&old), 11, "migrated when first read");
    assert_eq!(
        columns(&old, "entries"),
        ["ts", "id", "peer", "src_port", "method", "status"]
    );
    assert_eq!(columns(&old, "blocks"), ["first_id", "max_ts", "data"]);
    assert_eq!(blocks_by_format(&old), [(DEFLATE.to_string(), 17)]);

    let rebuilt = dir.path().join("rebuilt");
    old_store(&fresh, &rebuilt, "index-v9.sqlite");
    reindex(&rebuilt);
    assert_eq!(blocks_by_format(&rebuilt), [(COLUMNS.to_string(), 17)]);
    answers_as_fresh(&fresh, &rebuilt);
}

#[test]
fn an_index_of_deflated_column_blocks_answers_like_a_fresh_one() {
    let dir = tempfile::tempdir().unwrap();
    let fresh = fresh_store(dir.path());
    let old = dir.path().join("old");
    old_store(&fresh, &old, "index-v10.sqlite");
    assert_eq!(schema_version(&old), 10);
    assert_eq!(blocks_by_format(&old), [(DEFLATED_COLUMNS.to_string(), 17)]);
    answers_as_fresh(&fresh, &old);
    // Migrated by its version alone: the deflated blocks stay as they are.
    assert_eq!(schema_version(&old), 11, "migrated when first read");
    assert_eq!(blocks_by_format(&old), [(DEFLATED_COLUMNS.to_string(), 17)]);

    let rebuilt = dir.path().join("rebuilt");
    old_store(&fresh, &rebuilt, "index-v10.sqlite");
    reindex(&rebuilt);
    assert_eq!(blocks_by_format(&rebuilt), [(COLUMNS.to_string(), 17)]);
    answers_as_fresh(&fresh, &rebuilt);
}
