//! Redaction of what is shown: the fields named by `query --redact` and by a filter's
//! `redact("…")` are replaced with `[REDACTED]`, as Kubeshark's `redact()` hid them.
//!
//! A path names request or response fields with dots (`request.headers.Authorization`,
//! `response.body`) or brackets (`request.headers["Authorization"]`); map keys match in any letter
//! case. Paths outside `request` and `response` (identities, addresses) are refused when given,
//! since the index and the table are built from them.

use serde_json::Value;
use shark_store::{Entry, Message};

/// What stands for a hidden value.
pub const REDACTED: &str = "[REDACTED]";

/// A path `--redact` or `redact()` may name, split into its parts: `request` or `response`,
/// then the keys below it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedactPath {
    response: bool,
    keys: Vec<String>,
}

impl RedactPath {
    /// Reads `request.headers.Authorization` or `request.headers["Authorization"]`.
    pub fn parse(text: &str) -> Result<RedactPath, String> {
        let mut keys = Vec::new();
        for part in text.split('.') {
            match part.split_once('[') {
                Some((name, rest)) => {
                    if !name.is_empty() {
                        keys.push(name.to_string());
                    }
                    for key in rest.split('[') {
                        let key = key.trim_end_matches(']').trim_matches('"');
                        keys.push(key.to_string());
                    }
                }
                None => keys.push(part.to_string()),
            }
        }
        let response = match keys.first().map(String::as_str) {
            Some("request") => false,
            Some("response") => true,
            _ => {
                return Err(format!(
                    "cannot redact `{text}`: a path starts with `request.` or `response.`"
                ));
            }
        };
        keys.remove(0);
        if keys.is_empty() || keys.iter().any(String::is_empty) {
            return Err(format!("cannot redact `{text}`: name a field below it"));
        }
        Ok(RedactPath { response, keys })
    }
}

/// Replaces the value at each of `paths` in `entry` (when it has one) with [`REDACTED`].
pub fn redact(entry: &mut Entry, paths: &[RedactPath]) {
    for path in paths {
        let message = if path.response {
            &mut entry.response
        } else {
            &mut entry.request
        };
        hide(message, &path.keys);
    }
}

fn hide(message: &mut Message, keys: &[String]) {
    let Some((first, rest)) = keys.split_first() else {
        return;
    };
    let Some(value) = find(message, first) else {
        return;
    };
    let mut at = value;
    for key in rest {
        let next = match at {
            Value::Object(map) => find(map, key),
            Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get_mut(i)),
            _ => None,
        };
        match next {
            Some(next) => at = next,
            None => return,
        }
    }
    *at = Value::String(REDACTED.to_string());
}

/// The value at `key`, in any letter case.
fn find<'a>(map: &'a mut Message, key: &str) -> Option<&'a mut Value> {
    let actual = map
        .keys()
        .find(|k| k.as_str() == key)
        .or_else(|| map.keys().find(|k| k.eq_ignore_ascii_case(key)))?
        .clone();
    map.get_mut(&actual)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hides_header_values_in_any_case_and_leaves_the_rest() {
        let mut entry = Entry::default();
        entry.request.insert(
            "headers".into(),
            serde_json::json!({"authorization": "Token 6f1e0b", "Accept": "*/*"}),
        );
        entry.response.insert("body".into(), "secret".into());
        let paths: Vec<RedactPath> = ["request.headers.Authorization", "response[\"body\"]"]
            .iter()
            .map(|p| RedactPath::parse(p).unwrap_or_else(|e| panic!("{e}")))
            .collect();
        redact(&mut entry, &paths);
        assert_eq!(entry.request["headers"]["authorization"], REDACTED);
        assert_eq!(entry.request["headers"]["Accept"], "*/*");
        assert_eq!(entry.response["body"], REDACTED);
        assert!(RedactPath::parse("src.name").is_err());
        assert!(RedactPath::parse("request").is_err());
    }
}
