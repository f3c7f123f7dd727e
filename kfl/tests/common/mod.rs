//! Test helpers: a schema mirroring the store's Entry and a record over typed JSON.
//!
//! The real schema and `Record` impl are the store's (`shark_store::entry_schema()`); this one
//! lets the language be tested on its own.

#![allow(dead_code)]

use std::borrow::Cow;
use std::path::Path;

use kfl::{FieldType, IndexType, IndexedField, PathSegment, Record, Schema, Value};

/// 2026-03-14T23:00:00Z: what `now()` stands for in tests.
pub const NOW: i64 = 1_773_529_200_000_000_000;

fn endpoint() -> FieldType {
    use FieldType::*;
    Struct(vec![
        ("ip", Str),
        ("port", Int),
        ("name", Str),
        ("namespace", Str),
        ("kind", Str),
        ("pod", Str),
        ("service", Str),
        ("workload", Str),
        (
            "labels",
            Map {
                value: Box::new(Str),
                case_insensitive: false,
            },
        ),
    ])
}

fn headers() -> FieldType {
    FieldType::Map {
        value: Box::new(FieldType::Str),
        case_insensitive: true,
    }
}

/// A field the tests plan against: its path and type, nothing more.
#[derive(Debug, Clone, Copy)]
pub struct Indexed(pub &'static str, pub IndexType);

impl IndexedField for Indexed {
    fn path(&self) -> &str {
        self.0
    }
    fn ty(&self) -> IndexType {
        self.1
    }
}

/// The fields the store indexes (what `shark_store::INDEXED_COLUMNS` declares), for planning.
pub const INDEX: [Indexed; 18] = {
    use IndexType::*;
    [
        Indexed("timestamp", Time),
        Indexed("node.name", Text),
        Indexed("src.ip", Text),
        Indexed("src.port", Int),
        Indexed("src.name", Text),
        Indexed("src.namespace", Text),
        Indexed("src.pod", Text),
        Indexed("src.service", Text),
        Indexed("dst.ip", Text),
        Indexed("dst.port", Int),
        Indexed("dst.name", Text),
        Indexed("dst.namespace", Text),
        Indexed("dst.pod", Text),
        Indexed("dst.service", Text),
        Indexed("protocol.name", Text),
        Indexed("protocol.version", Text),
        Indexed("request.method", Text),
        Indexed("response.status", Int),
    ]
};

/// The store's Entry (`store/src/entry.rs`), as KFL sees it. `request.query` is dynamic: the HTTP query map or the
/// Postgres SQL text.
pub fn entry_schema() -> Schema {
    use FieldType::*;
    Schema::new(Struct(vec![
        ("timestamp", Time),
        ("elapsedTime", Float),
        ("node", Struct(vec![("name", Str), ("ip", Str)])),
        ("src", endpoint()),
        ("dst", endpoint()),
        ("protocol", Struct(vec![("name", Str), ("version", Str)])),
        (
            "request",
            Struct(vec![
                ("method", Str),
                ("path", Str),
                ("url", Str),
                ("host", Str),
                ("query", Any),
                ("headers", headers()),
                ("body", Str),
                ("size", Int),
                ("questions", List(Box::new(Str))),
                ("qtype", Str),
                ("command", Str),
                ("key", Str),
                ("apiKey", Str),
                ("topic", Str),
                ("service", Str),
            ]),
        ),
        (
            "response",
            Struct(vec![
                ("status", Int),
                ("statusText", Str),
                ("headers", headers()),
                ("body", Str),
                ("size", Int),
                ("answers", List(Box::new(Str))),
                ("error", Str),
                ("type", Str),
            ]),
        ),
        ("error", Str),
        ("id", Int),
        ("stream", Int),
    ]))
}

/// A record over JSON, typed by the schema: times are RFC 3339 text or nanoseconds, header names
/// are looked up case-insensitively.
pub struct JsonRecord<'s> {
    /// The entry.
    pub json: serde_json::Value,
    /// The schema's root.
    pub root: &'s FieldType,
}

impl Record for JsonRecord<'_> {
    fn get(&self, path: &[PathSegment]) -> Value<'_> {
        let mut json = &self.json;
        let mut ty = self.root;
        for segment in path {
            let next = match (segment, ty, json) {
                (
                    PathSegment::Field(name) | PathSegment::Key(name),
                    FieldType::Struct(fields),
                    serde_json::Value::Object(map),
                ) => fields
                    .iter()
                    .find(|(field, _)| *field == &**name)
                    .and_then(|(_, field)| Some((map.get(&**name)?, field))),
                (
                    PathSegment::Key(key),
                    FieldType::Map {
                        value,
                        case_insensitive,
                    },
                    serde_json::Value::Object(map),
                ) => {
                    let found = if *case_insensitive {
                        map.iter()
                            .find(|(name, _)| name.eq_ignore_ascii_case(key))
                            .map(|(_, v)| v)
                    } else {
                        map.get(&**key)
                    };
                    found.map(|found| (found, &**value))
                }
                (
                    PathSegment::Index(i),
                    FieldType::List(element),
                    serde_json::Value::Array(items),
                ) => items.get(*i).map(|item| (item, &**element)),
                (
                    PathSegment::Field(name) | PathSegment::Key(name),
                    FieldType::Any,
                    serde_json::Value::Object(map),
                ) => map.get(&**name).map(|found| (found, &FieldType::Any)),
                (PathSegment::Index(i), FieldType::Any, serde_json::Value::Array(items)) => {
                    items.get(*i).map(|found| (found, &FieldType::Any))
                }
                _ => None,
            };
            match next {
                Some((found, found_ty)) => {
                    json = found;
                    ty = found_ty;
                }
                None => return Value::Nil,
            }
        }
        typed(json, ty)
    }
}

fn typed<'a>(json: &'a serde_json::Value, ty: &FieldType) -> Value<'a> {
    use serde_json::Value as J;
    match (ty, json) {
        (_, J::Null) => Value::Nil,
        (FieldType::Str, J::String(text)) => Value::Str(Cow::Borrowed(text)),
        (FieldType::Int, J::Number(n)) => n.as_i64().map_or(Value::Nil, Value::Int),
        (FieldType::Float, J::Number(n)) => n.as_f64().map_or(Value::Nil, Value::Float),
        (FieldType::Bool, J::Bool(b)) => Value::Bool(*b),
        (FieldType::Time, J::Number(n)) => n.as_i64().map_or(Value::Nil, Value::Time),
        (FieldType::Time, J::String(text)) => chrono::DateTime::parse_from_rfc3339(text)
            .ok()
            .and_then(|t| t.timestamp_nanos_opt())
            .map_or(Value::Nil, Value::Time),
        (FieldType::List(element), J::Array(items)) => {
            Value::List(items.iter().map(|item| typed(item, element)).collect())
        }
        (FieldType::Any | FieldType::Map { .. } | FieldType::Struct(_), json) => Value::Json(json),
        _ => Value::Nil,
    }
}

/// The sample entries under `tests/samples/`, by file stem.
pub fn samples() -> Vec<(String, serde_json::Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/samples");
    let mut samples: Vec<(String, serde_json::Value)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .map(|path| {
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            let json = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()));
            let name = path
                .file_stem()
                .map(|stem| stem.to_string_lossy().into_owned())
                .unwrap_or_default();
            (name, json)
        })
        .collect();
    samples.sort_by(|a, b| a.0.cmp(&b.0));
    samples
}
