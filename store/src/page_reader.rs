//! One page of a node's entries read: their index blocks decoded, the residual filter applied,
//! cut bodies read back where the query needs them. A cursor reads pages with its own reader, or
//! hands them to [`page_workers`](crate::page_workers), each with a reader of its own.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;

use rusqlite::Connection;

use crate::entry::Entry;
use crate::error::StoreError;
use crate::index::codec::Block;
use crate::index::parts::Parts;
use crate::index::{self};
use crate::layout::NodeLayout;
use crate::query::{Prepared, keep};
use crate::readback::{LostBodies, NodeBodies};

/// Decoded blocks a reader keeps: a time-ordered scan mostly walks blocks in order.
const BLOCK_CACHE: usize = 8;

/// Reads pages of one node's entries, on its own connection to the node's index.
pub(crate) struct PageReader {
    path: PathBuf,
    conn: Connection,
    plan: Prepared,
    /// Recently decoded blocks.
    blocks: VecDeque<Block>,
    /// Node and endpoint identities read so far.
    parts: Parts,
    /// Reads back bodies the index cut, when the query can.
    bodies: Option<NodeBodies>,
}

impl PageReader {
    /// A reader of `layout`'s index for `plan`, noting entries whose bodies it cannot read back
    /// in `lost`.
    pub fn open(
        layout: &NodeLayout,
        plan: Prepared,
        lost: &Arc<LostBodies>,
    ) -> Result<Self, StoreError> {
        let conn = index::open_readable(&layout.index)?;
        let bodies = plan
            .bodies
            .clone()
            .map(|reading| NodeBodies::new(reading, layout.clone(), Arc::clone(lost)));
        Ok(PageReader {
            path: layout.index.clone(),
            conn,
            plan,
            blocks: VecDeque::new(),
            parts: Parts::new(&layout.index),
            bodies,
        })
    }

    /// The reader's connection to the index.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The entries `ids` (in the order asked) that the plan's residual filter keeps, with whole
    /// bodies where it needs them.
    pub fn read(&mut self, ids: &[i64]) -> Result<Vec<Entry>, StoreError> {
        let entries = ids
            .iter()
            .map(|&id| self.entry(id))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(keep(&self.plan, self.bodies.as_mut(), &self.conn, entries))
    }

    /// Entry `id`, decoding its block unless it was used recently.
    fn entry(&mut self, id: i64) -> Result<Entry, StoreError> {
        let missing = |path: &PathBuf| StoreError::CorruptEntry {
            path: path.clone(),
            id,
            reason: "its block is missing".into(),
        };
        let at = match self.blocks.iter().position(|b| b.holds(id)) {
            Some(at) => at,
            None => {
                let block = Block::holding(&self.conn, &self.path, id)?
                    .ok_or_else(|| missing(&self.path))?;
                self.blocks.push_front(block);
                self.blocks.truncate(BLOCK_CACHE);
                0
            }
        };
        let block = self.blocks.get_mut(at).ok_or_else(|| missing(&self.path))?;
        block.entry(&self.path, id, &self.conn, &mut self.parts)
    }
}
