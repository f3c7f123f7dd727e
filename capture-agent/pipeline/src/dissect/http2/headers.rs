//! Header blocks of one direction: HEADERS/PUSH_PROMISE + CONTINUATION assembly and HPACK decoding
//! with `loona-hpack`, one decoder per direction, its Huffman-coded strings decoded first by
//! `httlib-huffman` (see `plain_strings`).

use loona_hpack::Decoder;
use loona_hpack::decoder::DecoderError;

use super::super::ChunkMeta;
use super::stream::Fields;

/// Largest header block assembled from CONTINUATION frames.
const MAX_BLOCK: usize = 256 * 1024;
/// Largest dynamic table an encoder may ask for (bounds memory per connection).
const MAX_TABLE: usize = 64 * 1024;
/// Decoded bytes (names and values) kept per header block. A small block can reference a large
/// table entry many times (an "HPACK bomb"), so this bounds the decoded size, not the encoded one.
const MAX_HEADER_LIST: usize = 64 * 1024;

/// A header block waiting for its CONTINUATION frames.
#[derive(Debug)]
pub(super) struct PendingBlock {
    /// Stream the HEADERS or PUSH_PROMISE frame was on.
    pub stream: u32,
    /// For PUSH_PROMISE, the promised stream.
    pub promised: Option<u32>,
    /// END_STREAM was set on the HEADERS frame.
    pub end_stream: bool,
    /// Chunk of the HEADERS frame's first byte.
    pub start: ChunkMeta,
    /// Block fragments so far.
    pub bytes: Vec<u8>,
    /// Bytes of the frames that carried the block so far, frame headers included.
    pub wire: u64,
}

/// A decoded header block.
#[derive(Debug)]
pub(super) struct Decoded {
    /// Fields decoded before any error.
    pub fields: Fields,
    /// Why decoding stopped early, if it did.
    pub error: Option<String>,
}

/// HPACK state and the block being assembled, for one direction.
pub(super) struct HeaderBlocks {
    decoder: Decoder<'static>,
    /// A block waiting for CONTINUATION frames.
    pub pending: Option<PendingBlock>,
}

impl std::fmt::Debug for HeaderBlocks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeaderBlocks")
            .field("pending", &self.pending)
            .finish_non_exhaustive()
    }
}

impl HeaderBlocks {
    /// Fresh decoder state, as at the start of a connection.
    pub fn new() -> HeaderBlocks {
        let mut decoder = Decoder::new();
        decoder.set_max_allowed_table_size(MAX_TABLE);
        HeaderBlocks {
            decoder,
            pending: None,
        }
    }

    /// Adds a CONTINUATION fragment; `false` when the block grew past its bound.
    pub fn extend(&mut self, fragment: &[u8]) -> bool {
        match &mut self.pending {
            Some(block) if block.bytes.len().saturating_add(fragment.len()) <= MAX_BLOCK => {
                block.bytes.extend_from_slice(fragment);
                true
            }
            _ => false,
        }
    }

    /// Decodes a complete header block. Each field representation is decoded on its own, so that
    /// one referring to a table entry the capture never saw (a connection joined mid-way) is
    /// skipped and the rest still decode; a literal whose name is unknown still enters the dynamic
    /// table, keeping later indexes aligned with the encoder's.
    pub fn decode(&mut self, block: &[u8]) -> Decoded {
        let mut fields = Fields::new();
        let mut kept = 0usize;
        let mut unknown = false;
        let mut error = None;
        let mut rest = block;
        while !rest.is_empty() {
            let Some((representation, len)) = Representation::split(rest) else {
                error = Some("header block truncated or malformed".to_owned());
                break;
            };
            let (piece, after) = rest.split_at(len.min(rest.len()));
            rest = after;
            let plain = match representation {
                Representation::Literal { .. } => plain_strings(piece),
                _ => None,
            };
            let (representation, piece) = match &plain {
                // Built whole by `plain_strings`: it splits as one literal.
                Some(plain) => (
                    Representation::split(plain).map_or(representation, |(r, _)| r),
                    plain.as_slice(),
                ),
                None => (representation, piece),
            };
            match self.decode_one(piece, &mut fields, &mut kept) {
                Ok(()) => {}
                Err(DecoderError::SizeUpdateAtEnd)
                    if representation == Representation::SizeUpdate => {}
                Err(DecoderError::HeaderIndexOutOfBounds) => {
                    unknown = true;
                    if let Representation::Literal { indexing, value_at } = representation
                        && let Some(value) = piece.get(value_at..)
                    {
                        let mut substitute =
                            vec![if indexing { 0x40 } else { 0x00 }, UNKNOWN_NAME.len() as u8];
                        substitute.extend_from_slice(UNKNOWN_NAME);
                        substitute.extend_from_slice(value);
                        // cannot fail on an index: the name is literal now
                        let _ = self.decode_one(&substitute, &mut fields, &mut kept);
                    }
                }
                Err(e) => {
                    error = Some(format!("header block could not be decoded: {e}"));
                    break;
                }
            }
        }
        if kept > MAX_HEADER_LIST && error.is_none() {
            error = Some(format!(
                "header list larger than {MAX_HEADER_LIST} bytes; the rest was not kept"
            ));
        }
        if unknown && error.is_none() {
            error = Some(
                "some header fields unknown: compression table incomplete (connection joined mid-way or bytes lost)"
                    .to_owned(),
            );
        }
        Decoded { fields, error }
    }

    /// Decodes one field representation into `fields`, leaving out placeholder names and
    /// anything past [`MAX_HEADER_LIST`] decoded bytes (`kept` counts them, past the bound too).
    fn decode_one(
        &mut self,
        piece: &[u8],
        fields: &mut Fields,
        kept: &mut usize,
    ) -> Result<(), DecoderError> {
        self.decoder.decode_with_cb(piece, |name, value| {
            *kept = kept.saturating_add(name.len() + value.len());
            if *name != *UNKNOWN_NAME && *kept <= MAX_HEADER_LIST {
                fields.push((
                    String::from_utf8_lossy(&name).into_owned(),
                    String::from_utf8_lossy(&value).into_owned(),
                ));
            }
        })
    }
}

/// Name given to a literal whose indexed name the decoder does not have (not a valid header token,
/// so it cannot collide with a real name).
const UNKNOWN_NAME: &[u8] = b"<unknown>";

/// The kind of one HPACK field representation (RFC 7541 §6), as needed to step over it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Representation {
    /// An indexed field (§6.1).
    Indexed,
    /// A literal field (§6.2); `value_at` is where its value string starts.
    Literal {
        /// With incremental indexing (§6.2.1).
        indexing: bool,
        /// Offset of the value string (length prefix included).
        value_at: usize,
    },
    /// A dynamic table size update (§6.3).
    SizeUpdate,
}

impl Representation {
    /// The representation at the start of `block` and its length in bytes.
    fn split(block: &[u8]) -> Option<(Representation, usize)> {
        let first = *block.first()?;
        if first & 0x80 != 0 {
            return Some((Representation::Indexed, integer(block, 7)?.1));
        }
        if first & 0xe0 == 0x20 {
            return Some((Representation::SizeUpdate, integer(block, 5)?.1));
        }
        let indexing = first & 0xc0 == 0x40;
        let (name_index, mut at) = integer(block, if indexing { 6 } else { 4 })?;
        if name_index == 0 {
            at = at.checked_add(string_len(block.get(at..)?)?)?;
        }
        let value_at = at;
        let end = at.checked_add(string_len(block.get(at..)?)?)?;
        Some((Representation::Literal { indexing, value_at }, end))
    }
}

/// `piece`, one literal field representation, with its Huffman-coded strings (§5.2) decoded into
/// plain ones; `None` when it has none, or one does not decode (loona-hpack then reports why).
/// A padding of zeros, which §5.2 calls an error, is accepted (httlib-huffman does): the string
/// is shown as it decodes.
///
/// loona-hpack builds its Huffman table (two levels of `HashMap`s over 257 codes) anew for every
/// string it decodes, then walks it a bit at a time: about 20 µs a string, most of an HTTP/2
/// import's CPU (BENCHMARKS.md, "HTTP/2 header strings"). httlib-huffman decodes four bits at a
/// time from static tables.
fn plain_strings(piece: &[u8]) -> Option<Vec<u8>> {
    let first = *piece.first()?;
    let (name_index, mut at) = integer(piece, if first & 0xc0 == 0x40 { 6 } else { 4 })?;
    let strings = if name_index == 0 { 2 } else { 1 };
    let mut plain = piece.get(..at)?.to_vec();
    let mut huffman = false;
    for _ in 0..strings {
        let string = piece.get(at..)?;
        let (len, prefix) = integer(string, 7)?;
        let end = prefix.checked_add(len)?;
        let bytes = string.get(prefix..end)?;
        if string[0] & 0x80 == 0 {
            plain.extend_from_slice(&string[..end]);
        } else {
            huffman = true;
            // The shortest code is 5 bits: a string decodes to at most 8/5 of its length.
            let mut text = Vec::with_capacity(len.saturating_mul(8) / 5 + 1);
            httlib_huffman::decode(bytes, &mut text, httlib_huffman::DecoderSpeed::FourBits)
                .ok()?;
            put_integer(&mut plain, text.len(), 7);
            plain.extend_from_slice(&text);
        }
        at += end;
    }
    huffman.then_some(plain)
}

/// Appends `value` as an HPACK integer with a `prefix`-bit prefix (§5.1), the prefix's other bits
/// zero (for a string's length: not Huffman-coded).
fn put_integer(out: &mut Vec<u8>, value: usize, prefix: u32) {
    let max = (1usize << prefix) - 1;
    if value < max {
        out.push(value as u8);
        return;
    }
    out.push(max as u8);
    let mut rest = value - max;
    while rest >= 0x80 {
        out.push((rest & 0x7f) as u8 | 0x80);
        rest >>= 7;
    }
    out.push(rest as u8);
}

/// An HPACK integer with an `prefix`-bit prefix (§5.1): its value and encoded length.
fn integer(data: &[u8], prefix: u32) -> Option<(usize, usize)> {
    let max = (1usize << prefix) - 1;
    let first = usize::from(*data.first()?) & max;
    if first < max {
        return Some((first, 1));
    }
    let mut value = max;
    for (i, &byte) in data.iter().enumerate().skip(1).take(4) {
        value = value.checked_add(usize::from(byte & 0x7f) << (7 * (i - 1)))?;
        if byte & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

/// The encoded length of the string literal at the start of `data` (§5.2), if it is all there.
fn string_len(data: &[u8]) -> Option<usize> {
    let (len, prefix) = integer(data, 7)?;
    let total = prefix.checked_add(len)?;
    (total <= data.len()).then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_rfc7541_c3_request_sequence_sharing_the_dynamic_table() {
        // RFC 7541 C.3.1 and C.3.2: the second request refers to the first's table entries.
        let first = [
            0x82, 0x86, 0x84, 0x41, 0x0f, b'w', b'w', b'w', b'.', b'e', b'x', b'a', b'm', b'p',
            b'l', b'e', b'.', b'c', b'o', b'm',
        ];
        let second = [
            0x82, 0x86, 0x84, 0xbe, 0x58, 0x08, b'n', b'o', b'-', b'c', b'a', b'c', b'h', b'e',
        ];
        let mut blocks = HeaderBlocks::new();
        let one = blocks.decode(&first);
        assert_eq!(one.error, None);
        assert_eq!(
            one.fields.get(3).map(|(n, v)| (n.as_str(), v.as_str())),
            Some((":authority", "www.example.com"))
        );
        let two = blocks.decode(&second);
        assert_eq!(two.error, None);
        assert_eq!(
            two.fields.get(3).map(|(_, v)| v.as_str()),
            Some("www.example.com")
        );
        assert_eq!(
            two.fields.get(4).map(|(n, v)| (n.as_str(), v.as_str())),
            Some(("cache-control", "no-cache"))
        );
    }

    /// The fields of `decoded` as (name, value) pairs, asserting it decoded without error.
    fn pairs(decoded: &Decoded) -> Vec<(&str, &str)> {
        assert_eq!(decoded.error, None);
        decoded
            .fields
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect()
    }

    #[test]
    fn decodes_rfc7541_c4_huffman_coded_requests_sharing_the_dynamic_table() {
        // RFC 7541 C.4.1–C.4.3: the C.3 requests with every literal Huffman-coded; the third has
        // a new name, both its strings Huffman-coded.
        let mut blocks = HeaderBlocks::new();
        let first = [
            0x82, 0x86, 0x84, 0x41, 0x8c, 0xf1, 0xe3, 0xc2, 0xe5, 0xf2, 0x3a, 0x6b, 0xa0, 0xab,
            0x90, 0xf4, 0xff,
        ];
        let second = [
            0x82, 0x86, 0x84, 0xbe, 0x58, 0x86, 0xa8, 0xeb, 0x10, 0x64, 0x9c, 0xbf,
        ];
        let third = [
            0x82, 0x87, 0x85, 0xbf, 0x40, 0x88, 0x25, 0xa8, 0x49, 0xe9, 0x5b, 0xa9, 0x7d, 0x7f,
            0x89, 0x25, 0xa8, 0x49, 0xe9, 0x5b, 0xb8, 0xe8, 0xb4, 0xbf,
        ];
        let request = [(":method", "GET"), (":scheme", "http"), (":path", "/")];
        let one = blocks.decode(&first);
        assert_eq!(pairs(&one)[..3], request);
        assert_eq!(pairs(&one)[3], (":authority", "www.example.com"));
        let two = blocks.decode(&second);
        assert_eq!(
            pairs(&two)[3..],
            [
                (":authority", "www.example.com"),
                ("cache-control", "no-cache")
            ]
        );
        let three = blocks.decode(&third);
        assert_eq!(
            pairs(&three),
            [
                (":method", "GET"),
                (":scheme", "https"),
                (":path", "/index.html"),
                (":authority", "www.example.com"),
                ("custom-key", "custom-value"),
            ]
        );
    }

    #[test]
    fn a_huffman_coded_value_longer_than_a_one_byte_length_decodes_and_enters_the_table() {
        // A value of 300 characters: its Huffman-coded length and its decoded length both need
        // more than the 7-bit prefix.
        let value = "a0/Z-".repeat(60);
        let mut coded = Vec::new();
        httlib_huffman::encode(value.as_bytes(), &mut coded).expect("encodes");
        assert!(coded.len() > 127);
        let mut block = vec![0x40, 6];
        block.extend_from_slice(b"x-long");
        put_integer(&mut block, coded.len(), 7);
        block[8] |= 0x80;
        block.extend_from_slice(&coded);
        let mut blocks = HeaderBlocks::new();
        assert_eq!(pairs(&blocks.decode(&block)), [("x-long", value.as_str())]);
        // Indexed from the dynamic table (index 62) in the next block.
        assert_eq!(pairs(&blocks.decode(&[0xbe])), [("x-long", value.as_str())]);
    }

    #[test]
    fn a_damaged_huffman_string_is_an_error_after_the_fields_before_it() {
        // :method GET, then a literal whose Huffman-coded value holds the end-of-string code.
        let decoded = HeaderBlocks::new().decode(&[0x82, 0x04, 0x84, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(
            decoded.fields,
            vec![(":method".to_owned(), "GET".to_owned())]
        );
        let error = decoded.error.unwrap_or_default();
        assert!(error.contains("could not be decoded"), "{error}");
    }

    #[test]
    fn missing_dynamic_entries_keep_what_decoded() {
        // :method GET, then index 62 which a decoder that joined mid-way does not have
        let decoded = HeaderBlocks::new().decode(&[0x82, 0xbe]);
        assert_eq!(
            decoded.fields,
            vec![(":method".to_owned(), "GET".to_owned())]
        );
        assert!(
            decoded
                .error
                .is_some_and(|e| e.contains("table incomplete"))
        );
    }

    #[test]
    fn fields_after_an_unknown_index_still_decode_and_keep_indexes_aligned() {
        let mut blocks = HeaderBlocks::new();
        // :method GET; index 62 (unknown); literal with indexing, name index 63 (unknown),
        // value "v1"; :path / ; then index 62, which is now the entry just added.
        let block = [0x82, 0xbe, 0x7f, 0x00, 0x02, b'v', b'1', 0x84, 0xbe];
        let decoded = blocks.decode(&block);
        let names: Vec<&str> = decoded.fields.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, vec![":method", ":path"]);
        assert!(
            decoded
                .error
                .is_some_and(|e| e.starts_with("some header fields unknown"))
        );
    }

    #[test]
    fn a_small_block_cannot_expand_without_bound() {
        let mut blocks = HeaderBlocks::new();
        // one 4000-byte value enters the table, then 10 000 one-byte references to it
        let mut block = vec![0x40, 0x01, b'x', 0x7f, 0xa1, 0x1e];
        block.extend(std::iter::repeat_n(b'v', 4000));
        block.extend(std::iter::repeat_n(0xbe, 10_000));
        let decoded = blocks.decode(&block);
        let total: usize = decoded.fields.iter().map(|(n, v)| n.len() + v.len()).sum();
        assert!(total <= MAX_HEADER_LIST, "{total}");
        assert!(
            decoded
                .error
                .is_some_and(|e| e.starts_with("header list larger"))
        );
    }

    #[test]
    fn truncated_block_reports_an_error() {
        let decoded = HeaderBlocks::new().decode(&[0x82, 0x40, 0x05, b'a']);
        assert_eq!(decoded.fields.len(), 1);
        assert!(decoded.error.is_some_and(|e| e.contains("truncated")));
    }
}
