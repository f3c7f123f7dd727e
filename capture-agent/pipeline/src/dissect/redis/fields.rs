//! The exchange fields of Redis values: a request's command, key and arguments, how many replies
//! it gets, and a response's type, status and body.

use serde_json::{Value, json};
use shark_store::Message;

use super::value::RespValue;

/// Elements of an aggregate response kept in `body`.
const MAX_ELEMENTS: usize = 16;

/// The first word of a line, upper case, as a command name.
pub(super) fn command_name(text: &str) -> String {
    text.split_ascii_whitespace()
        .next()
        .unwrap_or_default()
        .to_ascii_uppercase()
}

/// `command`, `key`, `args` of a request; `None` when it holds no command.
pub(super) fn request_fields(value: &RespValue) -> Option<Message> {
    let mut fields = Message::new();
    let mut words = value.leaves.iter().map(|l| l.text.as_str());
    let command = words
        .next()
        .map(|c| c.to_ascii_uppercase())
        .unwrap_or_default();
    if command.is_empty() && value.error.is_none() {
        return None;
    }
    let args: Vec<&str> = words.collect();
    if let Some(key) = key_of(&command, &args) {
        fields.insert("key".into(), json!(key));
    }
    fields.insert("command".into(), json!(command));
    fields.insert("args".into(), json!(args));
    fields.insert("size".into(), json!(value.size));
    if let Some(error) = &value.error {
        fields.insert("error".into(), json!(error));
    }
    Some(fields)
}

/// How many replies a command gets: one per channel for the (un)subscribe family.
pub(super) fn subscription_replies(value: &RespValue) -> usize {
    let command = value
        .leaves
        .first()
        .map(|l| l.text.to_ascii_uppercase())
        .unwrap_or_default();
    match command.as_str() {
        "SUBSCRIBE" | "PSUBSCRIBE" | "SSUBSCRIBE" => value.leaf_count.saturating_sub(1).max(1),
        _ => 1,
    }
}

/// The key a command works on, where it has one.
fn key_of<'a>(command: &str, args: &[&'a str]) -> Option<&'a str> {
    let index = match command {
        "PING" | "ECHO" | "AUTH" | "SELECT" | "INFO" | "CONFIG" | "CLIENT" | "COMMAND"
        | "HELLO" | "QUIT" | "MULTI" | "EXEC" | "DISCARD" | "FLUSHDB" | "FLUSHALL" | "DBSIZE"
        | "TIME" | "SAVE" | "BGSAVE" | "BGREWRITEAOF" | "SLOWLOG" | "MONITOR" | "SCRIPT"
        | "FUNCTION" | "PUBLISH" | "SPUBLISH" | "SUBSCRIBE" | "PSUBSCRIBE" | "SSUBSCRIBE"
        | "UNSUBSCRIBE" | "PUNSUBSCRIBE" | "SUNSUBSCRIBE" | "SCAN" | "CLUSTER" | "DEBUG"
        | "LATENCY" | "ACL" | "ROLE" | "REPLICAOF" | "SLAVEOF" | "WAIT" | "RANDOMKEY"
        | "LASTSAVE" | "SHUTDOWN" | "SWAPDB" | "READONLY" | "READWRITE" | "RESET" | "MODULE"
        | "LOLWUT" | "UNWATCH" => {
            return None;
        }
        // EVAL script numkeys key…: the first key follows the key count.
        "EVAL" | "EVALSHA" | "EVAL_RO" | "EVALSHA_RO" | "FCALL" | "FCALL_RO" => {
            let numkeys: usize = args.get(1)?.parse().ok()?;
            if numkeys == 0 {
                return None;
            }
            2
        }
        "OBJECT" | "MEMORY" | "XINFO" | "XGROUP" => 1,
        _ => 0,
    };
    args.get(index).copied()
}

/// `type`, `status`, `statusText`, `body` of a response.
pub(super) fn response_fields(value: &RespValue) -> Message {
    let mut fields = Message::new();
    let error_leaf = matches!(value.kind, b'-' | b'!');
    fields.insert("type".into(), json!(type_name(value)));
    fields.insert("status".into(), json!(u8::from(error_leaf)));
    let first = value
        .leaves
        .first()
        .map(|l| l.text.clone())
        .unwrap_or_default();
    if error_leaf {
        fields.insert("statusText".into(), json!(first));
    }
    let body = match value.kind {
        b'*' | b'%' | b'~' | b'>' | b'|' if !value.null => Value::Array(
            value
                .leaves
                .iter()
                .take(MAX_ELEMENTS)
                .map(|l| Value::String(l.text.clone()))
                .collect(),
        ),
        _ if value.null => Value::Null,
        _ => Value::String(first),
    };
    fields.insert("body".into(), body);
    fields.insert("size".into(), json!(value.size));
    fields
}

/// The `response.type` name of a value.
fn type_name(value: &RespValue) -> &'static str {
    if value.null {
        return "nil";
    }
    match value.kind {
        b'+' => "simple",
        b'-' => "error",
        b':' => "integer",
        b'$' => "bulk",
        b'*' => "array",
        b'_' => "nil",
        b'#' => "boolean",
        b',' => "double",
        b'(' => "bignum",
        b'!' => "bulkError",
        b'=' => "verbatim",
        b'%' => "map",
        b'~' => "set",
        b'>' => "push",
        b'|' => "attribute",
        _ => "unknown",
    }
}
