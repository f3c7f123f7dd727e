//! CEL's comprehension macros on lists (and on maps, over their keys), as KFL2 documents them:
//! `list.exists(x, p)`, `.all(x, p)`, `.exists_one(x, p)`, `.filter(x, p)` and `.map(x, e)`.
//!
//! The checker binds `x` to a name no field can have, so the body is an ordinary expression over
//! the record; evaluating it for one element wraps the record in [`Bound`], which answers that
//! name with the element and every other path from the entry.

use std::borrow::Cow;

use crate::eval::{Expr, select};
use crate::record::{PathSegment, Record};
use crate::value::{Value, into_owned};

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

/// A record with one more name: the bound variable.
struct Bound<'r> {
    outer: &'r dyn Record,
    name: &'r str,
    value: Value<'r>,
}

impl Record for Bound<'_> {
    fn get(&self, path: &[PathSegment]) -> Value<'_> {
        match path.split_first() {
            Some((PathSegment::Field(name), rest)) if **name == *self.name => {
                select(self.value.clone(), rest)
            }
            _ => self.outer.get(path),
        }
    }
}

/// The elements a macro ranges over: a list's elements, a JSON array's, a map's keys.
fn elements<'a>(value: &Value<'a>) -> Option<Vec<Value<'a>>> {
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

/// Whether a condition macro holds for `record`.
pub fn test(kind: MacroKind, list: &Expr, name: &str, body: &Expr, record: &dyn Record) -> bool {
    let receiver = list.eval(record);
    let Some(items) = elements(&receiver) else {
        return false;
    };
    let mut holds = items.into_iter().map(|value| {
        body.test(&Bound {
            outer: record,
            name,
            value,
        })
    });
    match kind {
        MacroKind::All => holds.all(|h| h),
        MacroKind::ExistsOne => holds.filter(|h| *h).count() == 1,
        _ => holds.any(|h| h),
    }
}

/// The list `filter` or `map` yields for `record`; `nil` when the receiver is no list.
pub fn eval<'a>(
    kind: MacroKind,
    list: &'a Expr,
    name: &'a str,
    body: &'a Expr,
    record: &'a dyn Record,
) -> Value<'a> {
    let receiver = list.eval(record);
    let Some(items) = elements(&receiver) else {
        return Value::Nil;
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let bound = Bound {
            outer: record,
            name,
            value: item.clone(),
        };
        if kind == MacroKind::Map {
            out.push(into_owned(body.eval(&bound)));
        } else if body.test(&bound) {
            out.push(into_owned(item));
        }
    }
    Value::List(out)
}
