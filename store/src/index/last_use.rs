//! When each identity (`parts`) and text (`names`) was last used, so that retention frees the rows
//! no kept entry refers to: after a flood of a million scanned addresses has aged out, its million
//! identities and names go with it.
//!
//! Each row records `last_ts`, at least the newest timestamp among the entries (names) or blocks
//! (parts) that refer to it. Retention deletes entries with `ts < cutoff` and blocks with
//! `max_ts < cutoff`, so a row with `last_ts < cutoff` is referred to by nothing left and goes in
//! the same transaction. To write `last_ts` rarely, it is written [`SLACK_NS`] ahead: a row used
//! all the time is updated about once a second, and freed at most a second late.
//!
//! Everything here runs on the index thread, which also runs retention, so its caches are
//! forgotten exactly when retention may have freed what they name ([`LastUse::forget`]).

use std::path::Path;
use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension, params};

use super::bounded::BoundedMap;
use crate::error::{SqlContext, StoreError};

/// How far ahead `last_ts` is written, so that a row in constant use is rarely rewritten.
const SLACK_NS: i64 = 1_000_000_000;
/// Names the index thread remembers (between one and two times this many).
const KNOWN_NAMES: usize = 65_536;
/// Identity ids the index thread remembers the recorded `last_ts` of.
const KNOWN_PARTS: usize = 65_536;

/// The index thread's memory of names and of recorded `last_ts` values, bounded.
pub(crate) struct LastUse {
    /// Name → (id, recorded `last_ts`).
    names: BoundedMap<String, (i64, i64)>,
    /// Identity id → recorded `last_ts`.
    parts: BoundedMap<i64, i64>,
}

impl LastUse {
    /// Remembers nothing yet: opening a writer reads no name or identity.
    pub fn new() -> Self {
        LastUse {
            names: BoundedMap::new(KNOWN_NAMES),
            parts: BoundedMap::new(KNOWN_PARTS),
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
        if let Some((id, recorded)) = self.names.get(s) {
            if ts > *recorded {
                *recorded = advance_name(conn, path, *id, ts)?;
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
            Some((id, recorded)) if ts > recorded => (id, advance_name(conn, path, id, ts)?),
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
        self.names.insert(s.to_owned(), (id, recorded));
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
        self.parts.clear();
    }
}

/// Moves name `id`'s `last_ts` to cover an entry at `ts`; returns what was recorded.
fn advance_name(conn: &Connection, path: &Path, id: i64, ts: i64) -> Result<i64, StoreError> {
    let last = ts.saturating_add(SLACK_NS);
    conn.prepare_cached("UPDATE names SET last_ts = max(last_ts, ?2) WHERE id = ?1")
        .at(path)?
        .execute(params![id, last])
        .at(path)?;
    Ok(last)
}

/// Frees the identities and names that only entries before `cutoff_ns` used; returns how many.
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
    let names = conn
        .prepare_cached("DELETE FROM names WHERE last_ts < ?1")
        .at(path)?
        .execute([cutoff_ns])
        .at(path)?;
    Ok((parts, names))
}
