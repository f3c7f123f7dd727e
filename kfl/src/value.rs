//! Values that filters compute with and that records hand out.

use std::borrow::Cow;

/// A value seen by the evaluator: a field of a record, a literal, or a computed result.
///
/// Records return borrowed values where they can (`Str(Cow::Borrowed)`, `Json(&…)`), so evaluating
/// a filter over a decoded entry allocates nothing on the common paths.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    /// Absent field or `nil`/`null`.
    Nil,
    /// `true` / `false`.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// Text.
    Str(Cow<'a, str>),
    /// A point in time, nanoseconds since the Unix epoch (UTC).
    Time(i64),
    /// A span of time in nanoseconds.
    Duration(i64),
    /// A list of values (e.g. DNS questions, a literal `[..]`).
    List(Vec<Value<'a>>),
    /// A dynamic JSON value (a protocol-specific part of an entry, or a parsed body).
    Json(&'a serde_json::Value),
}

/// A copy of `value` that borrows nothing (JSON objects become their JSON text, as `.json()`
/// results do).
pub fn into_owned(value: Value<'_>) -> Value<'static> {
    match value {
        Value::Nil => Value::Nil,
        Value::Bool(b) => Value::Bool(b),
        Value::Int(n) => Value::Int(n),
        Value::Float(n) => Value::Float(n),
        Value::Str(text) => Value::Str(Cow::Owned(text.into_owned())),
        Value::Time(ns) => Value::Time(ns),
        Value::Duration(ns) => Value::Duration(ns),
        Value::List(items) => Value::List(items.into_iter().map(into_owned).collect()),
        Value::Json(json) => crate::json::owned_json(json),
    }
}
