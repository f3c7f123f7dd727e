//! Pages of entries for a reader that scrolls: oldest or newest first, each page resumed from a
//! keyset cursor over (timestamp, node, id), so a page costs the same however deep it is and
//! entries stored meanwhile neither repeat nor shift what comes next.

use std::fmt;
use std::str::FromStr;

use crate::entry::Entry;
use crate::error::StoreError;
use crate::order::Order;
use crate::plan::{Prepared, Query};
use crate::query::{Entries, NodeCursor};
use crate::store::Store;

/// Where a page ended: the (timestamp, node, id) of its last entry. The next page holds the
/// entries past it in the page's order. As text (`TS.ID.NODE`) it is an opaque cursor for clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageKey {
    /// The entry's timestamp, ns since the epoch.
    pub timestamp: i64,
    /// The node the entry is stored under.
    pub node: String,
    /// The entry's id in its node's index.
    pub id: u64,
}

/// A cursor that is not one [`PageKey`] wrote.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cursor `{0}` is not one this store handed out: start again without it")]
pub struct BadCursor(String);

impl fmt::Display for PageKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.timestamp, self.id, self.node)
    }
}

impl FromStr for PageKey {
    type Err = BadCursor;

    fn from_str(text: &str) -> Result<Self, BadCursor> {
        let bad = || BadCursor(text.chars().take(80).collect());
        let mut parts = text.splitn(3, '.');
        let timestamp = parts.next().and_then(|t| t.parse().ok()).ok_or_else(bad)?;
        let id = parts.next().and_then(|t| t.parse().ok()).ok_or_else(bad)?;
        let node = parts.next().filter(|n| !n.is_empty()).ok_or_else(bad)?;
        Ok(PageKey {
            timestamp,
            node: node.to_string(),
            id,
        })
    }
}

/// One page of entries and the cursor to the next.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// The entries, in the page's order.
    pub entries: Vec<Entry>,
    /// Where the next page starts; `None` when no entry is left.
    pub next: Option<PageKey>,
}

impl Store {
    /// Up to `size` entries matching `q` in `order`, past `after` (the previous page's
    /// [`Page::next`]), merged across nodes. Bodies the index cut are read back only where the
    /// filter reads them: a page is for listing. `q.limit` is ignored; a filter's `limit(n)` is not.
    pub fn page(
        &self,
        q: &Query,
        order: Order,
        after: Option<&PageKey>,
        size: usize,
    ) -> Result<Page, StoreError> {
        let mut plan = Prepared::new(&Query {
            limit: None,
            ..q.clone()
        });
        plan.order = order;
        if plan.bodies.is_none() {
            plan.bodies = self.body_reading(false);
        }
        // The page and the one entry that says another follows.
        plan.fetch_for(size.saturating_add(1));
        let nodes: Vec<(&str, _)> = self.indexed_nodes().collect();
        let mut cursors = Vec::with_capacity(nodes.len());
        for (name, layout) in &nodes {
            let mut cursor = NodeCursor::open(layout, plan.clone())?;
            if let Some(key) = after {
                // Past (ts, node, id): a node sorting before the key's node has its entries at
                // `ts` still to come when newest first and behind when oldest first, and the
                // other way round for a node sorting after it; the key's own node resumes at its id.
                let id = match (*name).cmp(key.node.as_str()) {
                    std::cmp::Ordering::Less => i64::MAX,
                    std::cmp::Ordering::Equal => i64::try_from(key.id).unwrap_or(i64::MAX),
                    std::cmp::Ordering::Greater => i64::MIN,
                };
                cursor.resume_after(key.timestamp, id);
            }
            cursors.push(cursor);
        }
        // A filter's `limit(n)` counts from the first page: without a cursor it caps this page.
        let limit = match (plan.limit, after) {
            (Some(_), Some(_)) => return Ok(Page::default()),
            (Some(n), None) => n.min(size),
            (None, _) => size,
        };
        let mut merged = Entries::new(cursors, Some(limit.saturating_add(1)));
        let mut page = Page::default();
        let mut last_node = None;
        while let Some(found) = merged.next_with_node() {
            let (node, entry) = found?;
            if page.entries.len() == limit {
                // One more matched: the page is full and the next one starts past its last entry.
                page.next =
                    page.entries
                        .last()
                        .zip(last_node)
                        .map(|(last, name): (&Entry, &str)| PageKey {
                            timestamp: last.timestamp,
                            node: name.to_string(),
                            id: last.id,
                        });
                break;
            }
            last_node = nodes.get(node).map(|(name, _)| *name);
            page.entries.push(entry);
        }
        Ok(page)
    }
}
