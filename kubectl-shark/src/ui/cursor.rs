//! Where a listing over several clusters resumes: the keyset `(timestamp, cluster, node, id)`,
//! written as an opaque cursor, and turned into what each cluster's agents are asked (their own
//! `(timestamp, node, id)` cursor, or a window cut at the timestamp).

use std::fmt;
use std::str::FromStr;

use shark_store::{Order, PageKey};

/// The last row a page over several clusters showed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct FleetKey {
    /// The entry's timestamp, ns since the epoch.
    pub timestamp: i64,
    /// Its cluster ("" when the one cluster is unnamed).
    pub cluster: String,
    /// Its node.
    pub node: String,
    /// Its id in the node's index.
    pub id: u64,
}

/// A cursor this server did not hand out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cursor `{0}` is not one this dashboard handed out: start again without it")]
pub struct BadCursor(String);

impl fmt::Display for FleetKey {
    /// `TS.ID.LEN.CLUSTERNODE`: the cluster's length in bytes says where the node starts, so
    /// neither name needs escaping.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{}.{}.{}{}",
            self.timestamp,
            self.id,
            self.cluster.len(),
            self.cluster,
            self.node
        )
    }
}

impl FromStr for FleetKey {
    type Err = BadCursor;

    fn from_str(text: &str) -> Result<Self, BadCursor> {
        let bad = || BadCursor(text.chars().take(80).collect());
        let mut parts = text.splitn(4, '.');
        let mut number = || parts.next().and_then(|t| t.parse::<i64>().ok());
        let (timestamp, id, length) = (number(), number(), number());
        let names = parts.next().ok_or_else(bad)?;
        let (Some(timestamp), Some(id), Some(length)) = (timestamp, id, length) else {
            return Err(bad());
        };
        let length = usize::try_from(length).map_err(|_| bad())?;
        let (cluster, node) = (names.get(..length), names.get(length..));
        match (cluster, node, u64::try_from(id)) {
            (Some(cluster), Some(node), Ok(id)) if !node.is_empty() => Ok(FleetKey {
                timestamp,
                cluster: cluster.to_string(),
                node: node.to_string(),
                id,
            }),
            _ => Err(bad()),
        }
    }
}

/// What cluster `name`'s agents are asked for the page past `after` in `order`, within
/// `[from, to)`: the window (cut at the cursor's timestamp for a cluster other than the
/// cursor's) and the agents' own cursor (for the cursor's cluster); `None` when nothing of that
/// cluster can follow.
pub fn resume(
    name: &str,
    order: Order,
    after: Option<&FleetKey>,
    (from, to): (Option<i64>, Option<i64>),
) -> Option<(Option<i64>, Option<i64>, Option<PageKey>)> {
    let Some(key) = after else {
        return Some((from, to, None));
    };
    let t = key.timestamp;
    let (from, to, own) = match (order, name.cmp(key.cluster.as_str())) {
        (_, std::cmp::Ordering::Equal) => {
            let own = PageKey {
                timestamp: t,
                node: key.node.clone(),
                id: key.id,
            };
            (from, to, Some(own))
        }
        // Newest first: a cluster sorting before the cursor's still has its entries at `t` to
        // come, one sorting after it has them behind.
        (Order::NewestFirst, std::cmp::Ordering::Less) => {
            (from, cap(to, t.saturating_add(1)), None)
        }
        (Order::NewestFirst, std::cmp::Ordering::Greater) => (from, cap(to, t), None),
        // Oldest first: the other way round.
        (Order::OldestFirst, std::cmp::Ordering::Less) => {
            (floor(from, t.saturating_add(1)), to, None)
        }
        (Order::OldestFirst, std::cmp::Ordering::Greater) => (floor(from, t), to, None),
    };
    match (from, to) {
        (Some(f), Some(t)) if f >= t => None,
        _ => Some((from, to, own)),
    }
}

/// The earlier of an optional end and `t`.
fn cap(to: Option<i64>, t: i64) -> Option<i64> {
    Some(to.map_or(t, |to| to.min(t)))
}

/// The later of an optional start and `t`.
fn floor(from: Option<i64>, t: i64) -> Option<i64> {
    Some(from.map_or(t, |from| from.max(t)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_whatever_its_names_hold() {
        for (cluster, node) in [("", "node-a"), ("arn:aws:eks:eu/prod.1", "ip-10-0-0-1.ec2")] {
            let key = FleetKey {
                timestamp: -5,
                cluster: cluster.into(),
                node: node.into(),
                id: 42,
            };
            assert_eq!(key.to_string().parse::<FleetKey>(), Ok(key));
        }
        for bad in [
            "",
            "1.2",
            "1.2.3.ab",
            "1.2.9.short",
            "x.2.0.n",
            "1.-2.0.n",
            "1.2.0.",
        ] {
            assert!(bad.parse::<FleetKey>().is_err(), "{bad}");
        }
    }

    #[test]
    fn each_cluster_resumes_where_the_merged_order_left_it() {
        let key = FleetKey {
            timestamp: 100,
            cluster: "m".into(),
            node: "n".into(),
            id: 7,
        };
        let newest = |name| resume(name, Order::NewestFirst, Some(&key), (None, None));
        assert_eq!(newest("a"), Some((None, Some(101), None)));
        assert_eq!(newest("z"), Some((None, Some(100), None)));
        let own = newest("m").expect("asked").2.expect("its own cursor");
        assert_eq!((own.timestamp, own.node.as_str(), own.id), (100, "n", 7));
        let oldest = |name| resume(name, Order::OldestFirst, Some(&key), (Some(0), Some(101)));
        assert_eq!(oldest("a"), None, "nothing of `a` is left in [101, 101)");
        assert_eq!(oldest("z"), Some((Some(100), Some(101), None)));
    }
}
