//! A method call as the evaluator runs it: the method with its checked, constant arguments.

use std::borrow::Cow;

use regex::Regex;

use crate::compare::{View, contains_element, truthy, with_text};
use crate::json::{into_owned, owned_json, parse_json, parse_xml};
use crate::value::Value;

/// A method with its checked, constant arguments, ready to apply.
#[derive(Debug, Clone)]
pub enum MethodOp {
    /// `.startsWith(prefix)`
    StartsWith(String),
    /// `.endsWith(suffix)`
    EndsWith(String),
    /// `.contains(x)`: a substring of text, or an element of a list.
    Contains(Value<'static>),
    /// `.matches(re)`: the regex is found somewhere in the text.
    Matches(Regex),
    /// `.lower()`
    Lower,
    /// `.upper()`
    Upper,
    /// `.len()`: characters of text, elements of a list or JSON array, keys of a JSON object.
    Len,
    /// `.json()`: parses text as JSON; selectors then look inside it.
    Json,
    /// `.xml()`: parses text as XML (read into JSON); selectors then look inside it.
    Xml,
    /// `.values()`: a map's values, or a list itself (what legacy `x.*` ranges over).
    Values,
}

impl MethodOp {
    /// Whether the method's result, applied to `receiver`, is `true`.
    pub fn test(&self, receiver: &Value<'_>) -> bool {
        match self {
            MethodOp::StartsWith(prefix) => {
                matches!(View::of(receiver), View::Str(text) if text.starts_with(prefix.as_str()))
            }
            MethodOp::EndsWith(suffix) => {
                matches!(View::of(receiver), View::Str(text) if text.ends_with(suffix.as_str()))
            }
            MethodOp::Contains(needle) => match (View::of(receiver), View::of(needle)) {
                (View::Str(text), View::Str(part)) => text.contains(part),
                _ => contains_element(receiver, needle),
            },
            MethodOp::Matches(regex) => {
                with_text(receiver, |text| regex.is_match(text)).unwrap_or(false)
            }
            _ => truthy(&self.apply(receiver)),
        }
    }

    /// The method's result applied to `receiver`; `nil` when it does not apply to that value.
    pub fn apply(&self, receiver: &Value<'_>) -> Value<'static> {
        match self {
            MethodOp::Lower => text_result(receiver, str::to_lowercase),
            MethodOp::Upper => text_result(receiver, str::to_uppercase),
            MethodOp::Len => match View::of(receiver) {
                View::Str(text) => Value::Int(count(text.chars().count())),
                View::List(items) => Value::Int(count(items.len())),
                View::Json(serde_json::Value::Array(items)) => Value::Int(count(items.len())),
                View::Json(serde_json::Value::Object(map)) => Value::Int(count(map.len())),
                _ => Value::Nil,
            },
            MethodOp::Json => parse_json(receiver).map_or(Value::Nil, |json| owned_json(&json)),
            MethodOp::Xml => parse_xml(receiver).map_or(Value::Nil, |json| owned_json(&json)),
            MethodOp::Values => match View::of(receiver) {
                View::List(items) => Value::List(items.iter().cloned().map(into_owned).collect()),
                View::Json(serde_json::Value::Array(items)) => {
                    Value::List(items.iter().map(owned_json).collect())
                }
                View::Json(serde_json::Value::Object(map)) => {
                    Value::List(map.values().map(owned_json).collect())
                }
                _ => Value::Nil,
            },
            condition => Value::Bool(condition.test(receiver)),
        }
    }
}

fn text_result(receiver: &Value<'_>, convert: fn(&str) -> String) -> Value<'static> {
    match View::of(receiver) {
        View::Str(text) => Value::Str(Cow::Owned(convert(text))),
        _ => Value::Nil,
    }
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
