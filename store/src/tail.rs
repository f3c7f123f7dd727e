//! [`Tail`]: follows a store, handing out each matching entry once, as soon as it is stored,
//! whatever its timestamp.
//!
//! A node's index gives entry ids in write order and commits them in that order, so "the entries
//! with an id above the last one handed out" is exact: an exchange indexed long after it started (a
//! long poll, a request left unanswered until the flow timed out, a writer that flushed late) is
//! still new, and nothing is read twice. The cursor is one id per node, never a set of ids.
//!
//! Entries are stored in blocks of consecutive ids. Block ids grow with their first entry id among
//! the rows present (retention only deletes; a writer reopened after retention removed the newest
//! blocks reuses ids above every block kept), so the blocks past a cursor are a range scan of the
//! `blocks` table starting at the one holding it, and a block's ids run up to the next block's
//! first id (the last block's, up to the committed `next_entry` counter). Each new entry goes
//! through the query's pushdown condition (on its own `entries` row, which also drops rows
//! retention deleted) and its residual filter, bodies read back as the query reads them.
//!
//! With a start time, entries already stored from then on come first, read by the query engine in
//! timestamp order up to each node's cursor at the start; what is stored later comes from the cursor.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension};

use crate::entry::Entry;
use crate::error::{SqlContext, StoreError};
use crate::index;
use crate::index::codec::Block;
use crate::index::parts::Parts;
use crate::layout::NodeLayout;
use crate::page_reader::keep;
use crate::plan::{Prepared, Query};
use crate::query::{Entries, NodeCursor};
use crate::readback::{LostBodies, NodeBodies};
use crate::store::Store;

/// How often a follower asks the index for new entries: `query --follow` and the agent's
/// `/v1/follow` alike.
pub const FOLLOW_POLL: Duration = Duration::from_millis(500);

/// A number that changes whenever an index under `root` commits or a node appears, so a follower
/// asks its [`Tail`] for entries only when there can be some: a directory listing and two `stat`s
/// per node, where a [`Tail::next_entry`] opens every node's index.
pub fn index_generation(root: &Path) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hash = std::collections::hash_map::DefaultHasher::new();
    if let Ok(store) = Store::open(root) {
        for (name, layout) in store.indexed_nodes() {
            name.hash(&mut hash);
            let wal = layout.index.with_extension("sqlite-wal");
            for path in [&layout.index, &wal] {
                if let Ok(meta) = std::fs::metadata(path) {
                    meta.len().hash(&mut hash);
                    meta.modified().ok().hash(&mut hash);
                }
            }
        }
    }
    hash.finish()
}

/// Blocks (of up to 128 entries) read per node and call: what a burst can hold in memory.
const PAGE_BLOCKS: usize = 8;

/// Follows every node under a store root: hands out each matching entry once, first the stored
/// ones since a start time (if given, by timestamp), then each new one as its node indexes it (by
/// timestamp within what one call finds). Made by [`Store::tail`].
pub struct Tail {
    root: PathBuf,
    plan: Prepared,
    /// Entries stored before the tail started, while they last.
    backlog: Option<Backlog>,
    nodes: Vec<NodeTail>,
    ready: VecDeque<Entry>,
}

/// The stored entries since the start time: a query, cut at each node's cursor.
struct Backlog {
    entries: Entries,
    /// Per node, in the order the query's cursors were opened: the last id that belongs here.
    last_ids: Vec<i64>,
}

/// One node's cursor.
struct NodeTail {
    name: String,
    layout: NodeLayout,
    /// The last entry id handed out (or skipped).
    after: i64,
    parts: Parts,
    /// Reads back bodies the index cut, when the tail can.
    bodies: Option<NodeBodies>,
}

impl Store {
    /// Follows this store's root for the entries matching `filter`: with `from_ns`, those stored
    /// with a timestamp at or after it first; then every matching entry indexed from now on,
    /// whatever its timestamp. New nodes are picked up as they appear. With a body loader, a
    /// filter that reads a body the index cut sees it whole.
    pub fn tail(
        &self,
        filter: Option<kfl::Filter>,
        from_ns: Option<i64>,
    ) -> Result<Tail, StoreError> {
        self.start_tail(filter, from_ns, false)
    }

    /// Like [`tail`](Self::tail), with every entry's bodies whole (as far as its packets give them
    /// back): for output that shows bodies.
    pub fn tail_with_bodies(
        &self,
        filter: Option<kfl::Filter>,
        from_ns: Option<i64>,
    ) -> Result<Tail, StoreError> {
        self.start_tail(filter, from_ns, true)
    }

    fn start_tail(
        &self,
        filter: Option<kfl::Filter>,
        from_ns: Option<i64>,
        whole_bodies: bool,
    ) -> Result<Tail, StoreError> {
        let query = Query {
            from: from_ns,
            filter,
            ..Query::default()
        };
        let mut plan = Prepared::new(&query);
        plan.bodies = self.body_reading(whole_bodies);
        let mut nodes = Vec::new();
        for (name, layout) in self.indexed_nodes() {
            let conn = index::open_readable(&layout.index)?;
            let after = committed_end(&conn, &layout.index)?.saturating_sub(1);
            nodes.push(NodeTail::new(name, layout.clone(), after, &plan));
        }
        let backlog = match from_ns {
            Some(_) => {
                let cursors = nodes
                    .iter()
                    .map(|n| NodeCursor::open(&n.layout, plan.clone()))
                    .collect::<Result<Vec<_>, _>>()?;
                Some(Backlog {
                    entries: Entries::new(cursors, None),
                    last_ids: nodes.iter().map(|n| n.after).collect(),
                })
            }
            None => None,
        };
        Ok(Tail {
            root: self.root().to_path_buf(),
            plan,
            backlog,
            nodes,
            ready: VecDeque::new(),
        })
    }
}

impl Tail {
    /// Resumes a follow that lost its connection: each named node from just after entry `id`
    /// of that node (entry ids are per node and survive restarts), the stored entries since the
    /// start time skipped for it; nodes not named (none of their entries shown yet, e.g. a node
    /// that appeared meanwhile) as a tail started with that time gives them. Nothing is missed
    /// and nothing shown twice.
    pub fn resume_after(&mut self, after: &BTreeMap<String, i64>) {
        for (index, node) in self.nodes.iter_mut().enumerate() {
            if let Some(&id) = after.get(&node.name) {
                node.after = id;
                if let Some(last) = self
                    .backlog
                    .as_mut()
                    .and_then(|b| b.last_ids.get_mut(index))
                {
                    *last = i64::MIN;
                }
            }
        }
    }

    /// The next matching entry, or `None` when every node is caught up (call again later).
    pub fn next_entry(&mut self) -> Result<Option<Entry>, StoreError> {
        if let Some(backlog) = self.backlog.as_mut() {
            while let Some(found) = backlog.entries.next_with_node() {
                let (node, entry) = found?;
                let last = backlog.last_ids.get(node).copied().unwrap_or(i64::MIN);
                if i64::try_from(entry.id).is_ok_and(|id| id <= last) {
                    return Ok(Some(entry));
                }
            }
            self.backlog = None;
        }
        while self.ready.is_empty() {
            if !self.read_new()? {
                break;
            }
        }
        Ok(self.ready.pop_front())
    }

    /// Reads a page of new entries from every node into `ready`, by timestamp; returns whether any
    /// node has more to read.
    fn read_new(&mut self) -> Result<bool, StoreError> {
        // Nodes appear when their writer first indexes: everything in a new index is new.
        let store = Store::open(&self.root)?;
        for (name, layout) in store.indexed_nodes() {
            if !self.nodes.iter().any(|n| n.name == name) {
                self.nodes
                    .push(NodeTail::new(name, layout.clone(), 0, &self.plan));
            }
        }
        let mut fresh = Vec::new();
        let mut more = false;
        for node in &mut self.nodes {
            more |= node.read_page(&self.plan, &mut fresh)?;
        }
        fresh.sort_by(|a, b| {
            (a.timestamp, &a.node.name, a.id).cmp(&(b.timestamp, &b.node.name, b.id))
        });
        self.ready.extend(fresh);
        Ok(more)
    }
}

impl NodeTail {
    fn new(name: &str, layout: NodeLayout, after: i64, plan: &Prepared) -> Self {
        let parts = Parts::new(&layout.index);
        let bodies = plan
            .bodies
            .clone()
            .map(|reading| NodeBodies::new(reading, layout.clone(), LostBodies::new(&layout)));
        NodeTail {
            name: name.to_owned(),
            layout,
            after,
            parts,
            bodies,
        }
    }

    /// Appends the matching entries of up to [`PAGE_BLOCKS`] blocks past the cursor to `out` and
    /// moves the cursor past them; returns whether more blocks are waiting.
    fn read_page(&mut self, plan: &Prepared, out: &mut Vec<Entry>) -> Result<bool, StoreError> {
        let path = self.layout.index.clone();
        // Opened per page: a reindex swaps in a new file, which an open connection would not see.
        let conn = index::open_readable(&path)?;
        // One snapshot of the index for the whole page: the blocks and the counter agree.
        conn.execute_batch("BEGIN").at(&path)?;
        let more = self.read_blocks(&conn, plan, out);
        conn.execute_batch("COMMIT").at(&path)?;
        more
    }

    fn read_blocks(
        &mut self,
        conn: &Connection,
        plan: &Prepared,
        out: &mut Vec<Entry>,
    ) -> Result<bool, StoreError> {
        let path = self.layout.index.clone();
        let end = committed_end(conn, &path)?;
        if end <= self.after {
            if end < self.after {
                // Ids only fall when the index was rebuilt: its entries were all handed out before.
                tracing::warn!("{} was rebuilt; following it from its end", path.display());
                self.after = end.saturating_sub(1);
                self.parts = Parts::new(&path);
            }
            return Ok(false);
        }
        let start: Option<i64> = conn
            .prepare_cached(
                "SELECT first_id FROM blocks WHERE first_id <= ?1 ORDER BY first_id DESC LIMIT 1",
            )
            .at(&path)?
            .query_row([self.after], |r| r.get(0))
            .optional()
            .at(&path)?;
        let blocks = conn
            .prepare_cached(
                "SELECT first_id FROM blocks WHERE first_id >= ?1 ORDER BY first_id LIMIT ?2",
            )
            .at(&path)?
            .query_map([start.unwrap_or(i64::MIN), PAGE_BLOCKS as i64 + 1], |r| {
                r.get::<_, i64>(0)
            })
            .at(&path)?
            .collect::<Result<Vec<_>, _>>()
            .at(&path)?;
        for (at, &first_id) in blocks.iter().take(PAGE_BLOCKS).enumerate() {
            let block_end = blocks.get(at + 1).map_or(end, |&next_first| next_first);
            let from = first_id.max(self.after.saturating_add(1));
            if from < block_end {
                self.read_block(conn, plan, first_id, from..block_end, out)?;
            }
            self.after = self.after.max(block_end.saturating_sub(1));
        }
        if blocks.len() <= PAGE_BLOCKS {
            // Caught up with what is committed (the last block ends at the counter).
            self.after = self.after.max(end.saturating_sub(1));
        }
        Ok(blocks.len() > PAGE_BLOCKS)
    }

    /// Appends entries `ids` of the block starting at `first_id` that match `plan` to `out`.
    fn read_block(
        &mut self,
        conn: &Connection,
        plan: &Prepared,
        first_id: i64,
        ids: std::ops::Range<i64>,
        out: &mut Vec<Entry>,
    ) -> Result<(), StoreError> {
        let path = &self.layout.index;
        let data: Option<Vec<u8>> = conn
            .prepare_cached("SELECT data FROM blocks WHERE first_id = ?1")
            .at(path)?
            .query_row([first_id], |r| r.get(0))
            .optional()
            .at(path)?;
        let Some(data) = data else {
            return Ok(());
        };
        let mut decoded = Block::decode(path, first_id, &data)?;
        let condition = plan.condition();
        let sql = format!(
            "SELECT 1 FROM entries e WHERE e.ts = ?1 AND e.id = ?2 AND {}",
            condition.sql
        );
        let mut indexed_entries = Vec::new();
        for id in ids {
            let entry = match decoded.entry(path, id, conn, &mut self.parts) {
                Ok(entry) => entry,
                Err(e) => {
                    // A block past one that retention removed is credited with that block's ids,
                    // which it does not hold; anything else is damage. Either way the rest of the
                    // block cannot be read, and following goes on with the next one.
                    tracing::warn!("following {}: {e}", path.display());
                    break;
                }
            };
            let mut params = vec![SqlValue::Integer(entry.timestamp), SqlValue::Integer(id)];
            params.extend(condition.params.iter().cloned());
            let indexed = conn
                .prepare_cached(&sql)
                .at(path)?
                .exists(rusqlite::params_from_iter(params))
                .at(path)?;
            if indexed {
                indexed_entries.push(entry);
            }
        }
        out.extend(keep(plan, self.bodies.as_mut(), conn, indexed_entries));
        Ok(())
    }
}

/// One past the last entry id the index at `path` has committed (1 when it has none).
fn committed_end(conn: &Connection, path: &Path) -> Result<i64, StoreError> {
    let next: Option<i64> = conn
        .prepare_cached("SELECT value FROM counters WHERE name = 'next_entry'")
        .at(path)?
        .query_row([], |r| r.get(0))
        .optional()
        .at(path)?;
    Ok(next.unwrap_or(1).max(1))
}
