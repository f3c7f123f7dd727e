//! HTTP/2 frame headers (RFC 9113 §4.1): parsing, plausibility checks for probing and resynchronising,
//! and the payload helpers that strip padding and priority fields.

/// Bytes in a frame header.
pub(super) const HEADER_LEN: usize = 9;
/// The client connection preface (RFC 9113 §3.4).
pub(super) const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// Largest payload a peer may send without raising SETTINGS_MAX_FRAME_SIZE; probes require it.
pub(super) const DEFAULT_MAX_FRAME: usize = 16_384;

/// Frame type codes.
pub(super) mod kind {
    pub const DATA: u8 = 0x0;
    pub const HEADERS: u8 = 0x1;
    pub const PRIORITY: u8 = 0x2;
    pub const RST_STREAM: u8 = 0x3;
    pub const SETTINGS: u8 = 0x4;
    pub const PUSH_PROMISE: u8 = 0x5;
    pub const PING: u8 = 0x6;
    pub const GOAWAY: u8 = 0x7;
    pub const WINDOW_UPDATE: u8 = 0x8;
    pub const CONTINUATION: u8 = 0x9;
}

/// Frame flag bits.
pub(super) mod flag {
    pub const END_STREAM: u8 = 0x1;
    pub const ACK: u8 = 0x1;
    pub const END_HEADERS: u8 = 0x4;
    pub const PADDED: u8 = 0x8;
    pub const PRIORITY: u8 = 0x20;
}

/// A parsed frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FrameHeader {
    /// Payload length in bytes.
    pub len: usize,
    /// Frame type code (see [`kind`]).
    pub kind: u8,
    /// Flag bits (see [`flag`]).
    pub flags: u8,
    /// Stream identifier, reserved bit cleared.
    pub stream: u32,
}

impl FrameHeader {
    /// Reads a header from the first nine bytes of `data`, if there are that many.
    pub fn parse(data: &[u8]) -> Option<FrameHeader> {
        let h: &[u8; HEADER_LEN] = data.get(..HEADER_LEN)?.try_into().ok()?;
        Some(FrameHeader {
            len: usize::from(h[0]) << 16 | usize::from(h[1]) << 8 | usize::from(h[2]),
            kind: h[3],
            flags: h[4],
            stream: u32::from_be_bytes([h[5], h[6], h[7], h[8]]) & 0x7fff_ffff,
        })
    }

    /// Whether this header could start a real frame: a known type on the right kind of stream, with a
    /// length that type allows and the reserved stream bit clear in `raw_stream_byte`.
    /// Used to find frame boundaries in data that did not start at one.
    pub fn plausible(&self, raw_stream_byte: u8) -> bool {
        if raw_stream_byte & 0x80 != 0 || self.len > DEFAULT_MAX_FRAME {
            return false;
        }
        let on_stream = self.stream != 0;
        match self.kind {
            kind::DATA | kind::HEADERS | kind::CONTINUATION => on_stream,
            kind::PRIORITY => on_stream && self.len == 5,
            kind::RST_STREAM => on_stream && self.len == 4,
            kind::SETTINGS => {
                !on_stream
                    && self.len.is_multiple_of(6)
                    && (self.flags & flag::ACK == 0 || self.len == 0)
            }
            kind::PUSH_PROMISE => on_stream && self.len >= 4,
            kind::PING => !on_stream && self.len == 8,
            kind::GOAWAY => !on_stream && self.len >= 8,
            kind::WINDOW_UPDATE => self.len == 4,
            _ => false,
        }
    }
}

/// Whether fewer than nine bytes could still begin a plausible frame header: the length, type
/// and flags present so far are checked, the stream id is assumed to fit.
pub(super) fn plausible_prefix(data: &[u8]) -> bool {
    let mut header = [0u8; HEADER_LEN];
    let n = data.len().min(HEADER_LEN);
    if let (Some(dst), Some(src)) = (header.get_mut(..n), data.get(..n)) {
        dst.copy_from_slice(src);
    }
    let Some(mut parsed) = FrameHeader::parse(&header) else {
        return false;
    };
    if n < 3 {
        return true;
    }
    if n < 4 {
        return parsed.len <= DEFAULT_MAX_FRAME;
    }
    if n < 5 {
        parsed.flags = 0;
    }
    // try the stream ids the type may need: 0 for connection frames, 1 for stream frames
    [0, 1]
        .into_iter()
        .any(|stream| FrameHeader { stream, ..parsed }.plausible(0))
}

/// Whether `data` starts with a chain of plausible frames: every complete frame and the header of a
/// trailing partial one pass [`FrameHeader::plausible`]. Returns the number of complete frames, or
/// `None` when something is implausible or not even one header is present.
pub(super) fn plausible_chain(data: &[u8]) -> Option<usize> {
    let mut offset = 0usize;
    let mut complete = 0usize;
    while let Some(rest) = data.get(offset..) {
        if rest.len() < HEADER_LEN {
            break;
        }
        let header = FrameHeader::parse(rest)?;
        if !header.plausible(*rest.get(5)?) {
            return None;
        }
        let end = HEADER_LEN.checked_add(header.len)?;
        if rest.len() < end {
            break;
        }
        complete += 1;
        offset = offset.checked_add(end)?;
    }
    if offset == 0 && data.len() < HEADER_LEN {
        None
    } else {
        Some(complete)
    }
}

/// The fragment of a HEADERS or PUSH_PROMISE payload that carries header block bytes, without
/// padding, priority fields (`priority_len`) or a promised stream id. `None` when the lengths do not fit.
pub(super) fn unpadded(payload: &[u8], flags: u8, skip: usize) -> Option<&[u8]> {
    if flags & flag::PADDED == 0 {
        return payload.get(skip..);
    }
    let pad = usize::from(*payload.first()?);
    let end = payload.len().checked_sub(pad)?;
    payload.get(1usize.checked_add(skip)?..end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_settings_header() {
        let h = FrameHeader::parse(&[0, 0, 6, 4, 0, 0, 0, 0, 0]).unwrap();
        assert_eq!(
            h,
            FrameHeader {
                len: 6,
                kind: kind::SETTINGS,
                flags: 0,
                stream: 0
            }
        );
        assert!(h.plausible(0));
    }

    #[test]
    fn text_is_not_a_frame_chain() {
        assert_eq!(plausible_chain(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"), None);
        assert_eq!(plausible_chain(&[0x16, 3, 1, 0, 0xc8, 1, 0, 0, 0xc4]), None);
    }

    #[test]
    fn short_prefixes_are_judged_on_what_is_there() {
        assert!(plausible_prefix(&[0, 0, 6, 4]));
        assert!(plausible_prefix(&[0, 0]));
        assert!(!plausible_prefix(b"PING\r\n"));
        assert!(!plausible_prefix(&[0, 0, 0, 0x5e]));
        assert!(
            !plausible_prefix(&[0, 0, 0, 8]),
            "WINDOW_UPDATE carries 4 bytes"
        );
    }

    #[test]
    fn padding_is_stripped() {
        // pad length 2, then "ab", then two padding bytes
        assert_eq!(
            unpadded(&[2, b'a', b'b', 0, 0], flag::PADDED, 0),
            Some(&b"ab"[..])
        );
        assert_eq!(unpadded(&[9, b'a'], flag::PADDED, 0), None);
        assert_eq!(unpadded(b"abcdef", 0, 5), Some(&b"f"[..]));
    }
}
