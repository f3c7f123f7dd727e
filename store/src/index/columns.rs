//! The one table of the columns the index keeps beside each entry so that filters on them run in
//! SQL: for each, the KFL field it holds, its SQL column in `entries`, how it is stored and how its
//! value is read from an [`Entry`]. The planner plans against this table (it is the store's
//! [`IndexedField`] declaration), the batcher and the index writer fill the columns from it, and
//! the predicate compiler translates from it, so an indexed column is declared here and nowhere
//! else (the `entries` table itself is made by the migrations in `migrate.rs`; a test checks that
//! every column declared here is in it).

use kfl::{IndexType, IndexedField};

use crate::entry::Entry;

/// How a column holds its values in SQLite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Storage {
    /// An integer, never NULL.
    Int,
    /// An integer, NULL when the entry has no value.
    NullableInt,
    /// An id into the `names` table, never NULL.
    Name,
    /// An id into the `names` table, NULL when the entry has no value.
    NullableName,
}

/// One column's value in one entry, as the writer stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cell<'a> {
    /// A number (an [`Storage::Int`] or [`Storage::NullableInt`] column).
    Int(i64),
    /// Text, stored as its id in `names` (a [`Storage::Name`] or [`Storage::NullableName`] column).
    Text(&'a str),
    /// No value (only in a nullable column).
    Null,
}

/// A column of the `entries` table that filters can be answered from.
#[derive(Debug, Clone, Copy)]
pub struct IndexedColumn {
    /// The KFL field, as a filter writes it.
    path: &'static str,
    /// The type of its values, as KFL sees them.
    ty: IndexType,
    /// The column's name in `entries`.
    pub(crate) sql: &'static str,
    /// How it is stored.
    pub(crate) storage: Storage,
    /// Reads the column's value from an entry.
    pub(crate) value: fn(&Entry) -> Cell<'_>,
}

impl IndexedField for IndexedColumn {
    fn path(&self) -> &str {
        self.path
    }

    fn ty(&self) -> IndexType {
        self.ty
    }
}

const fn column(
    path: &'static str,
    ty: IndexType,
    sql: &'static str,
    storage: Storage,
    value: fn(&Entry) -> Cell<'_>,
) -> IndexedColumn {
    IndexedColumn {
        path,
        ty,
        sql,
        storage,
        value,
    }
}

/// Every column the index keeps for filtering: what `Filter::plan` is given, so
/// `kfl::compile(..).plan(&INDEXED_COLUMNS)` shows what the store answers from its index.
pub static INDEXED_COLUMNS: [IndexedColumn; 18] = {
    use IndexType::{Int, Text, Time};
    use Storage::{Name, NullableInt, NullableName};
    [
        column("timestamp", Time, "ts", Storage::Int, |e| {
            Cell::Int(e.timestamp)
        }),
        column("node.name", Text, "node", Name, |e| {
            Cell::Text(&e.node.name)
        }),
        column("src.ip", Text, "src_ip", Name, |e| Cell::Text(&e.src.ip)),
        column("src.port", Int, "src_port", Storage::Int, |e| {
            Cell::Int(e.src.port.into())
        }),
        column("src.name", Text, "src_name", Name, |e| {
            Cell::Text(&e.src.name)
        }),
        column("src.namespace", Text, "src_ns", Name, |e| {
            Cell::Text(&e.src.namespace)
        }),
        column("src.pod", Text, "src_pod", Name, |e| Cell::Text(&e.src.pod)),
        column("src.service", Text, "src_svc", Name, |e| {
            Cell::Text(&e.src.service)
        }),
        column("dst.ip", Text, "dst_ip", Name, |e| Cell::Text(&e.dst.ip)),
        column("dst.port", Int, "dst_port", Storage::Int, |e| {
            Cell::Int(e.dst.port.into())
        }),
        column("dst.name", Text, "dst_name", Name, |e| {
            Cell::Text(&e.dst.name)
        }),
        column("dst.namespace", Text, "dst_ns", Name, |e| {
            Cell::Text(&e.dst.namespace)
        }),
        column("dst.pod", Text, "dst_pod", Name, |e| Cell::Text(&e.dst.pod)),
        column("dst.service", Text, "dst_svc", Name, |e| {
            Cell::Text(&e.dst.service)
        }),
        column("protocol.name", Text, "proto", Name, |e| {
            Cell::Text(&e.protocol.name)
        }),
        column("protocol.version", Text, "proto_ver", Name, |e| {
            Cell::Text(&e.protocol.version)
        }),
        // Text only: a method that is not text is left to the residual filter.
        column("request.method", Text, "method", NullableName, |e| {
            e.request
                .get("method")
                .and_then(|m| m.as_str())
                .map_or(Cell::Null, Cell::Text)
        }),
        // A whole number, or text that reads as one (as KFL reads it).
        column("response.status", Int, "status", NullableInt, |e| {
            let status = e.response.get("status");
            status
                .and_then(|s| {
                    s.as_i64()
                        .or_else(|| s.as_str().and_then(|s| s.trim().parse().ok()))
                })
                .map_or(Cell::Null, Cell::Int)
        }),
    ]
};

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use kfl::{CmpOp, FieldType, IndexPredicate, Literal, PathSegment, Record, Value};

    use super::*;
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

    #[test]
    fn every_declared_column_is_in_the_schema() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open_writable(&dir.path().join("index.sqlite")).unwrap();
        let mut stmt = conn.prepare("PRAGMA table_info(entries)").unwrap();
        let actual: BTreeMap<String, bool> = stmt
            .query_map([], |r| Ok((r.get::<_, String>(1)?, r.get::<_, bool>(3)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let mut declared: BTreeMap<String, bool> = INDEXED_COLUMNS
            .iter()
            .map(|c| {
                let not_null = matches!(c.storage, Storage::Int | Storage::Name);
                (c.sql.to_string(), not_null)
            })
            .collect();
        declared.insert("id".into(), true);
        declared.insert("block".into(), true);
        assert_eq!(
            actual, declared,
            "`entries` (migrate.rs) and INDEXED_COLUMNS disagree: a new column needs a migration"
        );
    }

    #[test]
    fn every_declared_column_is_a_field_filters_can_name() {
        let schema = crate::schema::entry_schema();
        let fields: BTreeMap<String, &FieldType> = schema.fields().into_iter().collect();
        for c in &INDEXED_COLUMNS {
            let expected = match c.ty {
                IndexType::Text => FieldType::Str,
                IndexType::Int => FieldType::Int,
                IndexType::Time => FieldType::Time,
            };
            assert_eq!(fields.get(c.path), Some(&&expected), "{}", c.path);
        }
    }

    /// The literal a filter compares the column with to find `entry`, from the value KFL reads.
    fn literal(c: &IndexedColumn, entry: &Entry) -> Literal {
        let path: Vec<PathSegment> = c
            .path
            .split('.')
            .map(|n| PathSegment::Field(n.into()))
            .collect();
        match (c.ty, entry.get(&path)) {
            (IndexType::Text, Value::Str(text)) => Literal::Str(text.into_owned()),
            (IndexType::Int, Value::Int(n)) | (IndexType::Time, Value::Time(n)) => Literal::Int(n),
            (IndexType::Int, Value::Str(text)) => Literal::Int(text.parse().unwrap()),
            (_, other) => panic!("{}: {other:?}", c.path),
        }
    }

    /// Written through the batcher and the index writer, every column holds what a filter reads
    /// from the entry, and the predicate compiler finds the row by it (and only by it).
    #[test]
    fn every_declared_column_is_written_and_answered() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.sqlite");
        let conn = open_writable(&path).unwrap();
        let mut batcher = Batcher::new(1, Interner::load(&conn, &path).unwrap());
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
                c.path
            );
            let eq = IndexPredicate::Cmp {
                field: *c,
                op: CmpOp::Eq,
                value: value.clone(),
            };
            assert!(eq.matches(&entry), "{}", c.path);
            assert_eq!(count(&eq), 1, "{} == {value}", c.path);
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
                assert_eq!(count(&pred), expected, "{} == {value}", c.path);
            }
        }
    }
}
