//! The query engine: per node, SQL over the time range and pushed-down predicates, read in pages
//! by (timestamp, id), oldest or newest first; the residual filter on decoded entries; nodes merged
//! by (timestamp, node, id) in the same order.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::sync::Arc;

use kfl::{CmpOp, IndexPredicate, IndexType, IndexedField, Literal};
use rusqlite::Connection;
use rusqlite::types::Value as SqlValue;

use crate::bodies::{self, BodyReading, CutReads};
use crate::entry::Entry;
use crate::error::{SqlContext, StoreError};
use crate::index::columns::{INDEXED_COLUMNS, IndexedColumn};
use crate::index::predicate;
use crate::layout::NodeLayout;
use crate::order::Order;
use crate::page_reader::PageReader;
use crate::page_workers::PageWorkers;
use crate::readback::{LostBodies, NodeBodies};

/// Most entries fetched from SQLite at a time, per node: memory stays bounded whatever the result size.
const PAGE: i64 = 512;

/// Most entries fetched at a time, per node, when each comes with its whole bodies (up to
/// `--max-body` each): a cursor holds up to four pages at once (those its workers read and the one
/// it gives out), together no more than two pages of [`PAGE`]. (A quarter of [`PAGE`] held less
/// still, and cost 10–25 % more CPU on `query -o json` of a whole store.)
const WHOLE_BODIES_PAGE: i64 = PAGE / 2;

/// Fewest entries fetched at a time, per node, however few a reader wants.
const MIN_FETCH: i64 = 32;

/// A question for the store: a time window and a filter.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// Earliest request timestamp, ns since the epoch, inclusive.
    pub from: Option<i64>,
    /// Latest request timestamp, ns since the epoch, exclusive.
    pub to: Option<i64>,
    /// KFL filter; `None` matches every entry.
    pub filter: Option<kfl::Filter>,
    /// Most entries to return (the smaller of this and the filter's `limit(n)`).
    pub limit: Option<usize>,
}

/// The plan of a query, shared by its nodes.
#[derive(Clone)]
pub(crate) struct Prepared {
    from: i64,
    to: i64,
    condition: predicate::SqlCondition,
    residual: Option<kfl::Filter>,
    /// The effective limit.
    pub limit: Option<usize>,
    /// How bodies the index cut are read back, when the store can.
    pub bodies: Option<BodyReading>,
    /// Oldest or newest first.
    pub order: Order,
    /// Entries fetched from SQLite at a time, per node (at most [`PAGE`]).
    fetch: i64,
}

impl Prepared {
    /// Plans `q`: pushes what the index can answer into SQL, keeps the rest as residual.
    pub fn new(q: &Query) -> Self {
        let plan = q.filter.as_ref().map(|f| f.plan(&INDEXED_COLUMNS));
        let (index, residual, plan_limit) = match plan {
            Some(p) => (p.index, p.residual, p.limit),
            None => (IndexPredicate::True, None, None),
        };
        let limit = match (q.limit, plan_limit) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Self::from_parts(q.from, q.to, &index, residual, limit)
    }

    /// A plan from its parts: the window, what the index answers, the residual and the limit.
    pub fn from_parts(
        from: Option<i64>,
        to: Option<i64>,
        index: &IndexPredicate<IndexedColumn>,
        residual: Option<kfl::Filter>,
        limit: Option<usize>,
    ) -> Self {
        let (lo, hi) = time_bounds(index);
        let from = from.unwrap_or(i64::MIN).max(lo);
        let to = to.unwrap_or(i64::MAX).min(hi);
        Prepared {
            from,
            to,
            condition: predicate::to_sql(index),
            residual,
            limit,
            bodies: None,
            order: Order::OldestFirst,
            fetch: PAGE,
        }
    }

    /// Fetches only as many entries at a time per node as `wanted` needs (a page of a list:
    /// fetching more decodes entries the page never shows, and with a selective filter scans
    /// further for them).
    pub(crate) fn fetch_for(&mut self, wanted: usize) {
        self.fetch = i64::try_from(wanted).unwrap_or(PAGE).clamp(MIN_FETCH, PAGE);
    }

    /// The condition pushed down to the index, over `entries` aliased `e`.
    pub(crate) fn condition(&self) -> &predicate::SqlCondition {
        &self.condition
    }

    /// Whether the index answers the whole query: no residual filter and no limit.
    pub(crate) fn pushed_down(&self) -> bool {
        self.residual.is_none() && self.limit.is_none()
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

/// Narrowest `[from, to)` implied by top-level conjuncts on `timestamp`.
fn time_bounds(pred: &IndexPredicate<IndexedColumn>) -> (i64, i64) {
    match pred {
        IndexPredicate::Cmp {
            field,
            op,
            value: Literal::Int(v),
        } if field.ty() == IndexType::Time => match op {
            CmpOp::Ge => (*v, i64::MAX),
            CmpOp::Gt => (v.saturating_add(1), i64::MAX),
            CmpOp::Lt => (i64::MIN, *v),
            CmpOp::Le => (i64::MIN, v.saturating_add(1)),
            CmpOp::Eq => (*v, v.saturating_add(1)),
            CmpOp::Ne => (i64::MIN, i64::MAX),
        },
        IndexPredicate::And(parts) => parts
            .iter()
            .map(time_bounds)
            .fold((i64::MIN, i64::MAX), |(a, b), (c, d)| (a.max(c), b.min(d))),
        _ => (i64::MIN, i64::MAX),
    }
}

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
    /// Reads pages itself: the first, and all of them when no worker can be had.
    reader: PageReader,
    /// Read the pages after the first on other cores.
    workers: PageWorkers,
    /// Pages read so far.
    pages_read: u64,
    /// Entries whose bodies could not be read back, by all of the node's readers.
    lost: Arc<LostBodies>,
}

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

    /// Reads the next page into `page`: the first one itself; the later ones from its workers,
    /// kept busy with the pages after, or itself when it has none.
    fn fetch(&mut self) -> Result<(), StoreError> {
        if self.pages_read == 1 {
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
        self.refill(node);
        if let Some(left) = self.left.as_mut() {
            *left -= 1;
        }
        Some(Ok((node, entry)))
    }
}

impl Iterator for Entries {
    type Item = Result<Entry, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_with_node().map(|r| r.map(|(_, entry)| entry))
    }
}

#[cfg(test)]
mod tests {
    use crate::entry::Entry;
    use crate::{NodeWriter, Query, Store, StoreConfig};

    /// How many page workers a query over `store` had at most, and how many once read to its end.
    fn workers_of(store: &Store) -> (usize, usize) {
        let mut entries = store.query(&Query::default()).unwrap();
        let mut started = 0;
        let mut read = 0;
        while let Some(found) = entries.next() {
            found.unwrap();
            read += 1;
            started = started.max(entries.cursors[0].workers.len());
        }
        assert_eq!(read, 3 * super::PAGE);
        (started, entries.cursors[0].workers.len())
    }

    #[test]
    fn page_workers_are_started_as_allowed_and_stopped_at_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = NodeWriter::open(dir.path(), "n1", StoreConfig::default()).unwrap();
        for i in 0..3 * super::PAGE {
            let mut e = Entry {
                timestamp: 1_000 + i,
                ..Entry::default()
            };
            e.node.name = "n1".into();
            e.protocol.name = "http".into();
            writer.write_entry(e).unwrap();
        }
        writer.finish().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (started, left) = workers_of(&store);
        assert!(started > 0, "the pages after the first went to workers");
        assert_eq!(left, 0, "a cursor read to its end holds no workers");
        crate::set_query_threads(0);
        let none = workers_of(&store);
        crate::set_query_threads(1);
        let one = workers_of(&store);
        crate::set_query_threads(usize::MAX);
        assert_eq!(none, (0, 0), "an agent's queries take no threads");
        assert_eq!(one, (1, 0));
    }
}
