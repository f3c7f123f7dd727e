//! The interface between the evaluator and whatever it filters.

use crate::Value;

/// One step of a field path, as resolved by the checker.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PathSegment {
    /// `.name`
    Field(Box<str>),
    /// `["key"]` (map lookup; header maps compare keys case-insensitively)
    Key(Box<str>),
    /// `[0]`
    Index(usize),
}

/// Something a filter can be evaluated against, such as the store's `Entry`.
///
/// The checker has already validated every path against the [`Schema`](crate::Schema), so an
/// implementation only has to find the value; it returns [`Value::Nil`] for anything absent.
pub trait Record {
    /// Returns the value at `path`, or `Value::Nil` when the entry has no such field.
    fn get(&self, path: &[PathSegment]) -> Value<'_>;
}
