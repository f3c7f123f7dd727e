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
