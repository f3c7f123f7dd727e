//! Kafka's framing for the shared PDU framer: a 4-byte size before each message. A request keeps
//! enough of itself for its header and topic names, a response enough for its header and
//! top-level error code; the rest is counted, never held. After lost framing, a request resumes
//! at a plausible size followed by a request header, a response at a plausible size followed by
//! the correlation id of a request still waiting.

use super::messages::request_header;
use super::reader::Reader;
use crate::dissect::pdu::{PduFormat, PduHeader};

/// Largest message accepted as framing; larger sizes mean the stream is not Kafka or lost sync.
const MAX_MESSAGE: usize = 256 << 20;
/// Request bytes kept for parsing the header and topic names.
const MAX_REQUEST_PREFIX: usize = 64 * 1024;
/// Response bytes kept: header, tagged fields and the top-level error code.
const MAX_RESPONSE_PREFIX: usize = 1024;
/// Smallest request: api key, api version, correlation id.
pub(super) const MIN_REQUEST: usize = 8;
/// Smallest response: correlation id.
const MIN_RESPONSE: usize = 4;
/// Bytes of the size field before each message.
const SIZE_FIELD: usize = 4;

/// Whether `data` starts with a size of at least `min` bytes that Kafka could send.
pub(super) fn plausible_size(data: &[u8], min: usize) -> bool {
    Reader::new(data)
        .i32()
        .and_then(|n| usize::try_from(n).ok())
        .is_some_and(|n| (min..=MAX_MESSAGE).contains(&n))
}

/// The message a size field announces, keeping at most `cap` of its bytes.
fn message(header: &[u8], cap: usize) -> Option<PduHeader<()>> {
    let size = Reader::new(header).i32()?;
    let size = usize::try_from(size)
        .ok()
        .filter(|n| (4..=MAX_MESSAGE).contains(n))?;
    Some(PduHeader {
        head: (),
        body_len: size,
        keep: size.min(cap),
    })
}

/// The client's side: requests.
pub(super) struct Requests;

impl PduFormat for Requests {
    type Head = ();

    fn header_len(&self) -> usize {
        SIZE_FIELD
    }

    fn read_header(&mut self, header: &[u8]) -> Option<PduHeader<()>> {
        message(header, MAX_REQUEST_PREFIX)
    }

    fn plausible_start(&self, bytes: &[u8]) -> bool {
        plausible_size(bytes, MIN_REQUEST)
            && request_header(bytes.get(SIZE_FIELD..).unwrap_or_default()).is_some()
    }
}

/// The broker's side: responses, resuming only at the correlation id of a request for which
/// `waiting` says a response is still owed.
pub(super) struct Responses<W: Fn(i32) -> bool> {
    /// Whether a request with this correlation id waits for its response.
    pub(super) waiting: W,
}

impl<W: Fn(i32) -> bool> PduFormat for Responses<W> {
    type Head = ();

    fn header_len(&self) -> usize {
        SIZE_FIELD
    }

    fn read_header(&mut self, header: &[u8]) -> Option<PduHeader<()>> {
        message(header, MAX_RESPONSE_PREFIX)
    }

    fn plausible_start(&self, bytes: &[u8]) -> bool {
        let mut reader = Reader::new(bytes);
        reader.i32().is_some()
            && reader.i32().is_some_and(|id| (self.waiting)(id))
            && plausible_size(bytes, MIN_RESPONSE)
    }
}
