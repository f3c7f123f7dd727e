//! `impl kfl::Record for Entry`: hands a filter the value at a field path, borrowing from the entry
//! so evaluation allocates nothing on the common paths.

use std::borrow::Cow;

use kfl::{PathSegment, Record, Value};
use serde_json::Value as Json;

use crate::entry::{Endpoint, Entry, Message};

fn text(s: &str) -> Value<'_> {
    Value::Str(Cow::Borrowed(s))
}

fn uint(v: u64) -> Value<'static> {
    i64::try_from(v).map_or(Value::Float(v as f64), Value::Int)
}

fn field(path: &[PathSegment]) -> Option<(&str, &[PathSegment])> {
    match path.split_first()? {
        (PathSegment::Field(name), rest) => Some((name, rest)),
        _ => None,
    }
}

/// A plain value where JSON has one; objects and arrays stay JSON.
fn from_json(v: &Json) -> Value<'_> {
    match v {
        Json::Null => Value::Nil,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => n
            .as_i64()
            .map(Value::Int)
            .or_else(|| n.as_f64().map(Value::Float))
            .unwrap_or(Value::Nil),
        Json::String(s) => text(s),
        Json::Array(_) | Json::Object(_) => Value::Json(v),
    }
}

/// Looks `key` up in a JSON object, ignoring ASCII case when `any_case` (header names).
fn lookup<'a>(
    map: &'a serde_json::Map<String, Json>,
    key: &str,
    any_case: bool,
) -> Option<&'a Json> {
    map.get(key).or_else(|| {
        any_case
            .then(|| {
                map.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(key))
                    .map(|(_, v)| v)
            })
            .flatten()
    })
}

/// Maps whose keys are header names, so `["key"]` ignores letter case (as the schema says).
const HEADER_MAPS: [&str; 2] = ["headers", "trailers"];

/// Follows `path` below a JSON value; `parent` is the field name that led here.
fn walk_json<'a, 'p>(mut v: &'a Json, path: &'p [PathSegment], mut parent: &'p str) -> Value<'a> {
    for seg in path {
        let next = match (seg, v) {
            (PathSegment::Field(name), Json::Object(map)) => {
                parent = name;
                map.get(&**name)
            }
            (PathSegment::Key(key), Json::Object(map)) => {
                let found = lookup(map, key, HEADER_MAPS.contains(&parent));
                parent = "";
                found
            }
            (PathSegment::Index(i), Json::Array(items)) => items.get(*i),
            _ => None,
        };
        match next {
            Some(n) => v = n,
            None => return Value::Nil,
        }
    }
    from_json(v)
}

fn message<'a>(m: &'a Message, path: &[PathSegment]) -> Value<'a> {
    let Some((name, rest)) = field(path) else {
        return Value::Nil;
    };
    match m.get(name) {
        Some(v) => walk_json(v, rest, name),
        None => Value::Nil,
    }
}

/// The cookies of a message's `header` (`Cookie: a=1; b=2`, or a `Set-Cookie` line's own cookie),
/// as KFL2's `request.cookies` map: `["name"]` is a cookie's value, the whole map its names.
fn cookies<'a>(m: &'a Message, header: &str, path: &[PathSegment]) -> Value<'a> {
    let Some(Json::Object(headers)) = m.get("headers") else {
        return Value::Nil;
    };
    let Some(Json::String(line)) = lookup(headers, header, true) else {
        return Value::Nil;
    };
    let line = line.as_str();
    let pairs = || {
        let cookies = if header == "Set-Cookie" {
            line.split(';').next().into_iter().collect::<Vec<_>>()
        } else {
            line.split(';').collect()
        };
        cookies.into_iter().filter_map(|pair| {
            let (name, value) = pair.split_once('=')?;
            Some((name.trim(), value.trim()))
        })
    };
    match path {
        [] => Value::List(pairs().map(|(name, _)| text(name)).collect()),
        [PathSegment::Key(key)] => pairs()
            .find(|(name, _)| name == &&**key)
            .map_or(Value::Nil, |(_, value)| text(value)),
        _ => Value::Nil,
    }
}

fn endpoint<'a>(e: &'a Endpoint, path: &[PathSegment]) -> Value<'a> {
    let Some((name, rest)) = field(path) else {
        return Value::Nil;
    };
    match (name, rest) {
        ("ip", []) => text(&e.ip),
        ("port", []) => Value::Int(i64::from(e.port)),
        ("name", []) => text(&e.name),
        ("namespace", []) => text(&e.namespace),
        ("kind", []) => text(&e.kind),
        ("pod", []) => text(&e.pod),
        ("service", []) => text(&e.service),
        ("workload", []) => text(&e.workload),
        ("node", []) => text(&e.node),
        ("labels", [PathSegment::Key(k)]) => e.labels.get(&**k).map_or(Value::Nil, |v| text(v)),
        _ => Value::Nil,
    }
}

impl Record for Entry {
    fn get(&self, path: &[PathSegment]) -> Value<'_> {
        let Some((name, rest)) = field(path) else {
            return Value::Nil;
        };
        match (name, rest) {
            ("id", []) => uint(self.id),
            ("timestamp", []) => Value::Time(self.timestamp),
            ("elapsedTime", []) => Value::Float(self.elapsed_time),
            ("node", [PathSegment::Field(f)]) => match &**f {
                "name" => text(&self.node.name),
                "ip" => text(&self.node.ip),
                _ => Value::Nil,
            },
            ("src", rest) => endpoint(&self.src, rest),
            ("dst", rest) => endpoint(&self.dst, rest),
            ("protocol", [PathSegment::Field(f)]) => match &**f {
                "name" => text(&self.protocol.name),
                "version" => text(&self.protocol.version),
                _ => Value::Nil,
            },
            ("request", [PathSegment::Field(f), rest @ ..]) if &**f == "cookies" => {
                cookies(&self.request, "Cookie", rest)
            }
            ("request", rest) => message(&self.request, rest),
            // DNS's result code by name, where Kubeshark's filters read it (`response.code ==
            // "NXDOMAIN"`); the number is `response.status`, the name also `statusText`.
            ("response", [PathSegment::Field(f)])
                if &**f == "code" && self.protocol.name == "dns" =>
            {
                message(&self.response, &[PathSegment::Field("statusText".into())])
            }
            ("response", [PathSegment::Field(f), rest @ ..]) if &**f == "cookies" => {
                cookies(&self.response, "Set-Cookie", rest)
            }
            ("response", rest) => message(&self.response, rest),
            ("error", []) => self.error.as_deref().map_or(Value::Nil, text),
            ("stream", []) => uint(self.stream),
            ("packets", [PathSegment::Field(f)]) => match &**f {
                "first" => uint(self.packets.first),
                "last" => uint(self.packets.last),
                _ => Value::Nil,
            },
            _ => Value::Nil,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(parts: &[&str]) -> Vec<PathSegment> {
        parts
            .iter()
            .map(|p| match p.strip_prefix('[') {
                Some(key) => PathSegment::Key(key.into()),
                None => PathSegment::Field((*p).into()),
            })
            .collect()
    }

    #[test]
    fn fields_resolve_with_kfl_semantics() {
        let mut e = Entry {
            timestamp: 42,
            ..Entry::default()
        };
        e.dst.name = "payments".into();
        e.dst.port = 8080;
        e.request.insert(
            "headers".into(),
            serde_json::json!({"Authorization": "Token abc"}),
        );
        e.request
            .insert("questions".into(), serde_json::json!(["db.shop"]));
        e.response.insert("status".into(), 503.into());
        assert_eq!(e.get(&path(&["timestamp"])), Value::Time(42));
        assert_eq!(e.get(&path(&["dst", "name"])), text("payments"));
        assert_eq!(e.get(&path(&["dst", "port"])), Value::Int(8080));
        assert_eq!(
            e.get(&path(&["request", "headers", "[authorization"])),
            text("Token abc")
        );
        assert_eq!(e.get(&path(&["response", "status"])), Value::Int(503));
        assert_eq!(e.get(&path(&["response", "headers", "[x"])), Value::Nil);
        e.response
            .insert("trailers".into(), serde_json::json!({"grpc-status": "0"}));
        assert_eq!(
            e.get(&path(&["response", "trailers", "[Grpc-Status"])),
            text("0"),
            "trailer names ignore letter case, as header names do"
        );
        assert_eq!(e.get(&path(&["error"])), Value::Nil);
        e.request.insert(
            "headers".into(),
            serde_json::json!({"cookie": "session=abc; theme=dark"}),
        );
        assert_eq!(
            e.get(&path(&["request", "cookies", "[theme"])),
            text("dark")
        );
        assert_eq!(
            e.get(&path(&["request", "cookies"])),
            Value::List(vec![text("session"), text("theme")])
        );
        assert_eq!(e.get(&path(&["request", "cookies", "[none"])), Value::Nil);
        e.protocol.name = "dns".into();
        e.response.insert("statusText".into(), "NXDOMAIN".into());
        assert_eq!(
            e.get(&path(&["response", "code"])),
            text("NXDOMAIN"),
            "DNS's result code is read by name where Kubeshark reads it"
        );
        let questions = e.request.get("questions").map(Value::Json);
        assert_eq!(Some(e.get(&path(&["request", "questions"]))), questions);
        let mut first = path(&["request", "questions"]);
        first.push(PathSegment::Index(0));
        assert_eq!(e.get(&first), text("db.shop"));
    }
}
