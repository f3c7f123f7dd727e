//! JSON inside values: text parsed by `.json()`, and JSON values copied out into [`Value`]s.

use std::borrow::Cow;

use crate::compare::View;
use crate::value::Value;

/// Parses the text of `value` as JSON (`.json()`).
pub fn parse_json(value: &Value<'_>) -> Option<serde_json::Value> {
    match View::of(value) {
        View::Str(text) => serde_json::from_str(text).ok(),
        _ => None,
    }
}

/// Copies a JSON value into a [`Value`]: scalars as themselves, arrays as lists, objects as their
/// JSON text.
pub fn owned_json(json: &serde_json::Value) -> Value<'static> {
    match json {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => n
            .as_i64()
            .map_or_else(|| n.as_f64().map_or(Value::Nil, Value::Float), Value::Int),
        serde_json::Value::String(text) => Value::Str(Cow::Owned(text.clone())),
        serde_json::Value::Array(items) => Value::List(items.iter().map(owned_json).collect()),
        serde_json::Value::Object(_) => Value::Str(Cow::Owned(json.to_string())),
    }
}
