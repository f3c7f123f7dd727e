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
