//! AMQP 0-9-1's framing for the shared PDU framer: a type octet, a channel (short) and a payload
//! size (long) before each frame's payload, and the frame-end octet 0xCE after it. Method and
//! content-header frames are kept whole up to a cap; body frames keep up to the body cap.

use crate::dissect::pdu::{PduFormat, PduHeader};

/// A method frame.
pub(super) const METHOD: u8 = 1;
/// A content header frame.
pub(super) const HEADER: u8 = 2;
/// A content body frame.
pub(super) const BODY: u8 = 3;
/// A heartbeat frame.
pub(super) const HEARTBEAT: u8 = 8;
/// The octet ending every frame.
pub(super) const FRAME_END: u8 = 0xCE;
/// Type, channel and size.
pub(super) const FRAME_HEADER: usize = 7;
/// Largest frame payload accepted as framing (servers negotiate far less; RabbitMQ's default is 128 KiB).
const MAX_FRAME: usize = 64 << 20;
/// Payload bytes kept of method and content-header frames (names, properties, header tables).
const MAX_KEPT: usize = 64 << 10;
/// Largest frame payload a resumed reading accepts as a plausible start.
const MAX_RESUME: usize = 1 << 20;

/// What a frame header says.
#[derive(Debug, Clone, Copy)]
pub(super) struct FrameHead {
    /// Frame type (`METHOD`, `HEADER`, `BODY`, `HEARTBEAT`).
    pub kind: u8,
    /// The channel it belongs to.
    pub channel: u16,
    /// Payload size, without the frame-end octet.
    pub len: usize,
}

/// The frame header at the start of `bytes`, when it is one.
pub(super) fn frame_head(bytes: &[u8]) -> Option<FrameHead> {
    let kind = *bytes.first()?;
    let channel = u16::from_be_bytes(bytes.get(1..3)?.try_into().ok()?);
    let len = u32::from_be_bytes(bytes.get(3..7)?.try_into().ok()?);
    let len = usize::try_from(len).ok().filter(|&len| len <= MAX_FRAME)?;
    matches!(kind, METHOD | HEADER | BODY | HEARTBEAT).then_some(FrameHead { kind, channel, len })
}

/// One direction's frames; bodies are kept up to `max_body` bytes per frame.
pub(super) struct Frames {
    /// The body cap (`--max-body`).
    pub max_body: usize,
}

impl PduFormat for Frames {
    type Head = FrameHead;

    fn header_len(&self) -> usize {
        FRAME_HEADER
    }

    fn read_header(&mut self, header: &[u8]) -> Option<PduHeader<FrameHead>> {
        let head = frame_head(header)?;
        let body_len = head.len + 1;
        let keep = match head.kind {
            BODY => head.len.min(self.max_body),
            HEARTBEAT => body_len,
            _ if body_len <= MAX_KEPT => body_len,
            _ => MAX_KEPT,
        };
        Some(PduHeader {
            head,
            body_len,
            keep,
        })
    }

    fn plausible_start(&self, bytes: &[u8]) -> bool {
        frame_head(bytes).is_some_and(|head| {
            head.len <= MAX_RESUME
                && match head.kind {
                    METHOD => bytes.get(7..9).is_some_and(|class| {
                        super::methods::known_class(u16::from_be_bytes([class[0], class[1]]))
                    }),
                    HEARTBEAT => head.channel == 0 && head.len == 0,
                    _ => true,
                }
        })
    }
}
