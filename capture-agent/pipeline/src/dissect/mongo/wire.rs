//! MongoDB's wire messages (<https://www.mongodb.com/docs/manual/reference/mongodb-wire-protocol/>):
//! the 16-byte header every message starts with, and what the bodies of `OP_MSG`, `OP_QUERY`,
//! `OP_REPLY`, `OP_COMPRESSED` and the other legacy opcodes say, read from a message's kept prefix.

use std::io::Read;

use super::bson::{Bson, cstring, document, int32};

/// Bytes of the header: length, request id, the id it responds to, opcode.
pub(super) const HEADER: usize = 16;
/// `OP_REPLY`: a reply to `OP_QUERY` or `OP_GET_MORE`.
pub(super) const OP_REPLY: i32 = 1;
/// `OP_QUERY`: a query, or a command on `db.$cmd`.
pub(super) const OP_QUERY: i32 = 2004;
/// `OP_GET_MORE`: the next batch of a legacy cursor.
const OP_GET_MORE: i32 = 2005;
/// `OP_COMPRESSED`: another message, compressed.
pub(super) const OP_COMPRESSED: i32 = 2012;
/// `OP_MSG`: a command or its reply (MongoDB 3.6 and later).
pub(super) const OP_MSG: i32 = 2013;
/// `OP_MSG` flag: a CRC-32C follows the sections.
const CHECKSUM_PRESENT: u32 = 1;
/// `OP_MSG` flag: another message follows without waiting for an answer.
pub(super) const MORE_TO_COME: u32 = 1 << 1;

/// An opcode's name, for the opcodes MongoDB defines (the legacy ones removed in 6.0 too).
pub(super) fn opcode_name(opcode: i32) -> Option<&'static str> {
    Some(match opcode {
        OP_REPLY => "OP_REPLY",
        2001 => "OP_UPDATE",
        2002 => "OP_INSERT",
        OP_QUERY => "OP_QUERY",
        OP_GET_MORE => "OP_GET_MORE",
        2006 => "OP_DELETE",
        2007 => "OP_KILL_CURSORS",
        OP_COMPRESSED => "OP_COMPRESSED",
        OP_MSG => "OP_MSG",
        _ => return None,
    })
}

/// Whether a message of `opcode` from a client is answered.
pub(super) fn expects_reply(opcode: i32) -> bool {
    matches!(opcode, OP_QUERY | OP_GET_MORE | OP_MSG)
}

/// What a message header says.
#[derive(Debug, Clone, Copy)]
pub(super) struct Header {
    /// The whole message's length, header included.
    pub len: usize,
    /// Its id.
    pub request_id: i32,
    /// The id of the message it answers (0 for a request).
    pub response_to: i32,
    /// Its opcode.
    pub opcode: i32,
}

/// Largest message accepted as framing (mongod's `maxMessageSizeBytes` is 48 MB).
const MAX_MESSAGE: usize = 48_000_000;

/// The header at the start of `bytes`, when it is a plausible one (a known opcode, a length
/// that can hold it).
pub(super) fn header(bytes: &[u8]) -> Option<Header> {
    let len = usize::try_from(int32(bytes, 0)?).ok()?;
    let header = Header {
        len,
        request_id: int32(bytes, 4)?,
        response_to: int32(bytes, 8)?,
        opcode: int32(bytes, 12)?,
    };
    (opcode_name(header.opcode).is_some() && (HEADER..=MAX_MESSAGE).contains(&len))
        .then_some(header)
}

/// What a message's body says.
#[derive(Debug)]
pub(super) struct Body {
    /// The command or reply document (`OP_MSG`'s body with its document sequences folded in,
    /// `OP_QUERY`'s query, `OP_REPLY`'s first document).
    pub doc: Bson,
    /// Every document after the first of an `OP_REPLY` (a legacy query's results), when any.
    pub more: Vec<Bson>,
    /// `OP_MSG` flags.
    pub flags: u32,
    /// `OP_QUERY`'s namespace (`db.collection`, or `db.$cmd` for a command).
    pub namespace: Option<String>,
    /// `OP_REPLY`'s count of documents returned.
    pub returned: Option<i32>,
    /// `OP_COMPRESSED`'s compressor, named, and whether its content could be read.
    pub compressor: Option<(&'static str, bool)>,
    /// The opcode whose body this is (an `OP_COMPRESSED`'s original one).
    pub opcode: i32,
    /// Whether the kept prefix held it all, every document whole.
    pub whole: bool,
}

/// Reads the body of a message of `opcode` from `bytes` (its kept prefix, after the header),
/// `len` bytes on the wire; decompressed content is read up to `cap` bytes.
pub(super) fn body(opcode: i32, bytes: &[u8], len: usize, cap: usize) -> Body {
    let mut body = Body {
        doc: Bson::Doc(Vec::new()),
        more: Vec::new(),
        flags: 0,
        namespace: None,
        returned: None,
        compressor: None,
        opcode,
        whole: bytes.len() >= len,
    };
    match opcode {
        OP_MSG => op_msg(bytes, len, &mut body),
        OP_QUERY => {
            let Some((namespace, at)) = cstring(bytes, 4) else {
                body.whole = false;
                return body;
            };
            body.namespace = Some(namespace);
            let read = document(bytes.get(at + 8..).unwrap_or_default());
            body.whole &= read.whole;
            body.doc = Bson::Doc(read.fields);
        }
        OP_REPLY => {
            body.returned = int32(bytes, 16);
            let mut at = 20;
            let mut first = true;
            while at < bytes.len().min(len) {
                let read = document(bytes.get(at..).unwrap_or_default());
                if !read.whole && read.fields.is_empty() {
                    body.whole = false;
                    break;
                }
                if first {
                    body.doc = Bson::Doc(read.fields);
                    first = false;
                } else {
                    body.more.push(Bson::Doc(read.fields));
                }
                if !read.whole {
                    body.whole = false;
                    break;
                }
                at += read.len;
            }
        }
        OP_COMPRESSED => compressed(bytes, cap, &mut body),
        _ => {}
    }
    body
}

/// `OP_MSG`: flags, then sections (a body document, or a named sequence of documents) up to the
/// checksum, if there is one.
fn op_msg(bytes: &[u8], len: usize, body: &mut Body) {
    body.flags = int32(bytes, 0).map_or(0, |flags| flags as u32);
    let end = if body.flags & CHECKSUM_PRESENT != 0 {
        len.saturating_sub(4)
    } else {
        len
    };
    let mut sequences = Vec::new();
    let mut at = 4;
    while at < end.min(bytes.len()) {
        let kind = bytes.get(at).copied();
        at += 1;
        match kind {
            Some(0) => {
                let read = document(bytes.get(at..).unwrap_or_default());
                body.whole &= read.whole;
                body.doc = Bson::Doc(read.fields);
                if !read.whole || read.len == 0 {
                    break;
                }
                at += read.len;
            }
            Some(1) => {
                let Some(size) = int32(bytes, at).and_then(|s| usize::try_from(s).ok()) else {
                    body.whole = false;
                    break;
                };
                let Some((name, mut next)) = cstring(bytes, at + 4) else {
                    body.whole = false;
                    break;
                };
                let stop = at.saturating_add(size).min(bytes.len());
                let mut docs = Vec::new();
                while next < stop {
                    let read = document(bytes.get(next..stop).unwrap_or_default());
                    if !read.fields.is_empty() || read.whole {
                        docs.push(Bson::Doc(read.fields));
                    }
                    if !read.whole || read.len == 0 {
                        body.whole = false;
                        break;
                    }
                    next += read.len;
                }
                sequences.push((name, docs));
                if size < 4 || at.saturating_add(size) > bytes.len() {
                    body.whole = false;
                    break;
                }
                at += size;
            }
            _ => {
                body.whole = false;
                break;
            }
        }
    }
    // A sequence stands for an array field of the command (`insert`'s `documents`).
    if let Bson::Doc(fields) = &mut body.doc {
        for (name, docs) in sequences {
            if !fields.iter().any(|(key, _)| *key == name) {
                fields.push((name, Bson::Array(docs)));
            }
        }
    }
}

/// The largest zstd window (as a power of two) a compressed message may use: 8 MiB. A driver
/// compresses one message per frame at a low level (windows of 2^19–2^21), and a frame asking
/// for more is not read rather than given the memory it asks for.
const ZSTD_WINDOW_LOG_MAX: u32 = 23;

/// The first `limit` bytes `reader` decompresses to; `None` when it gave none before failing.
fn read_up_to(reader: impl Read, limit: usize) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let read = reader.take(limit as u64).read_to_end(&mut out);
    (read.is_ok() || !out.is_empty()).then_some(out)
}

/// The first `limit` bytes the zstd frame `data` decompresses to; `None` when none could be read
/// (not zstd, damaged at once, or a window over [`ZSTD_WINDOW_LOG_MAX`]).
fn unzstd(data: &[u8], limit: usize) -> Option<Vec<u8>> {
    let mut decoder = zstd::stream::read::Decoder::with_buffer(data)
        .ok()?
        .single_frame();
    decoder.window_log_max(ZSTD_WINDOW_LOG_MAX).ok()?;
    read_up_to(decoder, limit)
}

/// What the snappy block `data` (snappy's raw format, not its framed one) decompresses to;
/// `None` when it is not snappy, is cut short or damaged, or states a length over `limit`. A
/// block is undone whole or not at all, so unlike zlib and zstd there is no prefix to keep: one
/// that states more than `limit` is not read rather than given the memory it asks for.
fn unsnappy(data: &[u8], limit: usize) -> Option<Vec<u8>> {
    let len = snap::raw::decompress_len(data).ok()?;
    if len > limit {
        return None;
    }
    snap::raw::Decoder::new().decompress_vec(data).ok()
}

/// `OP_COMPRESSED`: the original opcode, its uncompressed size, a compressor id, then the
/// compressed body. snappy, zlib and zstd are undone within the stated size and `cap` (zlib and
/// zstd as far as that, snappy only when its whole block fits); another compressor is named,
/// not read.
fn compressed(bytes: &[u8], cap: usize, body: &mut Body) {
    let (Some(original), Some(size), Some(&id)) = (int32(bytes, 0), int32(bytes, 4), bytes.get(8))
    else {
        body.whole = false;
        return;
    };
    let data = bytes.get(9..).unwrap_or_default();
    let name = match id {
        0 => "noop",
        1 => "snappy",
        2 => "zlib",
        3 => "zstd",
        _ => "unknown",
    };
    let size = usize::try_from(size).unwrap_or(0);
    let content = match id {
        0 => Some(
            data.get(..size.min(data.len()))
                .unwrap_or_default()
                .to_vec(),
        ),
        1 => unsnappy(data, size.min(cap)),
        2 => read_up_to(flate2::read::ZlibDecoder::new(data), size.min(cap)),
        3 => unzstd(data, size.min(cap)),
        _ => None,
    };
    // A message compressed twice is not read: the second layer could expand without end.
    let content = content.filter(|_| original != OP_COMPRESSED);
    body.compressor = Some((name, content.is_some()));
    body.opcode = original;
    if let Some(content) = content {
        let whole = body.whole && content.len() == size;
        let inner = self::body(original, &content, size, cap);
        body.doc = inner.doc;
        body.more = inner.more;
        body.flags = inner.flags;
        body.namespace = inner.namespace;
        body.returned = inner.returned;
        body.whole = whole && inner.whole;
    } else {
        body.whole = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zstd_decompresses_no_more_than_its_limit() {
        let text = br#"{"find": "orders", "$db": "shop"}"#.repeat(1000);
        let packed = zstd::bulk::compress(&text, 3).unwrap();
        assert_eq!(unzstd(&packed, usize::MAX).as_deref(), Some(&text[..]));
        assert_eq!(unzstd(&packed, 100).as_deref(), Some(&text[..100]));
        assert_eq!(unzstd(b"", 100), None);
    }

    #[test]
    fn snappy_decompresses_a_whole_block_stating_no_more_than_its_limit() {
        let text = br#"{"find": "orders", "$db": "shop"}"#.repeat(1000);
        let packed = snap::raw::Encoder::new().compress_vec(&text).unwrap();
        assert_eq!(unsnappy(&packed, text.len()).as_deref(), Some(&text[..]));
        assert_eq!(unsnappy(&packed, text.len() - 1), None, "states more");
        assert_eq!(unsnappy(&packed[..packed.len() / 2], usize::MAX), None);
        // A block stating 2^32 - 1 bytes (its length's varint), then one literal byte: refused
        // from the length alone.
        assert_eq!(
            unsnappy(&[0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, b'x'], 1 << 20),
            None
        );
        assert_eq!(unsnappy(b"", 100), None);
    }
}
