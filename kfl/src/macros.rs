//! CEL's comprehension macros on lists (and on maps, over their keys), as KFL2 documents them:
//! `list.exists(x, p)`, `.all(x, p)`, `.exists_one(x, p)`, `.filter(x, p)` and `.map(x, e)`.
//!
//! The checker binds `x` to a name no field can have, so the body is an ordinary expression over
//! the record; evaluating it for one element (in `eval.rs`) wraps the record in one that answers
//! that name with the element and every other path from the entry.

use std::borrow::Cow;

use crate::value::Value;

/// Which macro.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacroKind {
    /// `exists`: some element satisfies the body.
    Exists,
    /// `all`: every element does (false when the receiver is absent).
    All,
    /// `exists_one`: exactly one does.
    ExistsOne,
    /// `filter`: the elements that do.
    Filter,
    /// `map`: the body's value for each element.
    Map,
}

impl MacroKind {
    /// The macro a method name calls, if it is one.
    pub fn from_name(name: &str) -> Option<MacroKind> {
        Some(match name {
            "exists" => MacroKind::Exists,
            "all" => MacroKind::All,
            "exists_one" => MacroKind::ExistsOne,
            "filter" => MacroKind::Filter,
            "map" => MacroKind::Map,
            _ => return None,
        })
    }

    /// Whether it yields a condition (else a list).
    pub fn is_condition(self) -> bool {
        matches!(
            self,
            MacroKind::Exists | MacroKind::All | MacroKind::ExistsOne
        )
    }
}

/// The internal name of the `depth`-th bound variable: it starts with a NUL, which no field name
/// written in a filter can.
pub fn variable_name(depth: usize) -> Box<str> {
    format!("\0{depth}").into()
}

/// The elements a macro ranges over: a list's elements, a JSON array's, a map's keys.
pub fn elements<'a>(value: &Value<'a>) -> Option<Vec<Value<'a>>> {
    match value {
        Value::List(items) => Some(items.clone()),
        Value::Json(serde_json::Value::Array(items)) => {
            Some(items.iter().map(Value::Json).collect())
        }
        Value::Json(serde_json::Value::Object(map)) => Some(
            map.keys()
                .map(|key| Value::Str(Cow::Borrowed(key.as_str())))
                .collect(),
        ),
        _ => None,
    }
}
