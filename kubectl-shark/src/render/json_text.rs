//! JSON text as serde_json writes it (compact, keys in a map's order, the same escapes), for the
//! NDJSON lines `query -o json` prints: strings are scanned for what needs escaping 16 bytes at
//! a time, where serde_json looks at each byte in turn, and bodies are most of what is printed.

use std::io::{self, Write};

use serde_json::Value;

/// Bytes looked at together for one needing an escape.
const CHUNK: usize = 16;

/// Writes `value` as compact JSON.
pub fn write_value<W: Write + ?Sized>(out: &mut W, value: &Value) -> io::Result<()> {
    match value {
        Value::String(text) => write_str(out, text),
        Value::Array(items) => {
            out.write_all(b"[")?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.write_all(b",")?;
                }
                write_value(out, item)?;
            }
            out.write_all(b"]")
        }
        Value::Object(map) => write_map(out, map),
        scalar => Ok(serde_json::to_writer(&mut *out, scalar)?),
    }
}

/// Writes `map` as a compact JSON object, its keys in the map's order.
pub fn write_map<W: Write + ?Sized>(
    out: &mut W,
    map: &serde_json::Map<String, Value>,
) -> io::Result<()> {
    out.write_all(b"{")?;
    for (i, (key, value)) in map.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        write_str(out, key)?;
        out.write_all(b":")?;
        write_value(out, value)?;
    }
    out.write_all(b"}")
}

/// Writes `text` as a JSON string, escaped as serde_json escapes it: `"`, `\` and the control
/// characters below 0x20 (short forms where JSON has them, else `\u00xx`).
pub fn write_str<W: Write + ?Sized>(out: &mut W, text: &str) -> io::Result<()> {
    let bytes = text.as_bytes();
    out.write_all(b"\"")?;
    // `bytes[start..at]` is looked at and needs no escape.
    let (mut start, mut at) = (0, 0);
    while at < bytes.len() {
        if let Some(chunk) = bytes.get(at..at + CHUNK)
            && !chunk.iter().fold(false, |seen, &b| seen | needs_escape(b))
        {
            at += CHUNK;
            continue;
        }
        let byte = bytes.get(at).copied().unwrap_or_default();
        if needs_escape(byte) {
            out.write_all(bytes.get(start..at).unwrap_or_default())?;
            write_escape(out, byte)?;
            start = at + 1;
        }
        at += 1;
    }
    out.write_all(bytes.get(start..).unwrap_or_default())?;
    out.write_all(b"\"")
}

/// Whether `byte` is written escaped in a JSON string.
fn needs_escape(byte: u8) -> bool {
    (byte < 0x20) | (byte == b'"') | (byte == b'\\')
}

/// Writes the escape of `byte` (one [`needs_escape`] says is escaped).
fn write_escape<W: Write + ?Sized>(out: &mut W, byte: u8) -> io::Result<()> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let short = match byte {
        b'"' => b'"',
        b'\\' => b'\\',
        0x08 => b'b',
        0x0c => b'f',
        b'\n' => b'n',
        b'\r' => b'r',
        b'\t' => b't',
        _ => {
            let hex = |nibble: u8| HEX.get(usize::from(nibble)).copied().unwrap_or(b'0');
            return out.write_all(&[b'\\', b'u', b'0', b'0', hex(byte >> 4), hex(byte & 0xf)]);
        }
    };
    out.write_all(&[b'\\', short])
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn written(value: &Value) -> String {
        let mut out = Vec::new();
        write_value(&mut out, value).unwrap_or_default();
        String::from_utf8(out).unwrap_or_default()
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them_wherever_the_escape_falls() {
        for byte in 0..0x80u8 {
            let c = char::from(byte);
            for at in [0, 5, 15, 16, 17, 31, 40] {
                let mut text: String = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEF".into();
                text.insert(at, c);
                text.push_str("é✓");
                let value = Value::String(text);
                assert_eq!(written(&value), value.to_string(), "byte {byte:#x} at {at}");
            }
        }
    }

    #[test]
    fn values_are_written_as_serde_json_writes_them() {
        let value = json!({
            "b": [1, -2, 3.5, 1e300, 0.1, u64::MAX, null, true, false, "x\"y"],
            "a": {"nested\n": {"": []}, "empty": {}},
            "size": 12,
            "body": "{\"id\":1,\"data\":\"\\u0001\t\"}",
        });
        assert_eq!(written(&value), value.to_string());
    }
}
