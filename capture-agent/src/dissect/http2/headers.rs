//! Header blocks of one direction: HEADERS/PUSH_PROMISE + CONTINUATION assembly and HPACK decoding
//! with `loona-hpack`, one decoder per direction.

use loona_hpack::Decoder;

use super::super::ChunkMeta;
use super::stream::Fields;

/// Largest header block assembled from CONTINUATION frames.
const MAX_BLOCK: usize = 256 * 1024;
/// Largest dynamic table an encoder may ask for (bounds memory per connection).
const MAX_TABLE: usize = 64 * 1024;

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
        HeaderBlocks { decoder, pending: None }
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

    /// Decodes a complete header block. Fields that decode before an error are kept; an error
    /// from a table index the capture never saw is reported as a missing dynamic table.
    pub fn decode(&mut self, block: &[u8]) -> Decoded {
        let mut fields = Fields::new();
        let result = self.decoder.decode_with_cb(block, |name, value| {
            fields.push((String::from_utf8_lossy(&name).into_owned(), String::from_utf8_lossy(&value).into_owned()));
        });
        let error = match result {
            Ok(()) => None,
            Err(loona_hpack::decoder::DecoderError::HeaderIndexOutOfBounds) => Some("header compression table incomplete (connection joined mid-way or bytes lost); some headers unknown".to_owned()),
            Err(e) => Some(format!("header block could not be decoded: {e}")),
        };
        Decoded { fields, error }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_rfc7541_c3_request_sequence_sharing_the_dynamic_table() {
        // RFC 7541 C.3.1 and C.3.2: the second request refers to the first's table entries.
        let first = [
            0x82, 0x86, 0x84, 0x41, 0x0f, b'w', b'w', b'w', b'.', b'e', b'x', b'a', b'm', b'p', b'l', b'e', b'.', b'c',
            b'o', b'm',
        ];
        let second = [0x82, 0x86, 0x84, 0xbe, 0x58, 0x08, b'n', b'o', b'-', b'c', b'a', b'c', b'h', b'e'];
        let mut blocks = HeaderBlocks::new();
        let one = blocks.decode(&first);
        assert_eq!(one.error, None);
        assert_eq!(one.fields.get(3).map(|(n, v)| (n.as_str(), v.as_str())), Some((":authority", "www.example.com")));
        let two = blocks.decode(&second);
        assert_eq!(two.error, None);
        assert_eq!(two.fields.get(3).map(|(_, v)| v.as_str()), Some("www.example.com"));
        assert_eq!(two.fields.get(4).map(|(n, v)| (n.as_str(), v.as_str())), Some(("cache-control", "no-cache")));
    }

    #[test]
    fn missing_dynamic_entries_keep_what_decoded() {
        // :method GET, then index 62 which a decoder that joined mid-way does not have
        let decoded = HeaderBlocks::new().decode(&[0x82, 0xbe]);
        assert_eq!(decoded.fields, vec![(":method".to_owned(), "GET".to_owned())]);
        assert!(decoded.error.is_some_and(|e| e.contains("table incomplete")));
    }
}
