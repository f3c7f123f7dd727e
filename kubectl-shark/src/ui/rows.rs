//! Entries as the page shows them: a list row (the CLI table's cells, no bodies or headers) and
//! the whole entry for its detail view.

use serde_json::{Map, Value};
use shark_store::{Entry, PageKey};

use super::cursor::FleetKey;
use crate::render::{COLUMNS, entry_cells, entry_json_in};

/// Request and response fields a row leaves out: the large ones, which only the detail shows.
const DETAIL_ONLY: [&str; 3] = ["body", "headers", "trailers"];

/// Where an entry was read: a local store, or a cluster's agents.
#[derive(Debug, Clone, Copy)]
pub enum Origin<'a> {
    /// A store directory.
    Store,
    /// The agents of cluster `.0` ("" when the one cluster is unnamed); `.1` the other cluster
    /// that named each side (src, dst) when its own could not.
    Cluster(&'a str, &'a [Option<String>; 2]),
}

/// A row of the entries list: the entry without bodies and headers, the table's cells by column
/// name (`TIME`, `SRC`, …, as `query` prints them), whether it failed, its cluster, and its cursor.
pub fn row(entry: &Entry, from: Origin<'_>) -> serde_json::Result<Value> {
    let mut value = detail(entry, from)?;
    if let Some(obj) = value.as_object_mut() {
        for side in ["request", "response"] {
            if let Some(Value::Object(message)) = obj.get_mut(side) {
                for key in DETAIL_ONLY {
                    message.remove(key);
                }
            }
        }
        let cells: Map<String, Value> = COLUMNS
            .iter()
            .zip(entry_cells(entry))
            .map(|(c, v)| ((*c).to_string(), Value::String(v)))
            .collect();
        obj.insert("cells".into(), Value::Object(cells));
        // Where a listing resumes past this row: the page keeps its last row's instead of the
        // answer's when it drops rows it holds.
        let cursor = match from {
            Origin::Store => PageKey {
                timestamp: entry.timestamp,
                node: entry.node.name.clone(),
                id: entry.id,
            }
            .to_string(),
            Origin::Cluster(cluster, _) => FleetKey {
                timestamp: entry.timestamp,
                cluster: cluster.to_string(),
                node: entry.node.name.clone(),
                id: entry.id,
            }
            .to_string(),
        };
        obj.insert("cursor".into(), Value::String(cursor));
    }
    Ok(value)
}

/// The whole entry as `query -o json` prints it (with its `cluster` when the cluster is named,
/// and a side's when another cluster named it), and whether it failed (as the map counts errors).
pub fn detail(entry: &Entry, from: Origin<'_>) -> serde_json::Result<Value> {
    let (cluster, named) = match from {
        Origin::Store => ("", &[None, None]),
        Origin::Cluster(name, named) => (name, named),
    };
    let mut value = entry_json_in(cluster, entry, named)?;
    if let Some(obj) = value.as_object_mut() {
        obj.insert("failed".into(), Value::Bool(shark_store::failed(entry)));
    }
    Ok(value)
}
