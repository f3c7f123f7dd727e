//! When each identity (`parts`), text (`names`) and peer (`peers`) was last used, so that retention frees the rows
//! no kept entry refers to: after a flood of a million scanned addresses has aged out, its million
//! identities and names go with it.
//!
//! Each row records `last_ts`, at least the newest timestamp among the entries (names, peers) or
//! blocks (parts) that refer to it. A peer's names are used by the same entries, so they are
//! never freed before it. Retention deletes entries with `ts < cutoff` and blocks with
//! `max_ts < cutoff`, so a row with `last_ts < cutoff` is referred to by nothing left and goes in
//! the same transaction. To write `last_ts` rarely, it is written [`SLACK_NS`] ahead: a row used
//! all the time is updated about once a second, and freed at most a second late.
//!
//! Everything here runs on the index thread, which also runs retention, so its caches are
//! forgotten exactly when retention may have freed what they name ([`LastUse::forget`]).

use std::path::Path;
use std::sync::{Arc, LazyLock};

use rusqlite::{Connection, OptionalExtension, params};

use super::bounded::BoundedMap;
use super::columns::{INDEXED_COLUMNS, PEER_COLUMNS, Place};
use crate::error::{SqlContext, StoreError};

/// How far ahead `last_ts` is written, so that a row in constant use is rarely rewritten.
const SLACK_NS: i64 = 1_000_000_000;
/// Names the index thread remembers (between one and two times this many).
const KNOWN_NAMES: usize = 65_536;
/// Identity ids the index thread remembers the recorded `last_ts` of.
const KNOWN_PARTS: usize = 65_536;
/// Peers the index thread remembers.
const KNOWN_PEERS: usize = 16_384;

/// A peer's column values (name ids and the port), in [`INDEXED_COLUMNS`] order.
pub(crate) type PeerKey = [i64; PEER_COLUMNS];

/// The `peers` columns of [`INDEXED_COLUMNS`], in order.
fn peer_columns() -> Vec<&'static str> {
    INDEXED_COLUMNS
        .iter()
        .filter(|c| c.place == Place::Peer)
        .map(|c| c.sql)
        .collect()
}

/// Finds a peer by its values: `?1`… in [`PeerKey`] order.
static SELECT_PEER: LazyLock<String> = LazyLock::new(|| {
    let conditions: Vec<String> = peer_columns()
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{c} = ?{}", i + 1))
        .collect();
    format!(
        "SELECT id, last_ts FROM peers WHERE {}",
        conditions.join(" AND ")
    )
});

/// Adds a peer: its values, then `last_ts`.
static INSERT_PEER: LazyLock<String> = LazyLock::new(|| {
    let columns = peer_columns();
    let placeholders: Vec<String> = (1..=columns.len() + 1).map(|i| format!("?{i}")).collect();
    format!(
        "INSERT INTO peers ({}, last_ts) VALUES ({})",
        columns.join(", "),
        placeholders.join(", ")
    )
});

/// The index thread's memory of names and of recorded `last_ts` values, bounded.
pub(crate) struct LastUse {
    /// Name → (id, recorded `last_ts`), but for the empty name.
    names: BoundedMap<String, (i64, i64)>,
    /// The empty name's (id, recorded `last_ts`): most of an entry's peer names are empty outside
    /// a cluster, and a map lookup of an empty key costs a slow `memcmp` (see
    /// [`same_text`](crate::text_eq::same_text)).
    empty_name: Option<(i64, i64)>,
    /// Identity id → recorded `last_ts`.
    parts: BoundedMap<i64, i64>,
    /// Peer values → (id, recorded `last_ts`).
    peers: BoundedMap<PeerKey, (i64, i64)>,
}

impl LastUse {
    /// Remembers nothing yet: opening a writer reads no name or identity.
    pub fn new() -> Self {
        LastUse {
            names: BoundedMap::new(KNOWN_NAMES),
            empty_name: None,
            parts: BoundedMap::new(KNOWN_PARTS),
            peers: BoundedMap::new(KNOWN_PEERS),
        }
    }

    /// The id of name `s`, used by an entry at `ts` (inserted if new, its `last_ts` advanced).
    pub fn name(
        &mut self,
        conn: &Connection,
        path: &Path,
        s: &str,
        ts: i64,
    ) -> Result<i64, StoreError> {
        let known = match s.is_empty() {
            true => self.empty_name.as_mut(),
            false => self.names.get(s),
        };
        if let Some((id, recorded)) = known {
            if ts > *recorded {
                *recorded = advance(conn, path, "names", *id, ts)?;
            }
            return Ok(*id);
        }
        let stored: Option<(i64, i64)> = conn
            .prepare_cached("SELECT id, last_ts FROM names WHERE s = ?1")
            .at(path)?
            .query_row([s], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
            .at(path)?;
        let (id, recorded) = match stored {
            Some((id, recorded)) if ts > recorded => (id, advance(conn, path, "names", id, ts)?),
            Some(known) => known,
            None => {
                let last = ts.saturating_add(SLACK_NS);
                conn.prepare_cached("INSERT INTO names (s, last_ts) VALUES (?1, ?2)")
                    .at(path)?
                    .execute(params![s, last])
                    .at(path)?;
                (conn.last_insert_rowid(), last)
            }
        };
        match s.is_empty() {
            true => self.empty_name = Some((id, recorded)),
            false => self.names.insert(s.to_owned(), (id, recorded)),
        }
        Ok(id)
    }

    /// The id of the peer with values `key`, used by an entry at `ts` (inserted if new, its
    /// `last_ts` advanced).
    pub fn peer(
        &mut self,
        conn: &Connection,
        path: &Path,
        key: &PeerKey,
        ts: i64,
    ) -> Result<i64, StoreError> {
        if let Some((id, recorded)) = self.peers.get(key) {
            if ts > *recorded {
                *recorded = advance(conn, path, "peers", *id, ts)?;
            }
            return Ok(*id);
        }
        let stored: Option<(i64, i64)> = conn
            .prepare_cached(&SELECT_PEER)
            .at(path)?
            .query_row(rusqlite::params_from_iter(key), |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
            .at(path)?;
        let (id, recorded) = match stored {
            Some((id, recorded)) if ts > recorded => (id, advance(conn, path, "peers", id, ts)?),
            Some(known) => known,
            None => {
                let last = ts.saturating_add(SLACK_NS);
                conn.prepare_cached(&INSERT_PEER)
                    .at(path)?
                    .execute(rusqlite::params_from_iter(key.iter().chain([&last])))
                    .at(path)?;
                (conn.last_insert_rowid(), last)
            }
        };
        self.peers.insert(*key, (id, recorded));
        Ok(id)
    }

    /// Records that a block whose newest entry is at `max_ts` uses `parts` (id, JSON): an identity
    /// not in the table (new, or freed meanwhile) is written, the others' `last_ts` advanced.
    pub fn parts(
        &mut self,
        conn: &Connection,
        path: &Path,
        parts: &[(i64, Arc<str>)],
        max_ts: i64,
    ) -> Result<(), StoreError> {
        let last = max_ts.saturating_add(SLACK_NS);
        for (id, json) in parts {
            if self
                .parts
                .get(id)
                .is_some_and(|recorded| *recorded >= max_ts)
            {
                continue;
            }
            conn.prepare_cached(
                "INSERT INTO parts (id, json, last_ts) VALUES (?1, ?2, ?3)
                 ON CONFLICT (id) DO UPDATE SET last_ts = max(last_ts, excluded.last_ts)",
            )
            .at(path)?
            .execute(params![id, json.as_ref(), last])
            .at(path)?;
            self.parts.insert(*id, last);
        }
        Ok(())
    }

    /// Forgets every name and recorded `last_ts`: retention may have freed them.
    pub fn forget(&mut self) {
        self.names.clear();
        self.empty_name = None;
        self.parts.clear();
        self.peers.clear();
    }
}

/// Moves the `last_ts` of row `id` of `table` (`names` or `peers`) to cover an entry at `ts`;
/// returns what was recorded.
fn advance(
    conn: &Connection,
    path: &Path,
    table: &str,
    id: i64,
    ts: i64,
) -> Result<i64, StoreError> {
    let last = ts.saturating_add(SLACK_NS);
    conn.prepare_cached(&format!(
        "UPDATE {table} SET last_ts = max(last_ts, ?2) WHERE id = ?1"
    ))
    .at(path)?
    .execute(params![id, last])
    .at(path)?;
    Ok(last)
}

/// Frees the identities, names and peers that only entries before `cutoff_ns` used; returns how
/// many identities and names (peers go with their names).
pub(crate) fn free_before(
    conn: &Connection,
    path: &Path,
    cutoff_ns: i64,
) -> Result<(usize, usize), StoreError> {
    let parts = conn
        .prepare_cached("DELETE FROM parts WHERE last_ts < ?1")
        .at(path)?
        .execute([cutoff_ns])
        .at(path)?;
    conn.prepare_cached("DELETE FROM peers WHERE last_ts < ?1")
        .at(path)?
        .execute([cutoff_ns])
        .at(path)?;
    let names = conn
        .prepare_cached("DELETE FROM names WHERE last_ts < ?1")
        .at(path)?
        .execute([cutoff_ns])
        .at(path)?;
    Ok((parts, names))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_freed_by_retention_is_stored_again_the_empty_one_too() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE names (id INTEGER PRIMARY KEY, s TEXT NOT NULL UNIQUE,
                last_ts INTEGER NOT NULL)",
        )
        .unwrap();
        let path = Path::new("i");
        let stored = |id: i64| -> Option<String> {
            conn.query_row("SELECT s FROM names WHERE id = ?1", [id], |r| r.get(0))
                .optional()
                .unwrap()
        };
        let mut last_use = LastUse::new();
        let empty = last_use.name(&conn, path, "", 0).unwrap();
        let get = last_use.name(&conn, path, "GET", 0).unwrap();
        assert_ne!(empty, get);
        assert_eq!(last_use.name(&conn, path, "", 5).unwrap(), empty);
        assert_eq!(last_use.name(&conn, path, "GET", 5).unwrap(), get);
        // Retention frees both; the writer forgets what it remembered, and stores them again.
        conn.execute("DELETE FROM names", []).unwrap();
        last_use.forget();
        for s in ["", "GET"] {
            let id = last_use.name(&conn, path, s, 10 * SLACK_NS).unwrap();
            assert_eq!(stored(id).as_deref(), Some(s), "{s:?} stored again");
        }
    }
}
