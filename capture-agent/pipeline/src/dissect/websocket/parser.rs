//! One WebSocket connection after the upgrade: each direction's frames read as they stream by
//! (payloads unmasked, kept up to the body cap, the rest counted), data frames joined into
//! messages, control frames (close, ping, pong) entries of their own even between fragments.

use serde_json::json;
use shark_store::Message;

use super::frame::{
    CLOSE, CONTINUATION, FrameHeader, MAX_HEADER, opcode_name, read_header, unmask,
};
use super::inflate::Inflater;
use crate::dissect::body::{BODY_DECODE_ERROR, write_body};
use crate::dissect::{ChunkMeta, Direction, Exchange, Parser, Unfinished};

/// Payload bytes kept of a control frame (at most 125 by the protocol).
const MAX_CONTROL: usize = 125;

/// A message being read: a data message across its frames, or one control frame.
#[derive(Default)]
struct Msg {
    opcode: u8,
    /// permessage-deflate compressed it (RSV1 on its first frame).
    compressed: bool,
    start: Option<ChunkMeta>,
    end: Option<ChunkMeta>,
    /// Bytes of its frames on the wire, headers included.
    size: u64,
    /// Payload bytes on the wire.
    payload: u64,
    frames: u64,
    /// The payload (inflated when compressed), up to the cap.
    body: Vec<u8>,
    /// Why its compressed payload could not be inflated.
    decode_error: Option<String>,
}

/// The frame being read.
struct Frame {
    header: FrameHeader,
    /// Payload bytes read so far.
    read: u64,
    /// It belongs to the data message (not a control frame).
    data: bool,
}

/// One direction of the connection.
#[derive(Default)]
struct Side {
    /// Header bytes of the next frame, while fewer than a whole header came.
    head: Vec<u8>,
    /// Where the frame whose header is being read began.
    head_start: Option<ChunkMeta>,
    frame: Option<Frame>,
    /// The data message being read (its frames so far).
    message: Option<Msg>,
    /// The control frame being read.
    control: Option<Msg>,
    inflater: Option<Inflater>,
    /// Framing was lost (a gap, or bytes that are no frame): the rest of the direction is skipped.
    lost: bool,
    /// Unmasked payload bytes, reused.
    scratch: Vec<u8>,
}

/// Per-flow WebSocket state.
pub(super) struct WebSocketParser {
    sides: [Side; 2],
    max_body: usize,
}

impl WebSocketParser {
    /// A connection whose messages are kept up to `max_body` bytes, compressed with
    /// permessage-deflate if `deflate` was agreed in the handshake.
    pub(super) fn new(max_body: usize, deflate: bool) -> Self {
        let side = || Side {
            inflater: deflate.then(Inflater::default),
            ..Side::default()
        };
        WebSocketParser {
            sides: [side(), side()],
            max_body,
        }
    }
}

impl Parser for WebSocketParser {
    fn feed(&mut self, dir: Direction, mut data: &[u8], meta: ChunkMeta, out: &mut Vec<Exchange>) {
        let max_body = self.max_body;
        let side = &mut self.sides[dir.slot()];
        while !data.is_empty() && !side.lost {
            if side.frame.is_none() {
                data = side.read_head(data, meta, dir, out);
                continue;
            }
            data = side.read_payload(data, meta, max_body);
            side.end_frame_if_done(dir, max_body, out);
        }
    }

    fn gap(&mut self, dir: Direction, out: &mut Vec<Exchange>) {
        let max_body = self.max_body;
        let side = &mut self.sides[dir.slot()];
        side.lost = true;
        side.flush(dir, "message partly lost in a capture gap", max_body, out);
    }

    fn close(&mut self, reason: &str, out: &mut Vec<Exchange>) {
        let why = format!("message cut short when the flow ended ({reason})");
        for dir in [Direction::ToServer, Direction::ToClient] {
            let max_body = self.max_body;
            self.sides[dir.slot()].flush(dir, &why, max_body, out);
        }
    }

    /// Messages and frames being read.
    fn unfinished(&self) -> Unfinished {
        Unfinished::earliest(self.sides.iter().flat_map(|side| {
            [
                side.head_start,
                side.message.as_ref().and_then(|m| m.start),
                side.control.as_ref().and_then(|m| m.start),
            ]
        }))
    }
}

impl Side {
    /// Reads header bytes from `data`; once the header is whole, starts its frame. Returns
    /// what is left of `data`.
    fn read_head<'a>(
        &mut self,
        data: &'a [u8],
        meta: ChunkMeta,
        dir: Direction,
        out: &mut Vec<Exchange>,
    ) -> &'a [u8] {
        self.head_start.get_or_insert(meta);
        let take = (MAX_HEADER - self.head.len()).min(data.len());
        let held = self.head.len();
        self.head
            .extend_from_slice(data.get(..take).unwrap_or_default());
        let header = match read_header(&self.head) {
            Ok(Some(header)) => header,
            Ok(None) => return data.get(take..).unwrap_or_default(),
            Err(_) => {
                self.lost = true;
                return &[];
            }
        };
        let rest = data.get(header.header_len - held..).unwrap_or_default();
        self.head.clear();
        let start = self.head_start.take().unwrap_or(meta);
        let control = header.opcode & 0x08 != 0;
        let message = if control {
            self.control.insert(Msg {
                opcode: header.opcode,
                ..Msg::default()
            })
        } else {
            if header.opcode != CONTINUATION || self.message.is_none() {
                // A new data message (one left unfinished ends without its last frame).
                if let Some(unfinished) = self.message.take() {
                    out.push(exchange(
                        dir,
                        unfinished,
                        Some("message cut short by the next one"),
                    ));
                }
                self.message = Some(Msg {
                    opcode: header.opcode,
                    compressed: header.rsv1 && self.inflater.is_some(),
                    ..Msg::default()
                });
            }
            self.message.get_or_insert_with(Msg::default)
        };
        message.start.get_or_insert(start);
        message.end = Some(meta);
        message.size += (header.header_len as u64) + header.len;
        message.payload += header.len;
        message.frames += 1;
        self.frame = Some(Frame {
            header,
            read: 0,
            data: !control,
        });
        rest
    }

    /// Reads payload bytes of the current frame from `data`; returns what is left.
    fn read_payload<'a>(&mut self, data: &'a [u8], meta: ChunkMeta, max_body: usize) -> &'a [u8] {
        let Some(frame) = self.frame.as_mut() else {
            return data;
        };
        let left = frame.header.len - frame.read;
        let take = usize::try_from(left).unwrap_or(usize::MAX).min(data.len());
        let (now, rest) = data.split_at(take);
        let offset = frame.read;
        frame.read += take as u64;
        let message = if frame.data {
            self.message.as_mut()
        } else {
            self.control.as_mut()
        };
        let Some(message) = message else {
            return rest;
        };
        message.end = Some(meta);
        let cap = if frame.data { max_body } else { MAX_CONTROL };
        let inflating = message.compressed && frame.data;
        let room = cap.saturating_sub(message.body.len());
        // Inflating needs every byte (the window carries over); else only what is kept.
        let wanted = if inflating {
            now.len()
        } else {
            room.min(now.len())
        };
        if wanted == 0 {
            return rest;
        }
        self.scratch.clear();
        self.scratch
            .extend_from_slice(now.get(..wanted).unwrap_or_default());
        if let Some(key) = frame.header.mask {
            unmask(&mut self.scratch, key, offset);
        }
        match self.inflater.as_mut().filter(|_| inflating) {
            Some(inflater) => inflater.feed(&self.scratch, &mut message.body, max_body),
            None => message.body.extend_from_slice(&self.scratch),
        }
        rest
    }

    /// The current frame's payload was read whole: it ends its message if it is the last.
    fn end_frame_if_done(&mut self, dir: Direction, max_body: usize, out: &mut Vec<Exchange>) {
        let Some(frame) = self.frame.as_ref().filter(|f| f.read >= f.header.len) else {
            return;
        };
        let (data, fin) = (frame.data, frame.header.fin);
        self.frame = None;
        if !data {
            if let Some(control) = self.control.take() {
                out.push(exchange(dir, control, None));
            }
        } else if fin && let Some(mut message) = self.message.take() {
            if message.compressed
                && let Some(inflater) = self.inflater.as_mut()
            {
                message.decode_error = inflater.finish(&mut message.body, max_body);
            }
            out.push(exchange(dir, message, None));
        }
    }

    /// Sends what is being read as cut short (`why`).
    fn flush(&mut self, dir: Direction, why: &str, max_body: usize, out: &mut Vec<Exchange>) {
        self.frame = None;
        self.head.clear();
        self.head_start = None;
        for mut message in [self.control.take(), self.message.take()]
            .into_iter()
            .flatten()
        {
            if message.compressed
                && let Some(inflater) = self.inflater.as_mut()
            {
                message.decode_error = inflater.finish(&mut message.body, max_body);
            }
            out.push(exchange(dir, message, Some(why)));
        }
    }
}

/// The entry of a message sent in `dir`: a client's in `request`, a server's in `response`.
fn exchange(dir: Direction, message: Msg, error: Option<&str>) -> Exchange {
    let mut fields = Message::new();
    fields.insert("opcode".into(), json!(opcode_name(message.opcode)));
    fields.insert("size".into(), json!(message.size));
    fields.insert("bodySize".into(), json!(message.payload));
    fields.insert("frames".into(), json!(message.frames));
    if message.compressed {
        fields.insert("compressed".into(), json!(true));
    }
    let mut body = message.body.as_slice();
    if message.opcode == CLOSE {
        if let Some(code) = body.get(..2) {
            fields.insert(
                "closeCode".into(),
                json!(u16::from_be_bytes([code[0], code[1]])),
            );
            fields.insert(
                "closeReason".into(),
                json!(String::from_utf8_lossy(body.get(2..).unwrap_or_default())),
            );
        }
        body = &[];
    }
    let whole = error.is_none() && (message.compressed || body.len() as u64 == message.payload);
    if !body.is_empty() {
        write_body(&mut fields, body, whole, None, usize::MAX);
    }
    if let Some(why) = message.decode_error {
        fields.insert(BODY_DECODE_ERROR.into(), json!(why));
    }
    let (request, response) = match dir {
        Direction::ToServer => (fields, Message::new()),
        Direction::ToClient => (Message::new(), fields),
    };
    Exchange {
        protocol: "ws",
        version: "13".into(),
        request,
        response,
        error: error.map(str::to_string),
        start: message.start,
        end: message.end,
    }
}
