//! AMQP 0-9-1's data types read from a frame payload: octets, shorts, longs, long longs, short
//! and long strings, and field tables (RabbitMQ's type letters, as the errata fix them), turned
//! into JSON. Every read is bounded by the bytes there are; a table nested past a small depth is
//! not read.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

/// Field tables nested deeper than this are not read.
const MAX_DEPTH: usize = 8;

/// A cursor over a frame payload.
pub(super) struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Reads `bytes` from their start.
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes }
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.bytes.len() {
            return None;
        }
        let (now, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Some(now)
    }

    /// An octet.
    pub fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    /// A short (big-endian u16).
    pub fn u16(&mut self) -> Option<u16> {
        Some(u16::from_be_bytes(self.take(2)?.try_into().ok()?))
    }

    /// A long (big-endian u32).
    pub fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }

    /// A long long (big-endian u64).
    pub fn u64(&mut self) -> Option<u64> {
        Some(u64::from_be_bytes(self.take(8)?.try_into().ok()?))
    }

    /// A short string (octet length), as text.
    pub fn short_str(&mut self) -> Option<String> {
        let len = usize::from(self.u8()?);
        Some(String::from_utf8_lossy(self.take(len)?).into_owned())
    }

    /// A long string's bytes (long length).
    pub fn long_bytes(&mut self) -> Option<&'a [u8]> {
        let len = usize::try_from(self.u32()?).ok()?;
        self.take(len)
    }

    /// A field table, as a JSON object.
    pub fn table(&mut self) -> Option<Value> {
        self.table_at(0)
    }

    fn table_at(&mut self, depth: usize) -> Option<Value> {
        let mut inner = Reader::new(self.long_bytes()?);
        let mut fields = Map::new();
        while !inner.bytes.is_empty() {
            let name = inner.short_str()?;
            let value = inner.value(depth)?;
            fields.insert(name, value);
        }
        Some(Value::Object(fields))
    }

    /// One typed field value (type letter, then the value).
    fn value(&mut self, depth: usize) -> Option<Value> {
        if depth >= MAX_DEPTH {
            return None;
        }
        let float = |v: f64| serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number);
        Some(match self.u8()? {
            b't' => json!(self.u8()? != 0),
            b'b' => json!(i8::from_be_bytes(self.take(1)?.try_into().ok()?)),
            b'B' => json!(self.u8()?),
            b's' => json!(i16::from_be_bytes(self.take(2)?.try_into().ok()?)),
            b'u' => json!(self.u16()?),
            b'I' => json!(i32::from_be_bytes(self.take(4)?.try_into().ok()?)),
            b'i' => json!(self.u32()?),
            b'l' => json!(i64::from_be_bytes(self.take(8)?.try_into().ok()?)),
            b'T' => json!(self.u64()?),
            b'f' => float(f64::from(f32::from_be_bytes(
                self.take(4)?.try_into().ok()?,
            ))),
            b'd' => float(f64::from_be_bytes(self.take(8)?.try_into().ok()?)),
            b'D' => {
                let scale = i32::from(self.u8()?);
                let digits = i32::from_be_bytes(self.take(4)?.try_into().ok()?);
                float(f64::from(digits) / 10f64.powi(scale))
            }
            b'S' => text_or_base64(self.long_bytes()?),
            b'x' => json!(STANDARD.encode(self.long_bytes()?)),
            b'A' => {
                let mut inner = Reader::new(self.long_bytes()?);
                let mut items = Vec::new();
                while !inner.bytes.is_empty() {
                    items.push(inner.value(depth + 1)?);
                }
                Value::Array(items)
            }
            b'F' => self.table_at(depth + 1)?,
            b'V' => Value::Null,
            _ => return None,
        })
    }
}

/// Bytes as text when they are UTF-8, else base64.
fn text_or_base64(bytes: &[u8]) -> Value {
    match std::str::from_utf8(bytes) {
        Ok(text) => json!(text),
        Err(_) => json!(STANDARD.encode(bytes)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_nest_and_read_every_type() {
        let good = [
            &[6][..],
            b"tenant",
            b"S",
            &[0, 0, 0, 4],
            b"acme",
            &[1],
            b"n",
            b"I",
            &(-5i32).to_be_bytes(),
            &[1],
            b"a",
            b"A",
            &[0, 0, 0, 3],
            b"B",
            &[7],
            b"V",
        ]
        .concat();
        let mut table = (good.len() as u32).to_be_bytes().to_vec();
        table.extend(&good);
        assert_eq!(
            Reader::new(&table).table(),
            Some(json!({"tenant": "acme", "n": -5, "a": [7, null]}))
        );
        // Cut anywhere, the table is not read (and nothing panics).
        for cut in 0..table.len() {
            assert_eq!(Reader::new(&table[..cut]).table(), None, "cut at {cut}");
        }
    }

    #[test]
    fn tables_nested_past_the_depth_are_not_read() {
        // F inside F inside … : each level a table holding one field "k" of type F.
        let mut table = vec![0, 0, 0, 0];
        for _ in 0..(MAX_DEPTH + 2) {
            let mut entry = vec![1, b'k', b'F'];
            entry.extend(&table);
            table = (entry.len() as u32).to_be_bytes().to_vec();
            table.extend(entry);
        }
        assert_eq!(Reader::new(&table).table(), None);
    }
}
