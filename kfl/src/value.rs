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
