//! The query engine: per node, SQL over the time range and pushed-down predicates, read in pages
//! by (timestamp, id), oldest or newest first, each page decoded and filtered by a
//! [`PageReader`] (past the second, on other cores: [`PageWorkers`]); nodes merged by
//! (timestamp, node, id) in the same order.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::sync::Arc;

use rusqlite::types::Value as SqlValue;

use crate::entry::Entry;
use crate::error::{SqlContext, StoreError};
use crate::layout::NodeLayout;
use crate::order::Order;
use crate::page_reader::PageReader;
use crate::page_workers::PageWorkers;
use crate::plan::{PAGE, Prepared};
use crate::readback::LostBodies;

/// Most entries fetched at a time, per node, when each comes with its whole bodies (up to
/// `--max-body` each): a cursor holds up to four pages at once (those its workers read and the one
/// it gives out), together no more than two pages of [`PAGE`]. (A quarter of [`PAGE`] held less
/// still, and cost 10–25 % more CPU on `query -o json` of a whole store.)
const WHOLE_BODIES_PAGE: i64 = PAGE / 2;

/// The matching entries of one node, in (timestamp, id) order.
pub(crate) struct NodeCursor {
    layout: NodeLayout,
    sql: String,
    plan: Prepared,
    /// The (timestamp, id) last fetched: the next page starts past it in the plan's order.
    after: Option<(i64, i64)>,
    page: VecDeque<Entry>,
    /// Whether every page of ids was fetched.
    fetched_all: bool,
    /// Whether every page was fetched and read.
    done: bool,
    /// Reads pages itself: the first two, and all of them when no worker can be had.
    reader: PageReader,
    /// Read the pages after the second on other cores.
    workers: PageWorkers,
    /// Pages read so far.
    pages_read: u64,
    /// Entries whose bodies could not be read back, by all of the node's readers.
    lost: Arc<LostBodies>,
}

/// The page (counted from 0) from which a cursor's pages are read by workers.
const WORKERS_FROM_PAGE: u64 = 2;

impl NodeCursor {
    /// Opens the index of `layout` for `plan`.
    pub fn open(layout: &NodeLayout, mut plan: Prepared) -> Result<Self, StoreError> {
        if plan.bodies.as_ref().is_some_and(|b| b.whole) {
            plan.fetch = plan.fetch.min(WHOLE_BODIES_PAGE);
        }
        let lost = LostBodies::new(layout);
        let reader = PageReader::open(layout, plan.clone(), &lost)?;
        // ?1..?3: the lower time bound, the upper one and the id at the bound a page resumes from.
        let sql = match plan.order {
            Order::OldestFirst => format!(
                "SELECT e.ts, e.id FROM entries e
                 WHERE e.ts >= ?1 AND e.ts < ?2 AND NOT (e.ts = ?1 AND e.id <= ?3) AND {}
                 ORDER BY e.ts, e.id LIMIT {}",
                plan.condition.sql, plan.fetch
            ),
            Order::NewestFirst => format!(
                "SELECT e.ts, e.id FROM entries e
                 WHERE e.ts >= ?1 AND e.ts <= ?2 AND NOT (e.ts = ?2 AND e.id >= ?3) AND {}
                 ORDER BY e.ts DESC, e.id DESC LIMIT {}",
                plan.condition.sql, plan.fetch
            ),
        };
        let done = plan.from >= plan.to;
        Ok(NodeCursor {
            layout: layout.clone(),
            sql,
            plan,
            after: None,
            page: VecDeque::new(),
            fetched_all: done,
            done,
            reader,
            workers: PageWorkers::new(layout.index.clone()),
            pages_read: 0,
            lost,
        })
    }

    /// Starts past `(ts, id)` in the plan's order: oldest first, with the entries after it; newest
    /// first, with those before it. `id` may be `i64::MIN` or `i64::MAX` to take or skip every
    /// entry at `ts`.
    pub(crate) fn resume_after(&mut self, ts: i64, id: i64) {
        self.after = Some((ts, id));
    }

    /// Reads the next page into `page`: the first two itself (a dashboard's page and the entry
    /// after it start no threads); the later ones from its workers, kept busy with the pages
    /// after, or itself when it has none.
    fn fetch(&mut self) -> Result<(), StoreError> {
        if self.pages_read == WORKERS_FROM_PAGE {
            self.workers.start(&self.layout, &self.plan, &self.lost);
        }
        self.pages_read += 1;
        while self.workers.has_room() && !self.fetched_all {
            let ids = self.fetch_ids()?;
            self.workers.send(ids);
        }
        let kept = match self.workers.recv() {
            Some(read) => read?,
            None if self.fetched_all => Vec::new(),
            None => {
                let ids = self.fetch_ids()?;
                self.reader.read(&ids)?
            }
        };
        self.page.extend(kept);
        self.done = self.fetched_all && self.workers.idle();
        if self.done {
            self.workers.stop();
        }
        Ok(())
    }

    /// The ids of the next page of matching entries.
    fn fetch_ids(&mut self) -> Result<Vec<i64>, StoreError> {
        let (from, to) = (self.plan.from, self.plan.to);
        let bounds = match (self.plan.order, self.after) {
            (Order::OldestFirst, Some((ts, id))) if ts >= from => [from.max(ts), to, id],
            (Order::OldestFirst, _) => [from, to, i64::MIN],
            (Order::NewestFirst, Some((ts, id))) if ts < to => [from, ts, id],
            (Order::NewestFirst, _) => [from, to - 1, i64::MAX],
        };
        let mut params: Vec<SqlValue> = bounds.into_iter().map(SqlValue::Integer).collect();
        params.extend(self.plan.condition.params.iter().cloned());
        let path = &self.layout.index;
        let mut stmt = self.reader.conn().prepare_cached(&self.sql).at(path)?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(params), |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
            })
            .at(path)?
            .collect::<Result<Vec<_>, _>>()
            .at(path)?;
        self.fetched_all = (rows.len() as i64) < self.plan.fetch;
        if let Some(&last) = rows.last() {
            self.after = Some(last);
        }
        Ok(rows.into_iter().map(|(_, id)| id).collect())
    }
}

impl Iterator for NodeCursor {
    type Item = Result<Entry, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        while self.page.is_empty() && !self.done {
            if let Err(e) = self.fetch() {
                self.done = true;
                self.workers.stop();
                return Some(Err(e));
            }
        }
        self.page.pop_front().map(Ok)
    }
}

/// Matching entries of every node, merged by (timestamp, node, id) in the plan's order, up to the
/// limit.
pub struct Entries {
    cursors: Vec<NodeCursor>,
    heads: Vec<Option<Entry>>,
    /// The heads' keys, smallest first; newest first stores each key bitwise inverted, which
    /// reverses the order of every part.
    heap: BinaryHeap<Reverse<(i64, usize, u64)>>,
    order: Order,
    pending_error: Option<StoreError>,
    left: Option<usize>,
}

impl Entries {
    pub(crate) fn new(cursors: Vec<NodeCursor>, limit: Option<usize>) -> Self {
        let heads = cursors.iter().map(|_| None).collect();
        let order = cursors.first().map_or(Order::OldestFirst, |c| c.plan.order);
        let mut merged = Entries {
            cursors,
            heads,
            heap: BinaryHeap::new(),
            order,
            pending_error: None,
            left: limit,
        };
        for node in 0..merged.cursors.len() {
            merged.refill(node);
        }
        merged
    }

    fn refill(&mut self, node: usize) {
        let Some(cursor) = self.cursors.get_mut(node) else {
            return;
        };
        match cursor.next() {
            Some(Ok(entry)) => {
                let key = (entry.timestamp, node, entry.id);
                self.heap.push(Reverse(match self.order {
                    Order::OldestFirst => key,
                    Order::NewestFirst => (!key.0, !key.1, !key.2),
                }));
                if let Some(slot) = self.heads.get_mut(node) {
                    *slot = Some(entry);
                }
            }
            Some(Err(e)) => self.pending_error = Some(e),
            None => {}
        }
    }
}

impl Entries {
    /// The next entry and the position of its node among the store's indexed nodes.
    pub(crate) fn next_with_node(&mut self) -> Option<Result<(usize, Entry), StoreError>> {
        if let Some(e) = self.pending_error.take() {
            return Some(Err(e));
        }
        if self.left == Some(0) {
            return None;
        }
        let Reverse((_, node, _)) = self.heap.pop()?;
        let node = match self.order {
            Order::OldestFirst => node,
            Order::NewestFirst => !node,
        };
        let entry = self.heads.get_mut(node).and_then(Option::take)?;
        if let Some(left) = self.left.as_mut() {
            *left -= 1;
        }
        // The last entry the limit allows needs no successor: reading one would read a page more.
        if self.left != Some(0) {
            self.refill(node);
        }
        Some(Ok((node, entry)))
    }

    /// Page workers running for each node's cursor.
    #[cfg(test)]
    pub(crate) fn workers_running(&self) -> Vec<usize> {
        self.cursors.iter().map(|c| c.workers.len()).collect()
    }
}

impl Iterator for Entries {
    type Item = Result<Entry, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_with_node().map(|r| r.map(|(_, entry)| entry))
    }
}
