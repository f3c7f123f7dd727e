//! Entries as the page shows them: a list row (the CLI table's cells, no bodies or headers) and
//! the whole entry for its detail view.

use serde_json::{Map, Value};
use shark_store::{Entry, PageKey};

use crate::render::{COLUMNS, entry_cells, entry_json};

/// Request and response fields a row leaves out: the large ones, which only the detail shows.
const DETAIL_ONLY: [&str; 3] = ["body", "headers", "trailers"];

/// A row of the entries list: the entry without bodies and headers, the table's cells by column
/// name (`TIME`, `SRC`, …, as `query` prints them), whether it failed, and its cursor.
pub fn row(entry: &Entry) -> serde_json::Result<Value> {
    let mut value = detail(entry)?;
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
        let key = PageKey {
            timestamp: entry.timestamp,
            node: entry.node.name.clone(),
            id: entry.id,
        };
        obj.insert("cursor".into(), Value::String(key.to_string()));
    }
    Ok(value)
}

/// The whole entry as `query -o json` prints it, and whether it failed (as the map counts errors).
pub fn detail(entry: &Entry) -> serde_json::Result<Value> {
    let mut value = entry_json(entry)?;
    if let Some(obj) = value.as_object_mut() {
        obj.insert("failed".into(), Value::Bool(shark_store::failed(entry)));
    }
    Ok(value)
}
