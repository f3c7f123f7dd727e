//! How many entries, and how many failed, fall in each slice of a window: the strip a dashboard
//! draws above its list.
//!
//! When the index answers the whole filter, both series are counted in SQL, per node, grouped by
//! slice: the entries from `entries` under the filter's pushed-down condition, the failures from
//! `failures` (the keys of the entries [`Entry::failed`](crate::Entry::failed) said failed, recorded
//! as they were written), so the two cannot disagree with the map. A filter with a residual part,
//! or an index with entries written before `failures` existed, falls back to decoding the window.

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension};

use crate::error::{SqlContext, StoreError};
use crate::index;
use crate::layout::NodeLayout;
use crate::map::failed;
use crate::plan::{Prepared, Query};
use crate::store::Store;

/// Most buckets a histogram has.
pub const MAX_BUCKETS: usize = 2_000;

/// Entries and failures per equal slice of `[from, to)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Histogram {
    /// Start of the first bucket, ns since the epoch.
    pub from: i64,
    /// End of the last bucket (exclusive), ns since the epoch.
    pub to: i64,
    /// Width of each bucket, ns.
    pub width: i64,
    /// Matching entries per bucket.
    pub entries: Vec<u64>,
    /// Of those, the ones that failed (as the service map counts errors: see [`crate::failed`]).
    pub errors: Vec<u64>,
}

impl Histogram {
    /// Adds `entries` and `errors` to the bucket at `at` (the last one past the end).
    fn add(&mut self, at: i64, entries: u64, errors: u64) {
        let last = self.entries.len().saturating_sub(1);
        let at = usize::try_from(at).unwrap_or(0).min(last);
        if let (Some(n), Some(e)) = (self.entries.get_mut(at), self.errors.get_mut(at)) {
            *n += entries;
            *e += errors;
        }
    }
}

impl Store {
    /// The histogram of the entries matching `q` in `buckets` slices (1 to `MAX_BUCKETS`) of its
    /// window; an open end is the oldest or newest entry stored. `None` when the window is open
    /// and the store holds no entry to close it.
    pub fn histogram(&self, q: &Query, buckets: usize) -> Result<Option<Histogram>, StoreError> {
        let buckets = buckets.clamp(1, MAX_BUCKETS);
        let (from, to) = match (q.from, q.to) {
            (Some(from), Some(to)) => (from, to),
            (from, to) => match self.entry_span()? {
                Some((oldest, newest)) => (
                    from.unwrap_or(oldest),
                    to.unwrap_or(newest.saturating_add(1)),
                ),
                None => return Ok(None),
            },
        };
        if from >= to {
            return Ok(None);
        }
        let span = i128::from(to) - i128::from(from);
        let width = i64::try_from((span + buckets as i128 - 1) / buckets as i128)
            .unwrap_or(i64::MAX)
            .max(1);
        let empty = Histogram {
            from,
            to,
            width,
            entries: vec![0; buckets],
            errors: vec![0; buckets],
        };
        let q = Query {
            from: Some(from),
            to: Some(to),
            ..q.clone()
        };
        let plan = Prepared::new(&q);
        if plan.pushed_down() {
            let mut histogram = empty.clone();
            let mut counted = true;
            for layout in self.indexed() {
                counted &= count_in_sql(layout, &plan, &mut histogram)?;
            }
            if counted {
                return Ok(Some(histogram));
            }
        }
        self.decoded(&q, empty).map(Some)
    }

    /// `histogram` filled by decoding every matching entry of `q`'s window.
    fn decoded(&self, q: &Query, mut histogram: Histogram) -> Result<Histogram, StoreError> {
        let (from, width) = (i128::from(histogram.from), i128::from(histogram.width));
        for entry in self.query(q)? {
            let entry = entry?;
            let at = (i128::from(entry.timestamp) - from) / width;
            histogram.add(i64::try_from(at).unwrap_or(0), 1, u64::from(failed(&entry)));
        }
        Ok(histogram)
    }

    /// The timestamps of the oldest and newest entries of every node.
    fn entry_span(&self) -> Result<Option<(i64, i64)>, StoreError> {
        let mut span: Option<(i64, i64)> = None;
        for (_, layout) in self.indexed_nodes() {
            let conn = index::open_readable(&layout.index)?;
            let found: Option<(Option<i64>, Option<i64>)> = conn
                .query_row("SELECT min(ts), max(ts) FROM entries", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()
                .at(&layout.index)?;
            if let Some((Some(lo), Some(hi))) = found {
                span = Some(span.map_or((lo, hi), |(a, b)| (a.min(lo), b.max(hi))));
            }
        }
        Ok(span)
    }
}

/// Adds one node's counts under `plan` (wholly pushed down) to `histogram`, in SQL. `false`, and
/// nothing added, when some entry of the window was written before failures were recorded.
fn count_in_sql(
    layout: &NodeLayout,
    plan: &Prepared,
    histogram: &mut Histogram,
) -> Result<bool, StoreError> {
    let path = &layout.index;
    let conn = index::open_readable(path)?;
    // An index a reader finds at an older schema (no writer has migrated it yet) has no `failures`.
    let Some(covered_from) = failures_from(&conn, path)? else {
        return Ok(false);
    };
    let cond = plan.condition();
    // Entries: one count per slice, each a range of the (ts, id) key. (One GROUP BY over the
    // window sorts every row into a temporary B-tree: 3x slower on 1 M entries.) ?1, ?2: the
    // slice; ?3: the first id `failures` covers; then the condition's own parameters (SQLite
    // numbers a bare `?` one past the largest number before it).
    let mut count = conn
        .prepare(&format!(
            "SELECT count(*), coalesce(sum(e.id < ?3), 0) FROM entries e
             WHERE e.ts >= ?1 AND e.ts < ?2 AND {}",
            cond.sql
        ))
        .at(path)?;
    let mut counts = Vec::with_capacity(histogram.entries.len());
    for at in 0..histogram.entries.len() {
        let lo = i128::from(histogram.from) + at as i128 * i128::from(histogram.width);
        let hi = (lo + i128::from(histogram.width)).min(i128::from(histogram.to));
        let (lo, hi) = (clamp_i64(lo), clamp_i64(hi));
        let mut params: Vec<SqlValue> = [lo, hi, covered_from]
            .into_iter()
            .map(SqlValue::Integer)
            .collect();
        params.extend(cond.params.iter().cloned());
        let (n, uncovered): (i64, i64) = count
            .query_row(rusqlite::params_from_iter(params), |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .at(path)?;
        if uncovered > 0 {
            return Ok(false);
        }
        counts.push(u64::try_from(n).unwrap_or(0));
    }
    // Failures are few: grouped by slice in one query. ?1, ?2: the window; ?3: the slice width.
    let mut params: Vec<SqlValue> = [histogram.from, histogram.to, histogram.width]
        .into_iter()
        .map(SqlValue::Integer)
        .collect();
    params.extend(cond.params.iter().cloned());
    let errors = format!(
        "SELECT CAST((f.ts - ?1) / ?3 AS INTEGER), count(*)
         FROM failures f JOIN entries e ON e.ts = f.ts AND e.id = f.id
         WHERE f.ts >= ?1 AND f.ts < ?2 AND {} GROUP BY 1",
        cond.sql
    );
    let failed = {
        let mut stmt = conn.prepare(&errors).at(path)?;
        stmt.query_map(rusqlite::params_from_iter(params), |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
        })
        .at(path)?
        .collect::<Result<Vec<_>, _>>()
        .at(path)?
    };
    for (at, n) in counts.into_iter().enumerate() {
        histogram.add(i64::try_from(at).unwrap_or(i64::MAX), n, 0);
    }
    for (at, n) in failed {
        histogram.add(at, 0, u64::try_from(n).unwrap_or(0));
    }
    Ok(true)
}

/// `n` as an i64, saturating.
fn clamp_i64(n: i128) -> i64 {
    i64::try_from(n).unwrap_or(if n < 0 { i64::MIN } else { i64::MAX })
}

/// The first entry id the index's `failures` table covers (0 when it covers every entry); `None`
/// when the index has no `failures` table.
fn failures_from(conn: &Connection, path: &std::path::Path) -> Result<Option<i64>, StoreError> {
    let found: Option<i64> = conn
        .query_row(
            "SELECT value FROM counters WHERE name = 'failures_from'",
            [],
            |r| r.get(0),
        )
        .optional()
        .at(path)?;
    Ok(found)
}
