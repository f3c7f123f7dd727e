//! One entry by its node and id: what a dashboard opens when a row is clicked.
//!
//! Block ids grow with their first entry id (see [`Tail`](crate::Tail)), so the block holding an
//! id is the last one starting at or before it: one indexed step from the newest end, whatever the
//! table's size. The entry's own `entries` row must still be there, so an entry retention deleted
//! is not found even while its block lingers.

use rusqlite::OptionalExtension;

use crate::bodies;
use crate::entry::Entry;
use crate::error::{SqlContext, StoreError};
use crate::index::codec::Block;
use crate::index::parts::Parts;
use crate::index::{self};
use crate::readback::{LostBodies, NodeBodies};
use crate::store::Store;

impl Store {
    /// Entry `id` of `node`, or `None` when the store holds no such entry. With `whole_bodies` and
    /// a body loader, bodies the index cut are read back from the packets (as far as they give
    /// them back; otherwise the prefix stays, marked).
    pub fn entry(
        &self,
        node: &str,
        id: u64,
        whole_bodies: bool,
    ) -> Result<Option<Entry>, StoreError> {
        let Some((_, layout)) = self.indexed_nodes().find(|(name, _)| *name == node) else {
            return Ok(None);
        };
        let Ok(id) = i64::try_from(id) else {
            return Ok(None);
        };
        let path = &layout.index;
        let conn = index::open_readable(path)?;
        let Some(mut decoded) = Block::holding(&conn, path, id)? else {
            return Ok(None);
        };
        let entry = decoded.entry(path, id, &conn, &mut Parts::new(path))?;
        let kept: Option<i64> = conn
            .prepare_cached("SELECT 1 FROM entries WHERE ts = ?1 AND id = ?2")
            .at(path)?
            .query_row([entry.timestamp, id], |r| r.get(0))
            .optional()
            .at(path)?;
        if kept.is_none() {
            return Ok(None);
        }
        let reading = self
            .body_reading(true)
            .filter(|_| whole_bodies && bodies::has_cut_body(&entry));
        Ok(Some(match reading {
            Some(reading) => NodeBodies::new(reading, layout.clone(), LostBodies::new(layout))
                .load(&conn, &entry)
                .unwrap_or(entry),
            None => entry,
        }))
    }
}
