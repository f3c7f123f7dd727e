//! One AMQP connection: frames of each direction, synchronous methods waiting for their replies
//! (paired per channel, whichever side sent them), messages assembled from a method, its content
//! header and body frames, and closes that answer what was waiting with their reply code.

use serde_json::{Value, json};
use shark_store::Message;

use super::framing::{BODY, FRAME_END, FrameHead, Frames, HEADER, METHOD};
use super::methods::{CLOSE, CONNECTION, Spec, content_header, is_reply, lookup, read_args};
use crate::dissect::body::write_body;
use crate::dissect::pdu::{Pdu, PduFramer};
use crate::dissect::pending::{PendingQueue, Waiting};
use crate::dissect::{ChunkMeta, Direction, Exchange, Parser, Unfinished};

/// Synchronous methods waiting for their replies, per connection.
const MAX_PENDING: usize = 1024;
/// Messages being assembled at once per direction (one per channel at most).
const MAX_CONTENTS: usize = 64;
/// The length of the protocol header (`AMQP` 0 0 9 1) that opens a connection.
const PROTOCOL_HEADER: usize = 8;

/// What pairs a reply with a waiting method.
pub(super) struct Pairing {
    /// The channel both are on.
    channel: u16,
    /// The class both belong to.
    class: u16,
    /// Method ids that answer it.
    replies: &'static [u16],
    /// Who sent the waiting method.
    from: Direction,
}

/// Where an assembled message goes.
enum Target {
    /// An asynchronous method's entry (publish, deliver, return): its request fields.
    Request(Message),
    /// The reply to a waiting method (basic.get-ok): the method and the response fields.
    Reply(Box<Waiting<Pairing>>, Message),
}

/// A message whose content header and body frames are still coming.
struct Content {
    channel: u16,
    target: Target,
    /// The method frame's first chunk.
    start: ChunkMeta,
    /// The last frame's chunk.
    end: ChunkMeta,
    /// Bytes of its frames so far.
    size: u64,
    /// What its content header announced: body bytes, properties, content encoding.
    header: Option<(u64, serde_json::Map<String, Value>)>,
    /// Body bytes passed so far.
    received: u64,
    /// The body's first bytes, up to the cap.
    body: Vec<u8>,
}

impl Content {
    /// Where its exchange begins: the method a reply answers, else the message's method frame.
    fn begins(&self) -> ChunkMeta {
        match &self.target {
            Target::Reply(waiting, _) => waiting.start,
            Target::Request(_) => self.start,
        }
    }
}

/// One direction of the connection.
#[derive(Default)]
struct Side {
    framer: PduFramer<FrameHead>,
    /// Whether its first bytes came.
    started: bool,
    /// Bytes of the protocol header still to pass.
    preamble: usize,
    /// Messages being assembled, oldest first.
    contents: Vec<Content>,
}

/// Per-flow AMQP state.
pub(super) struct AmqpParser {
    sides: [Side; 2],
    format: Frames,
    pending: PendingQueue<Pairing>,
}

impl AmqpParser {
    /// A connection whose message bodies are kept up to `max_body` bytes.
    pub(super) fn new(max_body: usize) -> Self {
        AmqpParser {
            sides: [Side::default(), Side::default()],
            format: Frames { max_body },
            pending: PendingQueue::new("amqp", MAX_PENDING, "no reply (too many methods waiting)"),
        }
    }
}

impl Parser for AmqpParser {
    fn feed(&mut self, dir: Direction, mut data: &[u8], meta: ChunkMeta, out: &mut Vec<Exchange>) {
        let side = &mut self.sides[dir.slot()];
        if !side.started && !data.is_empty() {
            side.started = true;
            // A connection seen from its start opens with `AMQP` 0 0 9 1 (a server refusing the
            // version answers with its own).
            if data.first() == Some(&b'A') {
                side.preamble = PROTOCOL_HEADER;
            }
        }
        let skip = side.preamble.min(data.len());
        side.preamble -= skip;
        data = data.get(skip..).unwrap_or_default();
        let mut frames = Vec::new();
        side.framer.feed(&mut self.format, data, meta, &mut frames);
        for frame in frames {
            self.frame(dir, frame, out);
        }
    }

    fn gap(&mut self, dir: Direction, out: &mut Vec<Exchange>) {
        let side = &mut self.sides[dir.slot()];
        side.framer.lose_sync();
        side.preamble = 0;
        for content in std::mem::take(&mut side.contents) {
            self.finish(content, Some("message partly lost in a capture gap"), out);
        }
        self.pending.give_up_where(
            |waiting| waiting.pairing.from != dir,
            "reply lost in a capture gap",
            out,
        );
    }

    fn close(&mut self, reason: &str, out: &mut Vec<Exchange>) {
        for slot in 0..2 {
            let side = &mut self.sides[slot];
            let unseen = side.framer.take_unseen() as u64;
            let mut contents = std::mem::take(&mut side.contents);
            if let Some(last) = contents.last_mut() {
                last.size = last.size.saturating_sub(unseen);
            }
            let why = format!("message cut short when the flow ended ({reason})");
            for content in contents {
                self.finish(content, Some(&why), out);
            }
        }
        self.pending.close(reason, out);
    }

    /// Methods waiting for replies, messages being assembled, and frames half read.
    fn unfinished(&self) -> Unfinished {
        let sides = self.sides.iter().flat_map(|side| {
            side.contents
                .iter()
                .map(|c| Some(c.begins()))
                .chain([side.framer.started()])
        });
        Unfinished::earliest(self.pending.starts().chain(sides))
    }
}

impl AmqpParser {
    fn frame(&mut self, dir: Direction, frame: Pdu<FrameHead>, out: &mut Vec<Exchange>) {
        let head = frame.head;
        let payload = frame.body.get(..head.len).unwrap_or(&frame.body);
        match head.kind {
            METHOD => {
                if frame.body.len() > head.len && frame.body.get(head.len) != Some(&FRAME_END) {
                    // Not a frame after all: framing is lost until a plausible one.
                    self.sides[dir.slot()].framer.lose_sync();
                    return;
                }
                let class = u16::from_be_bytes([
                    payload.first().copied().unwrap_or(0),
                    payload.get(1).copied().unwrap_or(0),
                ]);
                let id = u16::from_be_bytes([
                    payload.get(2).copied().unwrap_or(0),
                    payload.get(3).copied().unwrap_or(0),
                ]);
                if let Some(open) = self.take_content(dir, head.channel) {
                    self.finish(open, Some("message cut short by the next method"), out);
                }
                if let Some(spec) = lookup(class, id) {
                    self.method(
                        dir,
                        head.channel,
                        spec,
                        payload.get(4..).unwrap_or_default(),
                        &frame,
                        out,
                    );
                }
            }
            HEADER => {
                let Some(content) = self.content_mut(dir, head.channel) else {
                    return;
                };
                content.size += frame.size;
                content.end = frame.end;
                content.header = content_header(payload);
                if content.header.as_ref().is_none_or(|(size, _)| *size == 0) {
                    self.complete(dir, head.channel, out);
                }
            }
            BODY => {
                let max_body = self.format.max_body;
                let Some(content) = self.content_mut(dir, head.channel) else {
                    return;
                };
                content.size += frame.size;
                content.end = frame.end;
                content.received += head.len as u64;
                let room = max_body.saturating_sub(content.body.len());
                content
                    .body
                    .extend_from_slice(payload.get(..room.min(payload.len())).unwrap_or_default());
                let announced = content.header.as_ref().map_or(0, |(size, _)| *size);
                if content.received >= announced {
                    self.complete(dir, head.channel, out);
                }
            }
            // Heartbeats carry nothing an entry shows.
            _ => {}
        }
    }

    fn method(
        &mut self,
        dir: Direction,
        channel: u16,
        spec: &'static Spec,
        args: &[u8],
        frame: &Pdu<FrameHead>,
        out: &mut Vec<Exchange>,
    ) {
        let args = read_args(spec, args);
        let mut fields = args.fields;
        fields.insert("method".into(), json!(spec.name));
        fields.insert("channel".into(), json!(channel));
        fields.insert("size".into(), json!(frame.size));
        let answered = self.pending.iter().position(|w| {
            let p = &w.pairing;
            p.from != dir
                && p.channel == channel
                && p.class == spec.class
                && p.replies.contains(&spec.id)
        });
        if let Some(waiting) = answered.and_then(|index| self.pending.remove(index)) {
            fields.insert("status".into(), json!(0));
            if spec.content {
                self.open_content(
                    dir,
                    channel,
                    Target::Reply(Box::new(waiting), fields),
                    frame,
                    out,
                );
            } else {
                out.push(exchange(waiting, fields, frame.end));
            }
            return;
        }
        if let Some((code, text)) = args
            .reply
            .as_ref()
            .filter(|_| CLOSE.contains(&(spec.class, spec.id)))
        {
            // A close answers what the other side was waiting for on the channel (all channels
            // for connection.close) with its reply code: the failed method's entry says why.
            let whole = spec.class == CONNECTION;
            let failed = self
                .pending
                .take_where(|w| w.pairing.from != dir && (whole || w.pairing.channel == channel));
            for waiting in failed {
                let mut response = Message::new();
                response.insert("method".into(), json!(spec.name));
                response.insert("status".into(), json!(code));
                response.insert("statusText".into(), json!(text));
                out.push(exchange(waiting, response, frame.end));
            }
        }
        if !spec.replies.is_empty() && !args.no_wait {
            let waiting = Waiting {
                request: fields,
                start: frame.start,
                end: frame.end,
                error: None,
                pairing: Pairing {
                    channel,
                    class: spec.class,
                    replies: spec.replies,
                    from: dir,
                },
            };
            self.pending.push(waiting, out);
        } else if spec.content {
            self.open_content(dir, channel, Target::Request(fields), frame, out);
        } else if is_reply(spec) {
            out.push(Exchange {
                protocol: "amqp",
                response: fields,
                error: Some("reply without a request (capture started mid-connection?)".into()),
                start: Some(frame.start),
                end: Some(frame.end),
                ..Exchange::default()
            });
        } else {
            out.push(Exchange {
                protocol: "amqp",
                request: fields,
                start: Some(frame.start),
                end: Some(frame.end),
                ..Exchange::default()
            });
        }
    }

    /// Starts assembling the message `frame` (a method with content) begins.
    fn open_content(
        &mut self,
        dir: Direction,
        channel: u16,
        target: Target,
        frame: &Pdu<FrameHead>,
        out: &mut Vec<Exchange>,
    ) {
        let contents = &mut self.sides[dir.slot()].contents;
        let oldest = (contents.len() >= MAX_CONTENTS).then(|| contents.remove(0));
        contents.push(Content {
            channel,
            target,
            start: frame.start,
            end: frame.end,
            size: frame.size,
            header: None,
            received: 0,
            body: Vec::new(),
        });
        if let Some(oldest) = oldest {
            self.finish(
                oldest,
                Some("message given up (too many interleaved on the connection)"),
                out,
            );
        }
    }

    fn content_mut(&mut self, dir: Direction, channel: u16) -> Option<&mut Content> {
        self.sides[dir.slot()]
            .contents
            .iter_mut()
            .find(|c| c.channel == channel)
    }

    fn take_content(&mut self, dir: Direction, channel: u16) -> Option<Content> {
        let contents = &mut self.sides[dir.slot()].contents;
        let index = contents.iter().position(|c| c.channel == channel)?;
        Some(contents.remove(index))
    }

    /// The message on `channel` is whole.
    fn complete(&mut self, dir: Direction, channel: u16, out: &mut Vec<Exchange>) {
        if let Some(content) = self.take_content(dir, channel) {
            self.finish(content, None, out);
        }
    }

    /// The exchange of a message, whole or (with `error`) cut short.
    fn finish(&mut self, content: Content, error: Option<&str>, out: &mut Vec<Exchange>) {
        let max_body = self.format.max_body;
        let (announced, properties) = content.header.unwrap_or_default();
        let whole = error.is_none() && content.received == content.body.len() as u64;
        let write = |message: &mut Message| {
            message.insert("size".into(), json!(content.size));
            message.insert("bodySize".into(), json!(announced.max(content.received)));
            let coding = properties.get("contentEncoding").and_then(Value::as_str);
            write_body(message, &content.body, whole, coding, max_body);
            if !properties.is_empty() {
                message.insert("properties".into(), Value::Object(properties.clone()));
            }
        };
        match content.target {
            Target::Request(mut request) => {
                write(&mut request);
                out.push(Exchange {
                    protocol: "amqp",
                    request,
                    error: error.map(str::to_string),
                    start: Some(content.start),
                    end: Some(content.end),
                    ..Exchange::default()
                });
            }
            Target::Reply(waiting, mut response) => {
                write(&mut response);
                let mut done = exchange(*waiting, response, content.end);
                done.error = error.map(str::to_string);
                out.push(done);
            }
        }
    }
}

/// The exchange of a method and its reply, which ended with the chunk `end`.
fn exchange(waiting: Waiting<Pairing>, response: Message, end: ChunkMeta) -> Exchange {
    Exchange {
        protocol: "amqp",
        request: waiting.request,
        response,
        error: waiting.error,
        start: Some(waiting.start),
        end: Some(end),
        ..Exchange::default()
    }
}
