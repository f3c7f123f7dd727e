//! One page of a node's entries read: their index blocks decoded, the residual filter applied,
//! cut bodies read back where the query needs them. A cursor reads pages with its own reader, or
//! hands them to [`page_workers`](crate::page_workers), each with a reader of its own.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;

use rusqlite::Connection;

use crate::bodies::{self, CutReads};
use crate::entry::Entry;
use crate::error::StoreError;
use crate::index;
use crate::index::codec::Block;
use crate::index::parts::Parts;
use crate::layout::NodeLayout;
use crate::plan::Prepared;
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

/// The entries of `entries` that `plan`'s residual filter keeps, in order, with whole bodies
/// (read back through `bodies`, all in one go) where the filter reads a cut one or the plan wants
/// them. An entry whose body cannot be read back is filtered and shown with its prefix.
pub(crate) fn keep(
    plan: &Prepared,
    bodies: Option<&mut NodeBodies>,
    conn: &Connection,
    entries: Vec<Entry>,
) -> Vec<Entry> {
    let residual = plan.residual.as_ref();
    let matches = |entry: &Entry| residual.is_none_or(|f| f.matches(entry));
    let Some(bodies) = bodies else {
        return entries.into_iter().filter(|e| matches(e)).collect();
    };
    // Whether each entry is kept as it is (`Some`), or needs its bodies first (`None`): a filter
    // that never reads a cut body decides on the prefixes.
    let verdicts: Vec<Option<bool>> = entries
        .iter()
        .map(|entry| {
            if !bodies::has_cut_body(entry) {
                return Some(matches(entry));
            }
            let probe = CutReads::new(entry);
            let matched = residual.is_none_or(|f| f.matches(&probe));
            if probe.read_cut_body() || (matched && bodies.whole()) {
                None
            } else {
                Some(matched)
            }
        })
        .collect();
    let mut entries = entries;
    let mut wanted: Vec<&mut Entry> = entries
        .iter_mut()
        .zip(&verdicts)
        .filter(|(_, v)| v.is_none())
        .map(|(e, _)| e)
        .collect();
    if !wanted.is_empty() {
        bodies.load_many(conn, &mut wanted);
    }
    entries
        .into_iter()
        .zip(verdicts)
        .filter(|(entry, verdict)| verdict.unwrap_or_else(|| matches(entry)))
        .map(|(entry, _)| entry)
        .collect()
}
