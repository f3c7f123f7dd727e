//! A compact, self-describing binary encoding for what a stored entry holds: whole numbers as
//! LEB128 varints (signed ones zigzagged), texts as a length and UTF-8 bytes, and the request and
//! response maps as tagged values. It keeps every JSON value exactly (unsigned, negative and
//! floating numbers stay apart), and costs a fraction of writing and parsing JSON text.

use serde_json::{Map, Number, Value};

/// Deepest nesting of arrays and objects a reader accepts, so damaged input cannot overflow the stack.
const MAX_DEPTH: usize = 128;

/// Value tags.
const NULL: u8 = 0;
const FALSE: u8 = 1;
const TRUE: u8 = 2;
const UNSIGNED: u8 = 3;
const NEGATIVE: u8 = 4;
const FLOAT: u8 = 5;
const TEXT: u8 = 6;
const ARRAY: u8 = 7;
const OBJECT: u8 = 8;

/// Appends `v` as a varint.
pub(crate) fn put_u64(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends `v` zigzagged, so small negative numbers stay short.
pub(crate) fn put_i64(out: &mut Vec<u8>, v: i64) {
    put_u64(out, ((v << 1) ^ (v >> 63)) as u64);
}

/// Appends `v`'s eight bytes.
pub(crate) fn put_f64(out: &mut Vec<u8>, v: f64) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Appends `s` with its length.
pub(crate) fn put_str(out: &mut Vec<u8>, s: &str) {
    put_u64(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// Appends the map `m` (its size, then each key and value).
pub(crate) fn put_map(out: &mut Vec<u8>, m: &Map<String, Value>) {
    put_u64(out, m.len() as u64);
    for (k, v) in m {
        put_str(out, k);
        put_value(out, v);
    }
}

fn put_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.push(NULL),
        Value::Bool(false) => out.push(FALSE),
        Value::Bool(true) => out.push(TRUE),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                out.push(UNSIGNED);
                put_u64(out, u);
            } else if let Some(i) = n.as_i64() {
                out.push(NEGATIVE);
                put_i64(out, i);
            } else {
                out.push(FLOAT);
                put_f64(out, n.as_f64().unwrap_or(0.0));
            }
        }
        Value::String(s) => {
            out.push(TEXT);
            put_str(out, s);
        }
        Value::Array(a) => {
            out.push(ARRAY);
            put_u64(out, a.len() as u64);
            for item in a {
                put_value(out, item);
            }
        }
        Value::Object(m) => {
            out.push(OBJECT);
            put_map(out, m);
        }
    }
}

/// Reads what the `put_*` functions wrote, failing (never panicking) on damaged input.
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { rest: bytes }
    }

    /// Whether every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.rest.len()
    }

    fn bytes(&mut self, n: usize) -> Result<&'a [u8], String> {
        let taken = self.rest.get(..n).ok_or("cut short")?;
        self.rest = self.rest.get(n..).unwrap_or_default();
        Ok(taken)
    }

    fn byte(&mut self) -> Result<u8, String> {
        Ok(self.bytes(1)?.first().copied().unwrap_or(0))
    }

    /// A varint. Block decoding reads thousands, most of them one byte: that case is inlined,
    /// longer ones are read in one pass over the bytes.
    #[inline]
    pub fn u64(&mut self) -> Result<u64, String> {
        match self.rest.split_first() {
            Some((&b, rest)) if b < 0x80 => {
                self.rest = rest;
                Ok(b.into())
            }
            _ => self.long_u64(),
        }
    }

    fn long_u64(&mut self) -> Result<u64, String> {
        let mut v = 0u64;
        for (i, &b) in self.rest.iter().take(10).enumerate() {
            v |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                self.rest = self.rest.get(i + 1..).unwrap_or_default();
                return Ok(v);
            }
        }
        Err(match self.rest.len() < 10 {
            true => "cut short".into(),
            false => "varint too long".into(),
        })
    }

    /// Passes over `n` varints: each ends at its first byte below 0x80.
    pub fn skip_varints(&mut self, n: usize) -> Result<(), String> {
        if n == 0 {
            return Ok(());
        }
        let mut left = n;
        let last = self
            .rest
            .iter()
            .position(|&b| {
                left -= usize::from(b < 0x80);
                left == 0
            })
            .ok_or("cut short")?;
        self.rest = self.rest.get(last + 1..).unwrap_or_default();
        Ok(())
    }

    /// A zigzagged varint.
    #[inline]
    pub fn i64(&mut self) -> Result<i64, String> {
        let v = self.u64()?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }

    /// A varint that must fit `T`.
    #[inline]
    pub fn small<T: TryFrom<u64>>(&mut self) -> Result<T, String> {
        let v = self.u64()?;
        T::try_from(v).map_err(|_| format!("{v} is out of range"))
    }

    /// Eight bytes of float.
    pub fn f64(&mut self) -> Result<f64, String> {
        let b = self.bytes(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(f64::from_le_bytes(a))
    }

    /// A text.
    pub fn string(&mut self) -> Result<String, String> {
        let len: usize = self.small()?;
        let bytes = self.bytes(len)?;
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|e| e.to_string())
    }

    /// A map.
    pub fn map(&mut self) -> Result<Map<String, Value>, String> {
        self.map_at(0)
    }

    /// A map, its keys as they were written (in order: a JSON map keeps them sorted), built in
    /// one go rather than key by key (each insertion searched the keys before it). A key written
    /// twice (damaged data) keeps its last value, as inserting would.
    fn map_at(&mut self, depth: usize) -> Result<Map<String, Value>, String> {
        let len: usize = self.small()?;
        // Each key and value takes at least a byte each, which bounds what damaged input can reserve.
        let mut pairs = Vec::with_capacity(len.min(self.rest.len() / 2));
        for _ in 0..len {
            let k = self.string()?;
            let v = self.value(depth)?;
            pairs.push((k, v));
        }
        Ok(pairs.into_iter().collect())
    }

    fn value(&mut self, depth: usize) -> Result<Value, String> {
        if depth >= MAX_DEPTH {
            return Err("nested too deep".into());
        }
        Ok(match self.byte()? {
            NULL => Value::Null,
            FALSE => Value::Bool(false),
            TRUE => Value::Bool(true),
            UNSIGNED => Value::Number(self.u64()?.into()),
            NEGATIVE => Value::Number(self.i64()?.into()),
            FLOAT => Value::Number(Number::from_f64(self.f64()?).ok_or("a float is not finite")?),
            TEXT => Value::String(self.string()?),
            ARRAY => {
                let len: usize = self.small()?;
                // Each item takes at least a byte, which bounds what damaged input can reserve.
                let mut a = Vec::with_capacity(len.min(self.rest.len()));
                for _ in 0..len {
                    a.push(self.value(depth + 1)?);
                }
                Value::Array(a)
            }
            OBJECT => Value::Object(self.map_at(depth + 1)?),
            tag => return Err(format!("unknown value tag {tag}")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_map_read_back_is_sorted_and_keeps_a_repeated_keys_last_value() {
        let mut out = Vec::new();
        put_u64(&mut out, 3);
        for (key, value) in [("b", "first"), ("a", "x"), ("b", "last")] {
            put_str(&mut out, key);
            put_value(&mut out, &Value::from(value));
        }
        let back = Reader::new(&out).map().unwrap();
        let pairs: Vec<(&str, &str)> = back
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str().unwrap()))
            .collect();
        assert_eq!(pairs, [("a", "x"), ("b", "last")]);
    }

    #[test]
    fn every_json_value_survives() {
        let value = serde_json::json!({
            "method": "GET",
            "status": 503,
            "offset": -7,
            "big": u64::MAX,
            "small": i64::MIN,
            "ratio": 0.25,
            "whole float": 2.0,
            "ok": true,
            "no": false,
            "none": null,
            "headers": {"Content-Type": "text/plain", "X-Ü": ""},
            "answers": [1, "two", [3.5, {"deep": []}], {}],
        });
        let Value::Object(map) = value else {
            unreachable!()
        };
        let mut out = Vec::new();
        put_map(&mut out, &map);
        put_i64(&mut out, -1_795_000_000_000_000_000);
        let mut r = Reader::new(&out);
        let back = r.map().unwrap();
        assert_eq!(back, map);
        // Numbers keep their kind: 2.0 stays a float, 503 an unsigned integer.
        assert_eq!(back.get("whole float").and_then(Value::as_f64), Some(2.0));
        assert!(back.get("whole float").is_some_and(|v| !v.is_u64()));
        assert_eq!(r.i64(), Ok(-1_795_000_000_000_000_000));
        assert!(r.is_empty());
    }

    #[test]
    fn damaged_input_is_an_error() {
        let mut out = Vec::new();
        put_map(&mut out, &serde_json::from_str(r#"{"a":"bcd"}"#).unwrap());
        for cut in 0..out.len() {
            assert!(Reader::new(&out[..cut]).map().is_err(), "cut at {cut}");
        }
        assert!(Reader::new(&[0xff; 11]).u64().is_err());
        assert!(Reader::new(&[1, 1, b'k', 9]).map().is_err());
        // A value nested far too deep is refused, not followed until the stack runs out.
        let mut deep = vec![1, 1, b'k'];
        deep.extend(std::iter::repeat_n([ARRAY, 1], 10_000).flatten());
        assert!(Reader::new(&deep).map().is_err());
        // A huge announced length does not reserve memory it cannot fill.
        let mut huge = vec![1, 1, b'k', ARRAY];
        put_u64(&mut huge, u64::from(u32::MAX));
        assert!(Reader::new(&huge).map().is_err());
    }
}
