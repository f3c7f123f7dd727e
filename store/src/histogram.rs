//! How many entries, and how many failed, fall in each slice of a window: the strip a dashboard
//! draws above its list.

use rusqlite::OptionalExtension;

use crate::error::{SqlContext, StoreError};
use crate::index;
use crate::map::failed;
use crate::query::Query;
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

impl Store {
    /// The histogram of the entries matching `q` in `buckets` slices (1 to [`MAX_BUCKETS`]) of its
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
        let mut histogram = Histogram {
            from,
            to,
            width,
            entries: vec![0; buckets],
            errors: vec![0; buckets],
        };
        for entry in self.query(&Query {
            from: Some(from),
            to: Some(to),
            ..q.clone()
        })? {
            let entry = entry?;
            let at = usize::try_from(
                (i128::from(entry.timestamp) - i128::from(from)) / i128::from(width),
            )
            .unwrap_or(0);
            if let (Some(n), Some(e)) =
                (histogram.entries.get_mut(at), histogram.errors.get_mut(at))
            {
                *n += 1;
                *e += u64::from(failed(&entry));
            }
        }
        Ok(Some(histogram))
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
