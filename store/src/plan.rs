//! A query and its plan: the window, what the index answers (pushed down into SQL), the residual
//! filter the decoded entries must pass, the limit, and how bodies are read back.

use kfl::{CmpOp, IndexPredicate, IndexType, IndexedField, Literal};

use crate::bodies::BodyReading;
use crate::index::columns::{INDEXED_COLUMNS, IndexedColumn};
use crate::index::predicate;
use crate::order::Order;

/// Most entries fetched from SQLite at a time, per node: memory stays bounded whatever the result size.
pub(crate) const PAGE: i64 = 512;

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
    pub(crate) from: i64,
    pub(crate) to: i64,
    pub(crate) condition: predicate::SqlCondition,
    pub(crate) residual: Option<kfl::Filter>,
    /// The effective limit.
    pub limit: Option<usize>,
    /// How bodies the index cut are read back, when the store can.
    pub bodies: Option<BodyReading>,
    /// Oldest or newest first.
    pub order: Order,
    /// Entries fetched from SQLite at a time, per node (at most [`PAGE`]).
    pub(crate) fetch: i64,
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
