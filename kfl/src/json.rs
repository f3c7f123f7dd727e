//! Documents inside values: text parsed by `.json()` or `.xml()` (read into JSON), and JSON
//! values copied out into [`Value`]s.

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

/// Parses the text of `value` as XML (`.xml()`), read into JSON as legacy KFL read it: the root
/// element by its name; an element with neither attributes nor child elements as its text; any
/// other as an object of its attributes (`"-name"`), its children by name (repeated ones as an
/// array) and its text (`"#text"`). Documents nested deeper than 64 elements are not read.
pub fn parse_xml(value: &Value<'_>) -> Option<serde_json::Value> {
    let View::Str(text) = View::of(value) else {
        return None;
    };
    let document = roxmltree::Document::parse(text).ok()?;
    let root = document.root_element();
    let mut out = serde_json::Map::new();
    out.insert(root.tag_name().name().to_string(), element(root, 0)?);
    Some(serde_json::Value::Object(out))
}

/// The deepest element nesting `.xml()` reads.
const MAX_XML_DEPTH: usize = 64;

fn element(node: roxmltree::Node<'_, '_>, depth: usize) -> Option<serde_json::Value> {
    if depth > MAX_XML_DEPTH {
        return None;
    }
    let text: String = node
        .children()
        .filter(|child| child.is_text())
        .filter_map(|child| child.text())
        .collect();
    let text = text.trim();
    let children: Vec<_> = node.children().filter(|child| child.is_element()).collect();
    if children.is_empty() && node.attributes().len() == 0 {
        return Some(serde_json::Value::String(text.to_string()));
    }
    let mut out = serde_json::Map::new();
    for attribute in node.attributes() {
        out.insert(
            format!("-{}", attribute.name()),
            serde_json::Value::String(attribute.value().to_string()),
        );
    }
    for child in children {
        let value = element(child, depth + 1)?;
        match out.get_mut(child.tag_name().name()) {
            Some(serde_json::Value::Array(items)) => items.push(value),
            Some(previous) => {
                let first = previous.take();
                *previous = serde_json::Value::Array(vec![first, value]);
            }
            None => {
                out.insert(child.tag_name().name().to_string(), value);
            }
        }
    }
    if !text.is_empty() {
        out.insert("#text".into(), serde_json::Value::String(text.to_string()));
    }
    Some(serde_json::Value::Object(out))
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
        Value::Json(json) => owned_json(json),
    }
}
