//! The single-place property of [`INDEXED_COLUMNS`]: every declared column is in the `entries` or
//! `peers` schema, names a field filters can name, and is written by the batcher and the index writer and
//! answered by the predicate compiler as KFL reads the entry.

use std::collections::BTreeMap;

use kfl::{
    CmpOp, FieldType, IndexPredicate, IndexType, IndexedField, Literal, PathSegment, Record, Value,
};

use super::columns::{Cell, INDEXED_COLUMNS, IndexedColumn, PEER_COLUMNS, Place, Storage};
use crate::entry::Entry;
use crate::index::batch::Batcher;
use crate::index::parts::Interner;
use crate::index::predicate::to_sql;
use crate::index::writer::{IndexWriter, Op};
use crate::index::{open_readable, open_writable};

/// An entry whose every indexed column holds a value no other column holds.
fn distinct_entry() -> Entry {
    let mut e = Entry {
        id: 7,
        timestamp: 1_700_000_000_123_456_789,
        ..Entry::default()
    };
    e.node.name = "node-a".into();
    for (end, side, port) in [(&mut e.src, "src", 40_001), (&mut e.dst, "dst", 8080)] {
        end.ip = format!("{side}-ip");
        end.port = port;
        end.name = format!("{side}-name");
        end.namespace = format!("{side}-ns");
        end.pod = format!("{side}-pod");
        end.service = format!("{side}-svc");
    }
    e.protocol.name = "http".into();
    e.protocol.version = "1.1".into();
    e.request.insert("method".into(), "PATCH".into());
    e.response.insert("status".into(), "418".into());
    e
}

/// The columns of `table` in the index at `conn`: name → NOT NULL.
fn table_columns(conn: &rusqlite::Connection, table: &str) -> BTreeMap<String, bool> {
    let mut stmt = conn
        .prepare(&format!("PRAGMA table_info({table})"))
        .unwrap();
    stmt.query_map([], |r| Ok((r.get::<_, String>(1)?, r.get::<_, bool>(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// The columns [`INDEXED_COLUMNS`] declares in `place`: name → NOT NULL.
fn declared(place: Place) -> BTreeMap<String, bool> {
    INDEXED_COLUMNS
        .iter()
        .filter(|c| c.place == place)
        .map(|c| {
            let not_null = matches!(c.storage, Storage::Int | Storage::Name);
            (c.sql.to_string(), not_null)
        })
        .collect()
}

#[test]
fn every_declared_column_is_in_the_schema() {
    let dir = tempfile::tempdir().unwrap();
    let conn = open_writable(&dir.path().join("index.sqlite")).unwrap();
    let mut entries = declared(Place::Entry);
    for key in ["id", "peer"] {
        entries.insert(key.into(), true);
    }
    assert_eq!(
        table_columns(&conn, "entries"),
        entries,
        "`entries` (migrate.rs) and INDEXED_COLUMNS disagree: a new column needs a migration"
    );
    let mut peers = declared(Place::Peer);
    assert!(
        peers.values().all(|not_null| *not_null),
        "peer columns are never NULL"
    );
    assert_eq!(peers.len(), PEER_COLUMNS);
    // `id` is the rowid (SQLite reports it nullable), `last_ts` is for retention.
    peers.insert("id".into(), false);
    peers.insert("last_ts".into(), true);
    assert_eq!(
        table_columns(&conn, "peers"),
        peers,
        "`peers` (migrate.rs) and INDEXED_COLUMNS disagree: a new column needs a migration"
    );
}

#[test]
fn every_declared_column_is_a_field_filters_can_name() {
    let schema = crate::schema::entry_schema();
    let fields: BTreeMap<String, &FieldType> = schema.fields().into_iter().collect();
    for c in &INDEXED_COLUMNS {
        let expected = match c.ty() {
            IndexType::Text => FieldType::Str,
            IndexType::Int => FieldType::Int,
            IndexType::Time => FieldType::Time,
        };
        assert_eq!(fields.get(c.path()), Some(&&expected), "{}", c.path());
    }
}

/// The literal a filter compares the column with to find `entry`, from the value KFL reads.
fn literal(c: &IndexedColumn, entry: &Entry) -> Literal {
    let path: Vec<PathSegment> = c
        .path()
        .split('.')
        .map(|n| PathSegment::Field(n.into()))
        .collect();
    match (c.ty(), entry.get(&path)) {
        (IndexType::Text, Value::Str(text)) => Literal::Str(text.into_owned()),
        (IndexType::Int, Value::Int(n)) | (IndexType::Time, Value::Time(n)) => Literal::Int(n),
        (IndexType::Int, Value::Str(text)) => Literal::Int(text.parse().unwrap()),
        (_, other) => panic!("{}: {other:?}", c.path()),
    }
}

/// Written through the batcher and the index writer, every column holds what a filter reads
/// from the entry, and the predicate compiler finds the row by it (and only by it).
#[test]
fn every_declared_column_is_written_and_answered() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index.sqlite");
    let conn = open_writable(&path).unwrap();
    let mut batcher = Batcher::new(Interner::new(&conn, &path).unwrap());
    let mut writer = IndexWriter::start(conn, &path).unwrap();
    let entry = distinct_entry();
    assert!(batcher.push(&entry).is_none());
    let batch = batcher.take().unwrap();
    writer.send(Op::Entries(Box::new(batch))).unwrap();
    writer.flush().unwrap();
    let conn = open_readable(&path).unwrap();
    let count = |pred: &IndexPredicate<IndexedColumn>| -> i64 {
        let cond = to_sql(pred);
        let sql = format!("SELECT count(*) FROM entries e WHERE {}", cond.sql);
        conn.query_row(&sql, rusqlite::params_from_iter(cond.params), |r| r.get(0))
            .unwrap()
    };
    let mut values = Vec::new();
    for c in &INDEXED_COLUMNS {
        let value = literal(c, &entry);
        assert_ne!(
            (c.value)(&entry),
            Cell::Null,
            "{}: the test entry leaves it empty",
            c.path()
        );
        let eq = IndexPredicate::Cmp {
            field: *c,
            op: CmpOp::Eq,
            value: value.clone(),
        };
        assert!(eq.matches(&entry), "{}", c.path());
        assert_eq!(count(&eq), 1, "{} == {value}", c.path());
        values.push(value);
    }
    // No column holds another column's value: a swap of two columns would be found.
    for c in &INDEXED_COLUMNS {
        for value in &values {
            let pred = IndexPredicate::Cmp {
                field: *c,
                op: CmpOp::Eq,
                value: value.clone(),
            };
            let expected = i64::from(pred.matches(&entry));
            assert_eq!(count(&pred), expected, "{} == {value}", c.path());
        }
    }
}
