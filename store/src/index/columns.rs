//! The one table of the columns the index keeps beside each entry so that filters on them run in
//! SQL: for each, the KFL field it holds, its SQL column in `entries`, how it is stored and how its
//! value is read from an [`Entry`]. The planner plans against this table (it is the store's
//! [`IndexedField`] declaration), the batcher and the index writer fill the columns from it, and
//! the predicate compiler translates from it, so an indexed column is declared here and nowhere
//! else (the `entries` and `peers` tables themselves are made by the migrations in `migrate.rs`; a
//! test checks that every column declared here is in its table).
//!
//! What describes who talks to whom (the node, both endpoints' identities, the server's port and
//! the protocol) repeats across a connection's entries, so it is interned once per distinct
//! combination in `peers` and each `entries` row holds only that row's id ([`Place::Peer`]).

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

/// Which table a column lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    /// `entries`, one row per entry.
    Entry,
    /// `peers`, shared by the entries with the same node, endpoints, server port and protocol
    /// (`entries.peer` is its id); never NULL there.
    Peer,
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
    /// The column's name in its table.
    pub(crate) sql: &'static str,
    /// How it is stored.
    pub(crate) storage: Storage,
    /// Which table holds it.
    pub(crate) place: Place,
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
        place: Place::Entry,
        value,
    }
}

/// A column of `peers` (never NULL): see [`Place::Peer`].
const fn peer(
    path: &'static str,
    ty: IndexType,
    sql: &'static str,
    storage: Storage,
    value: fn(&Entry) -> Cell<'_>,
) -> IndexedColumn {
    IndexedColumn {
        place: Place::Peer,
        ..column(path, ty, sql, storage, value)
    }
}

/// How many of [`INDEXED_COLUMNS`] are [`Place::Peer`] columns.
pub(crate) const PEER_COLUMNS: usize = 14;

/// Every column the index keeps for filtering: what `Filter::plan` is given, so
/// `kfl::compile(..).plan(&INDEXED_COLUMNS)` shows what the store answers from its index.
pub static INDEXED_COLUMNS: [IndexedColumn; 18] = {
    use IndexType::{Int, Text, Time};
    use Storage::{Name, NullableInt, NullableName};
    [
        column("timestamp", Time, "ts", Storage::Int, |e| {
            Cell::Int(e.timestamp)
        }),
        peer("node.name", Text, "node", Name, |e| {
            Cell::Text(&e.node.name)
        }),
        peer("src.ip", Text, "src_ip", Name, |e| Cell::Text(&e.src.ip)),
        column("src.port", Int, "src_port", Storage::Int, |e| {
            Cell::Int(e.src.port.into())
        }),
        peer("src.name", Text, "src_name", Name, |e| {
            Cell::Text(&e.src.name)
        }),
        peer("src.namespace", Text, "src_ns", Name, |e| {
            Cell::Text(&e.src.namespace)
        }),
        peer("src.pod", Text, "src_pod", Name, |e| Cell::Text(&e.src.pod)),
        peer("src.service", Text, "src_svc", Name, |e| {
            Cell::Text(&e.src.service)
        }),
        peer("dst.ip", Text, "dst_ip", Name, |e| Cell::Text(&e.dst.ip)),
        peer("dst.port", Int, "dst_port", Storage::Int, |e| {
            Cell::Int(e.dst.port.into())
        }),
        peer("dst.name", Text, "dst_name", Name, |e| {
            Cell::Text(&e.dst.name)
        }),
        peer("dst.namespace", Text, "dst_ns", Name, |e| {
            Cell::Text(&e.dst.namespace)
        }),
        peer("dst.pod", Text, "dst_pod", Name, |e| Cell::Text(&e.dst.pod)),
        peer("dst.service", Text, "dst_svc", Name, |e| {
            Cell::Text(&e.dst.service)
        }),
        peer("protocol.name", Text, "proto", Name, |e| {
            Cell::Text(&e.protocol.name)
        }),
        peer("protocol.version", Text, "proto_ver", Name, |e| {
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
