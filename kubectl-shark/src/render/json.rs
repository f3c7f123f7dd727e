//! NDJSON output: one entry per line with KFL's field names as nested keys.

use serde_json::Value;
use shark_store::Entry;

use crate::timefmt::format_rfc3339;

/// The entry as a JSON object; `timestamp` is RFC3339 with nanoseconds (UTC).
pub fn entry_json(entry: &Entry) -> serde_json::Result<Value> {
    let mut value = serde_json::to_value(entry)?;
    if let Some(obj) = value.as_object_mut() {
        obj.insert(
            "timestamp".into(),
            Value::String(format_rfc3339(entry.timestamp)),
        );
    }
    Ok(value)
}

/// [`entry_json`] with the cluster it came from as `cluster` (left out when "": one unnamed cluster
/// or a local store), and the cluster that named each side (`src`, `dst`) when another did, as
/// that side's `cluster`.
pub fn entry_json_in(
    cluster: &str,
    entry: &Entry,
    named: &[Option<String>; 2],
) -> serde_json::Result<Value> {
    let mut value = entry_json(entry)?;
    if let (false, Some(obj)) = (cluster.is_empty(), value.as_object_mut()) {
        obj.insert("cluster".into(), Value::String(cluster.to_string()));
    }
    for (side, other) in ["src", "dst"].into_iter().zip(named) {
        if let (Some(other), Some(obj)) = (other, value[side].as_object_mut()) {
            obj.insert("cluster".into(), Value::String(other.clone()));
        }
    }
    Ok(value)
}

/// Shows the sides of `entry` another cluster named (`named`, src and dst) as
/// `CLUSTER:namespace/name` in a table.
pub fn show_named(entry: &mut Entry, named: &[Option<String>; 2]) {
    for (side, other) in [&mut entry.src, &mut entry.dst].into_iter().zip(named) {
        if let Some(other) = other {
            side.namespace = format!("{other}:{}", side.namespace);
        }
    }
}
