//! BSON (<https://bsonspec.org/spec.html>) read into JSON as MongoDB's relaxed Extended JSON
//! writes it (`{"$oid": …}`, `{"$date": …}`, `{"$binary": …}`, …), from untrusted bytes.
//!
//! A document cut short (the message's kept prefix ends inside it) gives the elements that came
//! whole; an element of an unknown type or a length that does not fit ends the document there.
//! Nesting deeper than [`MAX_DEPTH`] is left out. Nothing here panics, and the JSON is at most a
//! few times the size of the bytes it reads.
//!
//! (The `bson` crate would read these too, but brings a dozen crates — `rand`, `time`, `uuid`,
//! `bitvec` — into the agent for what is one small recursive reader.)

use std::fmt::Write;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

/// Deepest nesting read; mongod refuses documents nested deeper than 100, drivers far less.
const MAX_DEPTH: usize = 32;

/// A value read from BSON: documents and arrays keep their elements in wire order (a command's
/// name is its first key), the other types are their Extended JSON.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Bson {
    /// A document's elements, in order.
    Doc(Vec<(String, Bson)>),
    /// An array's values.
    Array(Vec<Bson>),
    /// Any other value.
    Json(Value),
}

impl Bson {
    /// The element `key` of a document.
    pub fn get(&self, key: &str) -> Option<&Bson> {
        match self {
            Bson::Doc(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// A document's first key.
    pub fn first_key(&self) -> Option<&str> {
        match self {
            Bson::Doc(fields) => fields.first().map(|(k, _)| k.as_str()),
            _ => None,
        }
    }

    /// The text of a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Bson::Json(Value::String(s)) => Some(s),
            _ => None,
        }
    }

    /// A number (or a boolean, as 1 or 0).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Bson::Json(Value::Bool(b)) => Some(f64::from(u8::from(*b))),
            Bson::Json(value) => value.as_f64(),
            _ => None,
        }
    }

    /// An integer.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Bson::Json(value) => value.as_i64(),
            _ => None,
        }
    }

    /// An array's values.
    pub fn as_array(&self) -> Option<&[Bson]> {
        match self {
            Bson::Array(values) => Some(values),
            _ => None,
        }
    }

    /// Writes it as JSON text, document keys in wire order.
    fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            Bson::Doc(fields) => {
                out.push(b'{');
                for (i, (key, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    // Writing a string or a JSON value into a Vec cannot fail.
                    let _ = serde_json::to_writer(&mut *out, key);
                    out.push(b':');
                    value.write_json(out);
                }
                out.push(b'}');
            }
            Bson::Array(values) => {
                out.push(b'[');
                for (i, value) in values.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    value.write_json(out);
                }
                out.push(b']');
            }
            Bson::Json(value) => {
                let _ = serde_json::to_writer(&mut *out, value);
            }
        }
    }

    /// Its JSON text.
    pub fn json_text(&self) -> String {
        let mut out = Vec::new();
        self.write_json(&mut out);
        String::from_utf8(out)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }
}

/// A document read from the start of some bytes.
pub(super) struct Document {
    /// Its elements, in order.
    pub fields: Vec<(String, Bson)>,
    /// Its length as its header says (0 when the bytes held no header).
    pub len: usize,
    /// Whether it was read whole (not cut short, nothing invalid in it).
    pub whole: bool,
}

/// The document at the start of `bytes` (they may hold only its first part).
pub(super) fn document(bytes: &[u8]) -> Document {
    let mut doc = Document {
        fields: Vec::new(),
        len: 0,
        whole: false,
    };
    let Some(len) = int32(bytes, 0).and_then(|len| usize::try_from(len).ok()) else {
        return doc;
    };
    doc.len = len;
    if len < 5 {
        return doc;
    }
    let body = bytes.get(4..len.min(bytes.len())).unwrap_or_default();
    let mut reader = Reader { bytes: body, at: 0 };
    let mut fields = Vec::new();
    let read = reader.elements(0, &mut |name, value| fields.push((name, value)));
    doc.fields = fields;
    doc.whole = read && bytes.len() >= len;
    doc
}

/// The little-endian i32 at `at`.
pub(super) fn int32(bytes: &[u8], at: usize) -> Option<i32> {
    Some(i32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

/// The NUL-terminated string at `at` (lossy UTF-8) and the offset past its NUL.
pub(super) fn cstring(bytes: &[u8], at: usize) -> Option<(String, usize)> {
    let rest = bytes.get(at..)?;
    let end = rest.iter().position(|&b| b == 0)?;
    let text = String::from_utf8_lossy(rest.get(..end)?).into_owned();
    Some((text, at + end + 1))
}

/// Reads a document's elements (the bytes after its length).
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let end = self.at.checked_add(n)?;
        let taken = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(taken)
    }

    fn int32(&mut self) -> Option<i32> {
        Some(i32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    fn int64(&mut self) -> Option<i64> {
        Some(i64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    fn cstring(&mut self) -> Option<String> {
        let (text, next) = cstring(self.bytes, self.at)?;
        self.at = next;
        Some(text)
    }

    /// A string: its length (with the NUL), its bytes and the NUL.
    fn string(&mut self) -> Option<String> {
        let len = usize::try_from(self.int32()?).ok().filter(|&len| len > 0)?;
        let bytes = self.take(len)?;
        Some(String::from_utf8_lossy(bytes.get(..len - 1)?).into_owned())
    }

    /// Reads elements up to the document's end, handing each to `found`; whether they were all
    /// read (the end reached, nothing invalid or cut short).
    fn elements(&mut self, depth: usize, found: &mut dyn FnMut(String, Bson)) -> bool {
        loop {
            let Some(&kind) = self.bytes.get(self.at) else {
                return false;
            };
            self.at += 1;
            if kind == 0 {
                return self.at == self.bytes.len();
            }
            let Some(name) = self.cstring() else {
                return false;
            };
            match self.value(kind, depth) {
                Some((value, whole)) => {
                    found(name, value);
                    if !whole {
                        return false;
                    }
                }
                None => return false,
            }
        }
    }

    /// An embedded document's bytes (after its length) and whether they are all there.
    fn embedded(&mut self) -> Option<(Reader<'_>, bool)> {
        let len = usize::try_from(self.int32()?)
            .ok()
            .filter(|&len| len >= 5)?;
        let available = self.bytes.len().saturating_sub(self.at);
        let whole = len - 4 <= available;
        let body = self.take((len - 4).min(available))?;
        Some((Reader { bytes: body, at: 0 }, whole))
    }

    /// The value of an element of type `kind`, and whether it was read whole; `None` when it is
    /// not there at all or the type is unknown.
    fn value(&mut self, kind: u8, depth: usize) -> Option<(Bson, bool)> {
        let value = match kind {
            0x01 => double(f64::from_le_bytes(self.take(8)?.try_into().ok()?)),
            0x02 => Value::String(self.string()?),
            0x03 | 0x04 => {
                let (mut inner, whole) = self.embedded()?;
                if depth >= MAX_DEPTH {
                    return Some((Bson::Json(json!({"$maxDepth": MAX_DEPTH})), whole));
                }
                let mut fields = Vec::new();
                let read = inner.elements(depth + 1, &mut |name, value| fields.push((name, value)));
                let value = if kind == 0x03 {
                    Bson::Doc(fields)
                } else {
                    Bson::Array(fields.into_iter().map(|(_, v)| v).collect())
                };
                return Some((value, read && whole));
            }
            0x05 => {
                let len = usize::try_from(self.int32()?).ok()?;
                let subtype = *self.take(1)?.first()?;
                let bytes = self.take(len)?;
                json!({"$binary": {"base64": STANDARD.encode(bytes), "subType": format!("{subtype:02x}")}})
            }
            0x06 => json!({"$undefined": true}),
            0x07 => json!({"$oid": hex(self.take(12)?)}),
            0x08 => Value::Bool(*self.take(1)?.first()? != 0),
            0x09 => json!({"$date": {"$numberLong": self.int64()?.to_string()}}),
            0x0A => Value::Null,
            0x0B => {
                let pattern = self.cstring()?;
                let options = self.cstring()?;
                json!({"$regularExpression": {"pattern": pattern, "options": options}})
            }
            0x0C => {
                let namespace = self.string()?;
                let id = hex(self.take(12)?);
                json!({"$dbPointer": {"$ref": namespace, "$id": {"$oid": id}}})
            }
            0x0D => json!({"$code": self.string()?}),
            0x0E => json!({"$symbol": self.string()?}),
            0x0F => {
                let (mut inner, whole) = self.embedded()?;
                let code = inner.string()?;
                let (mut scope, scope_whole) = inner.embedded()?;
                let mut fields = Vec::new();
                let read = depth < MAX_DEPTH
                    && scope.elements(depth + 1, &mut |name, value| fields.push((name, value)));
                let value = Bson::Doc(vec![
                    ("$code".into(), Bson::Json(Value::String(code))),
                    ("$scope".into(), Bson::Doc(fields)),
                ]);
                return Some((value, whole && scope_whole && read));
            }
            0x10 => Value::from(self.int32()?),
            0x11 => {
                let bits = u64::from_le_bytes(self.take(8)?.try_into().ok()?);
                json!({"$timestamp": {"t": bits >> 32, "i": bits & 0xffff_ffff}})
            }
            0x12 => Value::from(self.int64()?),
            0x13 => {
                let bits = u128::from_le_bytes(self.take(16)?.try_into().ok()?);
                json!({"$numberDecimal": decimal128(bits)})
            }
            0xFF => json!({"$minKey": 1}),
            0x7F => json!({"$maxKey": 1}),
            _ => return None,
        };
        Some((Bson::Json(value), true))
    }
}

/// A double as relaxed Extended JSON writes it: a number, or a string for the ones JSON lacks.
fn double(value: f64) -> Value {
    serde_json::Number::from_f64(value).map_or_else(
        || {
            let text = if value.is_nan() {
                "NaN"
            } else if value > 0.0 {
                "Infinity"
            } else {
                "-Infinity"
            };
            json!({"$numberDouble": text})
        },
        Value::Number,
    )
}

/// Lower-case hex of `bytes`.
fn hex(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(text, "{byte:02x}");
    }
    text
}

/// A Decimal128 (IEEE 754-2008, binary integer decimal) as the specification's to-string
/// algorithm writes it: plain notation for modest exponents, else scientific.
fn decimal128(bits: u128) -> String {
    let sign = if bits >> 127 == 1 { "-" } else { "" };
    let combination = (bits >> 122) & 0x1f;
    if combination == 0x1f {
        return "NaN".into();
    }
    if combination == 0x1e {
        return format!("{sign}Infinity");
    }
    let (exponent, coefficient) = if (bits >> 125) & 0b11 == 0b11 {
        // A coefficient this form spells is above the largest allowed: it reads as zero.
        (((bits >> 111) & 0x3fff) as i64, 0u128)
    } else {
        (((bits >> 113) & 0x3fff) as i64, bits & ((1u128 << 113) - 1))
    };
    let exponent = exponent - 6176;
    let digits = if coefficient >= 10u128.pow(34) {
        "0".to_string()
    } else {
        coefficient.to_string()
    };
    let adjusted = exponent + digits.len() as i64 - 1;
    if exponent > 0 || adjusted < -6 {
        let (first, rest) = digits.split_at(1);
        let point = if rest.is_empty() { "" } else { "." };
        let exp_sign = if adjusted >= 0 { "+" } else { "" };
        return format!("{sign}{first}{point}{rest}E{exp_sign}{adjusted}");
    }
    if exponent == 0 {
        return format!("{sign}{digits}");
    }
    let fraction = (-exponent) as usize;
    if digits.len() > fraction {
        let (whole, part) = digits.split_at(digits.len() - fraction);
        format!("{sign}{whole}.{part}")
    } else {
        format!("{sign}0.{}{digits}", "0".repeat(fraction - digits.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_bson::{doc, string};
    use super::*;

    /// A document's JSON, parsed back.
    fn json_of(fields: Vec<(String, Bson)>) -> Value {
        serde_json::from_str(&Bson::Doc(fields).json_text()).expect("JSON")
    }

    #[test]
    fn keys_keep_their_wire_order() {
        let bytes = doc(&[(0x0A, "z", vec![]), (0x0A, "a", vec![])]);
        let text = Bson::Doc(document(&bytes).fields).json_text();
        assert_eq!(text, r#"{"z":null,"a":null}"#);
    }

    #[test]
    fn every_type_reads_as_extended_json() {
        let inner = doc(&[(0x10, "a", 7i32.to_le_bytes().to_vec())]);
        let array = doc(&[(0x02, "0", string("x")), (0x08, "1", vec![1])]);
        let mut binary = 3i32.to_le_bytes().to_vec();
        binary.extend([4, 1, 2, 3]);
        let mut regex = b"^a\0i\0".to_vec();
        regex.truncate(5);
        let bytes = doc(&[
            (0x01, "d", 1.5f64.to_le_bytes().to_vec()),
            (0x01, "inf", f64::INFINITY.to_le_bytes().to_vec()),
            (0x02, "s", string("héllo")),
            (0x03, "o", inner),
            (0x04, "l", array),
            (0x05, "b", binary),
            (0x07, "id", (1..=12).collect()),
            (0x08, "t", vec![0]),
            (0x09, "when", 1_700_000_000_000i64.to_le_bytes().to_vec()),
            (0x0A, "nil", vec![]),
            (0x0B, "re", regex),
            (0x10, "i", (-3i32).to_le_bytes().to_vec()),
            (0x11, "ts", ((5u64 << 32) | 9).to_le_bytes().to_vec()),
            (0x12, "big", (1i64 << 40).to_le_bytes().to_vec()),
            (
                0x13,
                "dec",
                ((6176u128 - 2) << 113 | 12345).to_le_bytes().to_vec(),
            ),
            (0xFF, "min", vec![]),
        ]);
        let read = document(&bytes);
        assert!(read.whole);
        assert_eq!(read.len, bytes.len());
        assert_eq!(
            json_of(read.fields),
            json!({
                "d": 1.5, "inf": {"$numberDouble": "Infinity"}, "s": "héllo", "o": {"a": 7},
                "l": ["x", true], "b": {"$binary": {"base64": "AQID", "subType": "04"}},
                "id": {"$oid": "0102030405060708090a0b0c"}, "t": false,
                "when": {"$date": {"$numberLong": "1700000000000"}}, "nil": null,
                "re": {"$regularExpression": {"pattern": "^a", "options": "i"}}, "i": -3,
                "ts": {"$timestamp": {"t": 5, "i": 9}}, "big": 1099511627776i64,
                "dec": {"$numberDecimal": "123.45"}, "min": {"$minKey": 1}
            })
        );
    }

    #[test]
    fn decimals_read_as_the_specification_writes_them() {
        let d = |exponent: i64, coefficient: u128| {
            decimal128(((exponent + 6176) as u128) << 113 | coefficient)
        };
        assert_eq!(d(0, 1), "1");
        assert_eq!(d(-1, 5), "0.5");
        assert_eq!(d(-8, 5), "5E-8");
        assert_eq!(d(3, 12), "1.2E+4");
        assert_eq!(d(-3, 1), "0.001");
        assert_eq!(decimal128(0x7c00u128 << 112), "NaN");
        assert_eq!(decimal128(0xf800u128 << 112), "-Infinity");
    }

    #[test]
    fn a_document_cut_short_keeps_the_elements_that_came_whole() {
        let bytes = doc(&[
            (0x02, "insert", string("users")),
            (0x02, "$db", string("shop")),
        ]);
        let cut = document(&bytes[..bytes.len() - 6]);
        assert!(!cut.whole);
        assert_eq!(cut.len, bytes.len());
        assert_eq!(json_of(cut.fields), json!({"insert": "users"}));
    }

    #[test]
    fn bad_bytes_end_the_document_without_panicking() {
        let deep = (0..100).fold(doc(&[]), |inner, _| doc(&[(0x03, "a", inner)]));
        let read = document(&deep);
        assert_eq!(read.fields[0].0, "a");
        let unknown = doc(&[(0x10, "a", vec![1, 0, 0, 0]), (0x42, "b", vec![])]);
        let read = document(&unknown);
        assert!(!read.whole);
        assert_eq!(json_of(read.fields), json!({"a": 1}));
        for bytes in [
            &[][..],
            &[1, 2],
            &[255, 255, 255, 255, 0],
            &[4, 0, 0, 0],
            &[9, 0, 0, 0, 2, b'x', 0, 255, 255, 255, 127],
            &[12, 0, 0, 0, 3, 0, 1, 0, 0, 0, 0, 0],
        ] {
            let read = document(bytes);
            assert!(!read.whole, "{bytes:?}");
        }
    }
}
