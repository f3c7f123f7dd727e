//! Queries longer than a page (512 entries): the pages after the first are read on other cores,
//! and must come back whole, in order, each entry once, and stop at a damaged block with its error.

use std::path::Path;

use shark_store::{Entry, NodeWriter, Query, Store, StoreConfig, StoreError, entry_schema};

const SECOND: i64 = 1_000_000_000;
const T0: i64 = 1_790_000_000 * SECOND;
/// Entries written: five pages and some.
const ENTRIES: usize = 5 * 512 + 77;

/// A store of one node with [`ENTRIES`] HTTP exchanges, the i-th at `T0 + i ms`, path `/i`.
fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = NodeWriter::open(dir.path(), "n1", StoreConfig::default()).unwrap();
    for i in 0..ENTRIES {
        let mut e = Entry {
            timestamp: T0 + i as i64 * 1_000_000,
            stream: 1 + (i % 5) as u64,
            ..Entry::default()
        };
        e.node.name = "n1".into();
        e.protocol.name = "http".into();
        e.protocol.version = "1.1".into();
        e.request.insert("method".into(), "GET".into());
        e.request.insert("path".into(), format!("/{i}").into());
        e.response.insert("status".into(), 200.into());
        writer.write_entry(e).unwrap();
    }
    writer.finish().unwrap();
    let store = Store::open(dir.path()).unwrap();
    (dir, store)
}

/// Overwrites with garbage the index block of `root`'s node holding entry `id`.
fn damage_block_holding(root: &Path, id: i64) {
    let conn = rusqlite::Connection::open(root.join("n1/index.sqlite")).unwrap();
    let damaged = conn
        .execute(
            "UPDATE blocks SET data = x'0102030405' WHERE first_id =
               (SELECT max(first_id) FROM blocks WHERE first_id <= ?1)",
            [id],
        )
        .unwrap();
    assert_eq!(damaged, 1);
}

fn paths(store: &Store, kfl: &str, limit: Option<usize>) -> Vec<String> {
    let filter = (!kfl.is_empty()).then(|| kfl::compile(kfl, &entry_schema()).unwrap());
    let q = Query {
        filter,
        limit,
        ..Query::default()
    };
    store
        .query(&q)
        .unwrap()
        .map(|e| e.unwrap().request["path"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn every_page_comes_back_in_order_each_entry_once() {
    let (_dir, store) = store();
    let all: Vec<String> = (0..ENTRIES).map(|i| format!("/{i}")).collect();
    assert_eq!(paths(&store, "", None), all);
    // A residual filter (the index cannot answer `endsWith`) keeps a tenth of each page.
    let sevens: Vec<String> = all.iter().filter(|p| p.ends_with('7')).cloned().collect();
    assert_eq!(paths(&store, r#"request.path.endsWith("7")"#, None), sevens);
    // A limit past the first pages stops exactly there.
    assert_eq!(paths(&store, "", Some(1500)), all[..1500].to_vec());
    assert_eq!(
        paths(&store, r#"request.path.endsWith("7")"#, Some(200)),
        sevens[..200].to_vec()
    );
}

#[test]
fn a_damaged_block_past_the_first_page_ends_the_query_with_its_error() {
    let (dir, store) = store();
    // The block holding the 2000th entry (ids count from 1) is overwritten with garbage.
    damage_block_holding(dir.path(), 2000);
    let mut good = 0;
    let mut failed = None;
    for found in store.query(&Query::default()).unwrap() {
        match found {
            Ok(e) => {
                assert!(failed.is_none(), "an entry after the error: {e:?}");
                assert_eq!(e.request["path"], format!("/{good}"));
                good += 1;
            }
            Err(e) => failed = Some(e),
        }
    }
    assert!(
        matches!(failed, Some(StoreError::CorruptEntry { .. })),
        "{failed:?}"
    );
    // Every page before the damaged block's came back whole.
    assert!(
        (1536..2000).contains(&good),
        "{good} entries before the error"
    );
}

#[test]
fn a_limit_reads_nothing_past_its_last_entry() {
    let (dir, store) = store();
    // The block just past the 1024th entry is damaged: a query stopping at 1024 never reads it.
    damage_block_holding(dir.path(), 1025);
    let q = Query {
        limit: Some(1024),
        ..Query::default()
    };
    let read: Result<Vec<Entry>, StoreError> = store.query(&q).unwrap().collect();
    assert_eq!(read.map(|entries| entries.len()).ok(), Some(1024));
}

#[test]
fn blocks_deflated_by_older_builds_read_between_zstd_ones() {
    let (dir, store) = store();
    // Every other block rewritten as schema version 10 wrote it: format 5, the same columns
    // deflated behind `SK5\xff`; the rest stay zstd (format 6, `SK6\xff`).
    let conn = rusqlite::Connection::open(dir.path().join("n1/index.sqlite")).unwrap();
    let blocks: Vec<(i64, Vec<u8>)> = conn
        .prepare("SELECT first_id, data FROM blocks ORDER BY first_id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(blocks.len() > 20, "{} blocks", blocks.len());
    for (first_id, data) in blocks.iter().step_by(2) {
        assert_eq!(&data[..4], b"SK6\xff");
        let raw = zstd::bulk::decompress(&data[4..], 1 << 20).unwrap();
        let mut encoder =
            flate2::write::DeflateEncoder::new(b"SK5\xff".to_vec(), flate2::Compression::default());
        std::io::Write::write_all(&mut encoder, &raw).unwrap();
        conn.execute(
            "UPDATE blocks SET data = ?1 WHERE first_id = ?2",
            rusqlite::params![encoder.finish().unwrap(), first_id],
        )
        .unwrap();
    }
    drop(conn);
    let all: Vec<String> = (0..ENTRIES).map(|i| format!("/{i}")).collect();
    assert_eq!(paths(&store, "", None), all);
    let sevens: Vec<String> = all.iter().filter(|p| p.ends_with('7')).cloned().collect();
    assert_eq!(paths(&store, r#"request.path.endsWith("7")"#, None), sevens);
}
