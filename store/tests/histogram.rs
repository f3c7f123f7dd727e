//! The dashboard's histogram counted in SQL: the same counts as decoding every entry and asking
//! `Entry::failed`, for every protocol's kind of failure, and the decoding path kept for filters
//! the index cannot answer and for entries written before failures were recorded.

use serde_json::json;
use shark_store::{Entry, NodeWriter, Query, Store, StoreConfig, entry_schema};

const SECOND: i64 = 1_000_000_000;
const T0: i64 = 1_790_000_000 * SECOND;

/// An exchange of `protocol` answered `status` (none when `Null`), with `error` and extra
/// response fields.
fn exchange(
    protocol: &str,
    status: serde_json::Value,
    error: Option<&str>,
    extra: &[(&str, serde_json::Value)],
) -> Entry {
    let mut e = Entry {
        stream: 1,
        error: error.map(String::from),
        ..Entry::default()
    };
    e.node.name = "n".into();
    e.dst.name = format!("{protocol}-server");
    e.dst.port = 80;
    e.protocol.name = protocol.into();
    if !status.is_null() {
        e.response.insert("status".into(), status);
    }
    for (k, v) in extra {
        e.response.insert((*k).into(), v.clone());
    }
    e
}

/// Every protocol's failures, and answers that look alike but did not fail.
fn kinds() -> Vec<Entry> {
    let none = serde_json::Value::Null;
    vec![
        exchange("http", json!(503), None, &[]),
        exchange("http", json!(500), None, &[]),
        exchange("http", json!(404), None, &[]),
        exchange("http", json!(200), None, &[]),
        exchange("http", json!(200), Some("response cut off (reset)"), &[]),
        exchange("http", none.clone(), Some("no response (timeout)"), &[]),
        exchange(
            "gql",
            json!(200),
            None,
            &[("graphql", json!({"errors": 1}))],
        ),
        exchange("gql", json!(200), None, &[]),
        exchange("gql", json!(502), None, &[]),
        exchange("grpc", json!(14), None, &[]),
        exchange("grpc", json!(0), None, &[]),
        exchange("dns", json!(3), None, &[]),
        exchange("dns", json!(0), None, &[]),
        exchange(
            "dns",
            none.clone(),
            Some("malformed DNS message: short"),
            &[],
        ),
        exchange("redis", json!(1), None, &[]),
        exchange("redis", json!(0), None, &[]),
        exchange("postgres", json!(1), Some("ERROR 42P01"), &[]),
        exchange("postgres", json!(0), None, &[]),
        exchange("mysql", json!(1), None, &[]),
        exchange("kafka", json!(3), None, &[]),
        exchange("kafka", json!(0), None, &[]),
        exchange("amqp", json!(404), None, &[]),
        exchange(
            "icmp",
            none.clone(),
            Some("echo reply without a request"),
            &[],
        ),
        exchange("tcp", none, None, &[]),
        // A status that is text: the index reads it as a number, `failed` does not.
        exchange("http", json!("503"), None, &[]),
    ]
}

/// A store of node `n` holding `kinds()` over and over, one a second for `n` seconds.
fn store(n: usize) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = NodeWriter::open(dir.path(), "n", StoreConfig::default()).unwrap();
    let kinds = kinds();
    for i in 0..n {
        let mut e = kinds[i % kinds.len()].clone();
        e.timestamp = T0 + i as i64 * SECOND;
        writer.write_entry(e).unwrap();
    }
    writer.finish().unwrap();
    let store = Store::open(dir.path()).unwrap();
    (dir, store)
}

fn query(kfl: &str) -> Query {
    Query {
        from: Some(T0),
        to: Some(T0 + 1000 * SECOND),
        filter: (!kfl.is_empty()).then(|| kfl::compile(kfl, &entry_schema()).unwrap()),
        ..Query::default()
    }
}

/// Entries and failures per 100 s of `q`'s window, counted by decoding every entry.
fn decoded(store: &Store, q: &Query) -> (Vec<u64>, Vec<u64>) {
    let (mut entries, mut errors) = (vec![0; 10], vec![0; 10]);
    for e in store.query(q).unwrap() {
        let e = e.unwrap();
        let at = ((e.timestamp - T0) / (100 * SECOND)) as usize;
        entries[at] += 1;
        errors[at] += u64::from(e.failed());
    }
    (entries, errors)
}

#[test]
fn counts_in_sql_agree_with_failed_for_every_protocol() {
    let (_dir, store) = store(1000);
    for kfl in [
        "",
        "dst.port == 80",
        "http or dns",
        "response.status >= 3",
        "timestamp < 1790000500000",
    ] {
        let q = query(kfl);
        let h = store.histogram(&q, 10).unwrap().unwrap();
        assert_eq!((h.entries, h.errors), decoded(&store, &q), "{kfl:?}");
    }
    // Not vacuous: 15 of the 25 kinds failed.
    let all = store.histogram(&query(""), 1).unwrap().unwrap();
    assert_eq!((all.entries[0], all.errors[0]), (1000, 40 * 15));
}

/// Deletes every stored entry's body (blocks), leaving the index columns: only SQL can still count.
fn drop_blocks(dir: &std::path::Path) {
    let conn = rusqlite::Connection::open(dir.join("n/index.sqlite")).unwrap();
    conn.execute("DELETE FROM blocks", []).unwrap();
}

#[test]
fn a_filter_the_index_answers_decodes_nothing() {
    let (dir, store) = store(100);
    let expected = store.histogram(&query("http"), 4).unwrap().unwrap();
    drop_blocks(dir.path());
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(
        store.histogram(&query("http"), 4).unwrap().unwrap(),
        expected
    );
    // A residual filter has to decode, and finds the blocks gone.
    assert!(store.histogram(&query("request.path == \"/\""), 4).is_err());
}

#[test]
fn entries_written_before_failures_were_recorded_are_decoded() {
    let (dir, store) = store(100);
    let expected = store.histogram(&query(""), 4).unwrap().unwrap();
    // As an index migrated from an older schema: its entries are not in `failures`.
    let conn = rusqlite::Connection::open(dir.path().join("n/index.sqlite")).unwrap();
    conn.execute_batch(
        "DELETE FROM failures; UPDATE counters SET value = 1000 WHERE name = 'failures_from'",
    )
    .unwrap();
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.histogram(&query(""), 4).unwrap().unwrap(), expected);
    assert!(expected.errors.iter().sum::<u64>() > 0);
}

#[test]
fn an_index_at_the_schema_before_failures_is_decoded() {
    let (dir, store) = store(100);
    let expected = store.histogram(&query(""), 4).unwrap().unwrap();
    // As a reader finds an index no writer of this build has opened yet.
    let conn = rusqlite::Connection::open(dir.path().join("n/index.sqlite")).unwrap();
    conn.execute_batch(
        "DROP TABLE failures; DELETE FROM counters WHERE name = 'failures_from'; PRAGMA user_version = 7",
    )
    .unwrap();
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.histogram(&query(""), 4).unwrap().unwrap(), expected);
}
