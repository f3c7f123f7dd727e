//! Redis: RESP2 and RESP3 (<https://redis.io/docs/latest/develop/reference/protocol-spec/>),
//! inline commands and pipelining; responses are paired with requests in order.
//!
//! Both directions run through one streaming RESP reader that never holds more than one line and
//! a capped prefix of each bulk string: bulk payloads are skipped by count, so a 500 MB value costs
//! no memory, and bytes are looked at once however they are chunked. Requests are read the way the
//! server reads them (`processMultibulkBuffer` / `processInlineBuffer`): a `*N` array of bulk
//! strings, or an inline line of words; `*0` and negative counts and empty lines are no commands.
//!
//! Each request and response carries `size`: the RESP bytes of that one command or reply, counted
//! as they pass (a pipelined batch gives every command and every reply its own). Bytes that belong
//! to no value (empty lines between commands, bytes skipped to resynchronise) are not counted, nor
//! are the confirmations after the first of a multi-channel SUBSCRIBE, whose entry went out with
//! the first.

use std::collections::VecDeque;

use serde_json::{Value, json};
use shark_store::Message;

use super::{
    ChunkMeta, Confidence, Direction, Dissector, Exchange, Parser, ParserSettings, Unfinished,
};

/// Longest line (inline command or type header) kept; Redis's own inline limit is 64 KiB.
const MAX_LINE: usize = 64 * 1024;
/// Largest bulk string Redis accepts (`proto-max-bulk-len`).
const MAX_BULK: i64 = 512 * 1024 * 1024;
/// Largest request array Redis accepts.
const MAX_MULTIBULK: i64 = 1024 * 1024;
/// Deepest nesting of aggregates followed.
const MAX_DEPTH: usize = 64;
/// Arguments kept per command; the rest are counted only.
const MAX_ARGS: usize = 32;
/// Bytes of each argument or value kept as text.
const MAX_TEXT: usize = 256;
/// Elements of an aggregate response kept in `body`.
const MAX_ELEMENTS: usize = 16;
/// Requests waiting for their response; beyond this the oldest is reported unanswered.
const MAX_PENDING: usize = 4096;

/// Redis RESP2/RESP3: command, key, args; response type, error text.
pub struct RedisDissector;

impl Dissector for RedisDissector {
    fn name(&self) -> &'static str {
        "redis"
    }

    fn ports(&self) -> &'static [u16] {
        &[6379]
    }

    fn probe(&self, data: &[u8], dir: Direction) -> Confidence {
        // The server skips empty lines before a command.
        let blank = data
            .iter()
            .take_while(|b| matches!(b, b'\r' | b'\n'))
            .count();
        let data = match dir {
            Direction::ToServer => data.get(blank..).unwrap_or_default(),
            Direction::ToClient => data,
        };
        let Some(end) = data.iter().position(|&b| b == b'\n') else {
            return if data.len() < 16 {
                Confidence::NeedMore
            } else {
                Confidence::No
            };
        };
        let line = trim_cr(data.get(..end).unwrap_or_default());
        let (kind, rest) = match line.split_first() {
            Some((&kind, rest)) => (kind, rest),
            None => return Confidence::No,
        };
        let number = || {
            std::str::from_utf8(rest)
                .ok()
                .and_then(|s| s.parse::<i64>().ok())
        };
        match dir {
            Direction::ToServer if kind == b'*' => {
                // `*N\r\n$L\r\n`: an array of bulk strings is how every client sends commands.
                let bulk_follows = data.get(end + 1) == Some(&b'$');
                let next = data.get(end + 1).is_none();
                match number() {
                    Some(n) if (1..=MAX_MULTIBULK).contains(&n) && bulk_follows => Confidence::Yes,
                    Some(n) if (1..=MAX_MULTIBULK).contains(&n) && next => Confidence::NeedMore,
                    // Empty, negative or oversized arrays: only a Redis client (or an attacker
                    // probing one) sends these.
                    _ if printable(rest) => Confidence::Maybe,
                    _ => Confidence::No,
                }
            }
            Direction::ToServer => {
                let word = line.split(|&b| b == b' ').next().unwrap_or_default();
                let known = INLINE_COMMANDS
                    .iter()
                    .any(|c| c.as_bytes().eq_ignore_ascii_case(word));
                // An inline line that starts like a RESP value is what redis-cli users and
                // fuzzers send to a server; other text protocols do not open that way.
                let resp_like = matches!(kind, b'$' | b'+' | b'-' | b':') && printable(rest);
                if known || resp_like {
                    Confidence::Maybe
                } else {
                    Confidence::No
                }
            }
            Direction::ToClient => match kind {
                b'+' | b'-' if line.iter().all(|b| b.is_ascii_graphic() || *b == b' ') => {
                    Confidence::Maybe
                }
                b':' | b'$' | b'*' if number().is_some() => Confidence::Maybe,
                _ => Confidence::No,
            },
        }
    }

    fn parser(&self, _settings: &ParserSettings) -> Box<dyn Parser> {
        Box::new(RedisParser::default())
    }
}

/// Whether a line holds only printable ASCII (and tabs).
fn printable(line: &[u8]) -> bool {
    line.iter()
        .all(|&b| b.is_ascii_graphic() || b == b' ' || b == b'\t')
}

/// Commands commonly typed inline (redis-cli, telnet); a weak hint on an unknown port.
const INLINE_COMMANDS: &[&str] = &[
    "PING", "GET", "SET", "DEL", "INCR", "AUTH", "SELECT", "INFO", "KEYS", "HGET", "LPUSH",
    "EXISTS",
];

/// Per-flow Redis state: one reader per direction and the requests waiting for a response.
#[derive(Default)]
struct RedisParser {
    requests: Reader,
    responses: Reader,
    pending: VecDeque<PendingRequest>,
}

/// A complete request waiting for its response(s).
struct PendingRequest {
    request: Message,
    start: ChunkMeta,
    end: ChunkMeta,
    /// Further replies that belong to this request (one per channel of SUBSCRIBE-like commands).
    extra_replies: usize,
    /// The first reply was reported; the rest are only counted.
    reported: bool,
    /// Why the request could not be read, if it could not.
    error: Option<String>,
}

impl Parser for RedisParser {
    fn feed(&mut self, dir: Direction, data: &[u8], meta: ChunkMeta, out: &mut Vec<Exchange>) {
        let mut values = Vec::new();
        match dir {
            Direction::ToServer => {
                self.requests.feed(Role::Request, data, meta, &mut values);
                for value in values {
                    self.request(value, out);
                }
            }
            Direction::ToClient => {
                self.responses.feed(Role::Response, data, meta, &mut values);
                for value in values {
                    self.response(value, out);
                }
            }
        }
    }

    fn gap(&mut self, dir: Direction, out: &mut Vec<Exchange>) {
        match dir {
            Direction::ToServer => {
                // A command cut by the gap still gets its reply: keep its place in the queue.
                if let Some(partial) = self.requests.partial() {
                    self.pending.push_back(PendingRequest {
                        request: partial.fields,
                        start: partial.start,
                        end: partial.end,
                        extra_replies: 0,
                        reported: false,
                        error: Some("request partly lost in a capture gap".into()),
                    });
                }
                self.requests.lose_sync();
            }
            Direction::ToClient => {
                // Which responses were lost is unknown: report every waiting request.
                self.responses.lose_sync();
                for pending in self.pending.drain(..) {
                    out.push(unanswered(pending, "response lost in a capture gap"));
                }
            }
        }
    }

    fn close(&mut self, reason: &str, out: &mut Vec<Exchange>) {
        if let Some(partial) = self.requests.partial() {
            out.push(Exchange {
                protocol: "redis",
                request: partial.fields,
                error: Some(format!(
                    "incomplete request before the flow ended ({reason})"
                )),
                start: Some(partial.start),
                end: Some(partial.end),
                ..Exchange::default()
            });
        }
        if let Some(mut partial) = self.responses.current.take()
            && let Some(front) = self.pending.pop_front()
        {
            partial.size = self.responses.value_bytes;
            // The reply had begun (e.g. a large value cut off by the end of the capture).
            out.push(Exchange {
                protocol: "redis",
                request: front.request,
                response: response_fields(&partial),
                error: Some(format!(
                    "incomplete response before the flow ended ({reason})"
                )),
                start: Some(front.start),
                end: Some(partial.end),
                ..Exchange::default()
            });
        }
        for pending in self.pending.drain(..) {
            out.push(unanswered(
                pending,
                &format!("no response before the flow ended ({reason})"),
            ));
        }
    }

    /// Commands waiting for their replies, and a command or reply half read.
    fn unfinished(&self) -> Unfinished {
        let commands = self.pending.iter().map(|p| Some(p.start));
        Unfinished::earliest(commands.chain([self.requests.started(), self.responses.started()]))
    }
}

impl RedisParser {
    fn request(&mut self, value: RespValue, out: &mut Vec<Exchange>) {
        let Some(fields) = request_fields(&value) else {
            return;
        };
        if value.no_reply {
            out.push(Exchange {
                protocol: "redis",
                request: fields,
                error: value.error,
                start: Some(value.start),
                end: Some(value.end),
                ..Exchange::default()
            });
            return;
        }
        if self.pending.len() >= MAX_PENDING
            && let Some(oldest) = self.pending.pop_front()
        {
            out.push(unanswered(
                oldest,
                "no response (too many pipelined requests)",
            ));
        }
        let extra_replies = subscription_replies(&value).saturating_sub(1);
        self.pending.push_back(PendingRequest {
            request: fields,
            start: value.start,
            end: value.end,
            extra_replies,
            reported: false,
            error: value.error,
        });
    }

    fn response(&mut self, value: RespValue, out: &mut Vec<Exchange>) {
        if value.is_push() {
            out.push(Exchange {
                protocol: "redis",
                response: response_fields(&value),
                start: Some(value.start),
                end: Some(value.end),
                ..Exchange::default()
            });
            return;
        }
        if let Some(front) = self.pending.front_mut()
            && front.reported
        {
            // A further confirmation of a multi-channel SUBSCRIBE already reported.
            front.extra_replies = front.extra_replies.saturating_sub(1);
            if front.extra_replies == 0 {
                self.pending.pop_front();
            }
            return;
        }
        let response = response_fields(&value);
        let Some(front) = self.pending.front_mut() else {
            out.push(Exchange {
                protocol: "redis",
                response,
                error: Some(value.error.unwrap_or_else(|| {
                    "response without a request (capture started mid-connection?)".into()
                })),
                start: Some(value.start),
                end: Some(value.end),
                ..Exchange::default()
            });
            return;
        };
        // Only a multi-channel SUBSCRIBE stays waiting after its first reply, so only it is cloned.
        let (request, error, start) = if front.extra_replies > 0 {
            front.reported = true;
            (front.request.clone(), front.error.clone(), front.start)
        } else {
            match self.pending.pop_front() {
                Some(done) => (done.request, done.error, done.start),
                None => return,
            }
        };
        out.push(Exchange {
            protocol: "redis",
            request,
            response,
            error: error.or(value.error),
            start: Some(start),
            end: Some(value.end),
            ..Exchange::default()
        });
    }
}

/// An exchange for a request that got no response.
fn unanswered(pending: PendingRequest, error: &str) -> Exchange {
    Exchange {
        protocol: "redis",
        request: pending.request,
        error: Some(pending.error.unwrap_or_else(|| error.to_string())),
        start: Some(pending.start),
        end: Some(pending.end),
        ..Exchange::default()
    }
}

/// Which side of the protocol a reader follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Client to server: arrays of bulk strings or inline lines.
    Request,
    /// Server to client: any RESP2/RESP3 value.
    Response,
}

/// One leaf of a value, as text (capped).
#[derive(Debug, Clone, PartialEq)]
struct Leaf {
    /// RESP type byte that introduced it.
    kind: u8,
    text: String,
}

/// A complete top-level value, reduced to what the exchange needs.
#[derive(Debug)]
struct RespValue {
    /// Type byte of the top-level value.
    kind: u8,
    /// Whether the top-level value is a null (`$-1`, `*-1`, `_`).
    null: bool,
    /// First leaves, in order (all of a request's arguments up to [`MAX_ARGS`]).
    leaves: Vec<Leaf>,
    /// Leaves seen in total.
    leaf_count: usize,
    /// Set when the value could not be read (protocol error, oversized line).
    error: Option<String>,
    /// A request the server drops without answering.
    no_reply: bool,
    /// Bytes of the value on the wire.
    size: u64,
    start: ChunkMeta,
    end: ChunkMeta,
}

impl RespValue {
    fn new(kind: u8, start: ChunkMeta, end: ChunkMeta) -> Self {
        RespValue {
            kind,
            null: false,
            leaves: Vec::new(),
            leaf_count: 0,
            error: None,
            no_reply: false,
            size: 0,
            start,
            end,
        }
    }

    /// Whether the server sent this on its own (RESP3 push, RESP2 pub/sub message), not as a reply.
    fn is_push(&self) -> bool {
        self.kind == b'>'
            || (self.kind == b'*'
                && self.leaves.first().is_some_and(|l| {
                    matches!(l.text.as_str(), "message" | "pmessage" | "smessage")
                }))
    }
}

/// An open aggregate: elements still expected, and whether it is an attribute (RESP3 `|`),
/// which decorates the value after it rather than being one.
struct Frame {
    remaining: u64,
    attribute: bool,
}

/// Streaming RESP reader for one direction.
#[derive(Default)]
struct Reader {
    line: Vec<u8>,
    /// The current line outgrew [`MAX_LINE`]: skip to its end.
    line_overflow: bool,
    /// Bulk payload bytes still to read, then 2 for its CRLF.
    bulk_left: u64,
    crlf_left: u8,
    bulk_kind: u8,
    bulk_text: Vec<u8>,
    stack: Vec<Frame>,
    /// The value being read; `None` between values.
    current: Option<RespValue>,
    /// Bytes were lost: wait for a line that can start a value.
    lost_sync: bool,
    /// Bytes seen since the start of the current line, to place the line's first byte.
    line_start: Option<ChunkMeta>,
    /// Bytes read of the value in progress (including a line not yet ended).
    value_bytes: u64,
}

/// What [`Reader::partial`] hands back for an unfinished request.
struct Partial {
    fields: Message,
    start: ChunkMeta,
    end: ChunkMeta,
}

impl Reader {
    /// Reads `data`, pushing every value it completes with its size on the wire.
    fn feed(&mut self, role: Role, mut data: &[u8], meta: ChunkMeta, values: &mut Vec<RespValue>) {
        while !data.is_empty() {
            let done = values.len();
            let rest = self.step(role, data, meta, values);
            self.value_bytes += (data.len() - rest.len()) as u64;
            data = rest;
            // A step completes at most one value, with its last byte.
            if let Some(value) = values.get_mut(done..).and_then(<[RespValue]>::last_mut) {
                value.size = std::mem::take(&mut self.value_bytes);
            } else if self.between_values() {
                // The bytes opened no value (an empty line, a line skipped to resynchronise).
                self.value_bytes = 0;
            }
        }
    }

    /// Reads one line or one run of bulk bytes from `data`; returns what is left.
    fn step<'a>(
        &mut self,
        role: Role,
        data: &'a [u8],
        meta: ChunkMeta,
        values: &mut Vec<RespValue>,
    ) -> &'a [u8] {
        if self.bulk_left > 0 || self.crlf_left > 0 {
            return self.bulk(data, meta, values);
        }
        if self.line.is_empty() && !self.line_overflow {
            self.line_start = Some(meta);
        }
        let Some(end) = data.iter().position(|&b| b == b'\n') else {
            self.push_line(data);
            return &[];
        };
        self.push_line(data.get(..end).unwrap_or_default());
        let line = std::mem::take(&mut self.line);
        if std::mem::take(&mut self.line_overflow) {
            self.fail(role, "line longer than 64 KiB", meta, values);
        } else {
            self.on_line(role, trim_cr(&line), meta, values);
        }
        data.get(end + 1..).unwrap_or_default()
    }

    /// Whether no value is being read, not even its first line.
    fn between_values(&self) -> bool {
        self.current.is_none()
            && self.line.is_empty()
            && !self.line_overflow
            && self.bulk_left == 0
            && self.crlf_left == 0
    }

    fn push_line(&mut self, bytes: &[u8]) {
        if self.line_overflow || self.line.len() + bytes.len() > MAX_LINE {
            self.line_overflow = true;
            self.line.clear();
        } else {
            self.line.extend_from_slice(bytes);
        }
    }

    /// Consumes bulk payload bytes; returns what is left of `data`.
    fn bulk<'a>(
        &mut self,
        data: &'a [u8],
        meta: ChunkMeta,
        values: &mut Vec<RespValue>,
    ) -> &'a [u8] {
        if self.bulk_left > 0 {
            let take = usize::try_from(self.bulk_left)
                .unwrap_or(usize::MAX)
                .min(data.len());
            let (payload, rest) = data.split_at(take);
            let room = MAX_TEXT.saturating_sub(self.bulk_text.len());
            self.bulk_text
                .extend_from_slice(payload.get(..room.min(payload.len())).unwrap_or_default());
            self.bulk_left -= take as u64;
            return rest;
        }
        let take = usize::from(self.crlf_left).min(data.len());
        self.crlf_left -= take as u8;
        if self.crlf_left == 0 {
            let text = String::from_utf8_lossy(&std::mem::take(&mut self.bulk_text)).into_owned();
            self.leaf(
                Leaf {
                    kind: self.bulk_kind,
                    text,
                },
                meta,
                values,
            );
        }
        data.get(take..).unwrap_or_default()
    }

    fn on_line(&mut self, role: Role, line: &[u8], meta: ChunkMeta, values: &mut Vec<RespValue>) {
        let at_top = self.current.is_none();
        let top_level = self.stack.is_empty();
        if self.lost_sync {
            // After lost bytes only a line that opens a top-level value is trusted.
            let opens = match role {
                Role::Request => line.first() == Some(&b'*'),
                Role::Response => line.first().is_some_and(|b| b"+-:*%>_#,(~".contains(b)),
            };
            if !opens {
                return;
            }
            self.lost_sync = false;
        }
        if let Some(value) = self.current.as_mut().filter(|_| top_level) {
            // The value a top-level attribute decorated: it gives the reply its type.
            value.kind = line.first().copied().unwrap_or(b' ');
        } else if at_top {
            let kind = line.first().copied().unwrap_or(b' ');
            self.current = Some(RespValue::new(kind, self.line_start.unwrap_or(meta), meta));
        }
        if role == Role::Request && at_top && line.first() != Some(&b'*') {
            self.inline(line, meta, values);
            return;
        }
        let Some((&kind, rest)) = line.split_first() else {
            self.fail(role, "empty line where a value was expected", meta, values);
            return;
        };
        if role == Role::Request && !at_top && kind != b'$' {
            self.fail(role, "expected '$' in a command array", meta, values);
            return;
        }
        let number = || {
            std::str::from_utf8(rest)
                .ok()
                .and_then(|s| s.parse::<i64>().ok())
        };
        match kind {
            b'+' | b'-' | b':' | b'_' | b'#' | b',' | b'(' => {
                let text = String::from_utf8_lossy(
                    rest.get(..MAX_TEXT.min(rest.len())).unwrap_or_default(),
                );
                if kind == b'_' {
                    self.mark_null();
                }
                self.leaf(
                    Leaf {
                        kind,
                        text: text.into_owned(),
                    },
                    meta,
                    values,
                );
            }
            b'$' | b'!' | b'=' => match number() {
                Some(-1) if role == Role::Response => {
                    self.mark_null();
                    self.leaf(
                        Leaf {
                            kind,
                            text: String::new(),
                        },
                        meta,
                        values,
                    );
                }
                Some(len) if (0..=MAX_BULK).contains(&len) => {
                    self.bulk_left = len as u64;
                    self.crlf_left = 2;
                    self.bulk_kind = kind;
                }
                _ => self.fail(role, "invalid bulk length", meta, values),
            },
            b'*' | b'%' | b'~' | b'>' | b'|' => match number() {
                Some(n) if role == Role::Request && n <= 0 => {
                    // The server ignores empty and negative command arrays: reported at once, as
                    // nothing will answer them.
                    if let Some(mut value) = self.current.take() {
                        value.error = Some(format!(
                            "command array of length {n}: ignored by the server"
                        ));
                        value.no_reply = true;
                        value.end = meta;
                        values.push(value);
                    }
                }
                Some(n) if role == Role::Request && n <= MAX_MULTIBULK => {
                    self.stack.push(Frame {
                        remaining: n as u64,
                        attribute: false,
                    });
                }
                _ if role == Role::Request => {
                    self.fail(role, "invalid multibulk length", meta, values)
                }
                Some(n @ (-1 | 0)) => {
                    if n == -1 {
                        self.mark_null();
                    }
                    self.leaf_done(meta, values);
                }
                Some(n) if n > 0 && self.stack.len() < MAX_DEPTH => {
                    let pairs = matches!(kind, b'%' | b'|');
                    let remaining = if pairs {
                        (n as u64).saturating_mul(2)
                    } else {
                        n as u64
                    };
                    self.stack.push(Frame {
                        remaining,
                        attribute: kind == b'|',
                    });
                }
                _ => self.fail(
                    role,
                    "invalid aggregate length or nesting too deep",
                    meta,
                    values,
                ),
            },
            _ => self.fail(role, "unknown RESP type", meta, values),
        }
    }

    /// An inline command: words separated by spaces; an empty line is no command.
    fn inline(&mut self, line: &[u8], meta: ChunkMeta, values: &mut Vec<RespValue>) {
        let mut words = line
            .split(|b| b.is_ascii_whitespace())
            .filter(|w| !w.is_empty())
            .peekable();
        if words.peek().is_none() {
            self.current = None;
            return;
        }
        if let Some(value) = self.current.as_mut() {
            value.kind = b'i';
            for word in words {
                value.leaf_count += 1;
                if value.leaves.len() < MAX_ARGS {
                    let text = String::from_utf8_lossy(
                        word.get(..MAX_TEXT.min(word.len())).unwrap_or_default(),
                    );
                    value.leaves.push(Leaf {
                        kind: b'$',
                        text: text.into_owned(),
                    });
                }
            }
            value.end = meta;
        }
        if let Some(value) = self.current.take() {
            values.push(value);
        }
    }

    fn mark_null(&mut self) {
        if self.stack.is_empty()
            && let Some(value) = self.current.as_mut()
        {
            value.null = true;
        }
    }

    /// Records a scalar and closes every aggregate it completes.
    fn leaf(&mut self, leaf: Leaf, meta: ChunkMeta, values: &mut Vec<RespValue>) {
        let in_attribute = self.stack.iter().any(|f| f.attribute);
        if let Some(value) = self.current.as_mut()
            && !in_attribute
        {
            value.leaf_count += 1;
            if value.leaves.len() < MAX_ARGS {
                value.leaves.push(leaf);
            }
        }
        self.leaf_done(meta, values);
    }

    fn leaf_done(&mut self, meta: ChunkMeta, values: &mut Vec<RespValue>) {
        loop {
            let Some(top) = self.stack.last_mut() else {
                // A whole top-level value.
                if let Some(mut value) = self.current.take() {
                    value.end = meta;
                    values.push(value);
                }
                return;
            };
            top.remaining = top.remaining.saturating_sub(1);
            if top.remaining > 0 {
                return;
            }
            let attribute = top.attribute;
            self.stack.pop();
            if attribute {
                // An attribute is not an element: the value it decorates comes next.
                return;
            }
        }
    }

    /// Abandons the current value; a request still becomes one (the server answers it with an error).
    fn fail(&mut self, role: Role, why: &str, meta: ChunkMeta, values: &mut Vec<RespValue>) {
        self.stack.clear();
        self.bulk_left = 0;
        self.crlf_left = 0;
        self.bulk_text.clear();
        let start = self.line_start.unwrap_or(meta);
        let mut value = self
            .current
            .take()
            .unwrap_or_else(|| RespValue::new(b'?', start, meta));
        value.error = Some(format!("protocol error: {why}"));
        value.end = meta;
        values.push(value);
        // A response stream resynchronises on the next line that opens a value; the server
        // closes the connection after a request it cannot read, so requests need no such care.
        self.lost_sync = role == Role::Response;
    }

    fn lose_sync(&mut self) {
        *self = Reader {
            lost_sync: true,
            ..Reader::default()
        };
    }

    /// The request being read when the flow ended, if any.
    /// Where the value being read began, if one is being read.
    fn started(&self) -> Option<ChunkMeta> {
        match &self.current {
            Some(value) => Some(value.start),
            None if !self.line.is_empty() || self.line_overflow => self.line_start,
            None => None,
        }
    }

    fn partial(&self) -> Option<Partial> {
        let value = self.current.as_ref();
        let start = self.started()?;
        let mut fields = value.and_then(request_fields).unwrap_or_default();
        if value.is_none_or(|v| v.leaves.is_empty()) && !self.line.is_empty() {
            let text = String::from_utf8_lossy(
                self.line
                    .get(..MAX_TEXT.min(self.line.len()))
                    .unwrap_or_default(),
            );
            fields.insert("command".into(), json!(command_name(&text)));
        }
        fields.insert("size".into(), json!(self.value_bytes));
        Some(Partial {
            fields,
            start,
            end: value.map_or(start, |v| v.end),
        })
    }
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The first word of a line, upper case, as a command name.
fn command_name(text: &str) -> String {
    text.split_ascii_whitespace()
        .next()
        .unwrap_or_default()
        .to_ascii_uppercase()
}

/// `command`, `key`, `args` of a request; `None` when it holds no command.
fn request_fields(value: &RespValue) -> Option<Message> {
    let mut fields = Message::new();
    let mut words = value.leaves.iter().map(|l| l.text.as_str());
    let command = words
        .next()
        .map(|c| c.to_ascii_uppercase())
        .unwrap_or_default();
    if command.is_empty() && value.error.is_none() {
        return None;
    }
    let args: Vec<&str> = words.collect();
    if let Some(key) = key_of(&command, &args) {
        fields.insert("key".into(), json!(key));
    }
    fields.insert("command".into(), json!(command));
    fields.insert("args".into(), json!(args));
    fields.insert("size".into(), json!(value.size));
    if let Some(error) = &value.error {
        fields.insert("error".into(), json!(error));
    }
    Some(fields)
}

/// How many replies a command gets: one per channel for the (un)subscribe family.
fn subscription_replies(value: &RespValue) -> usize {
    let command = value
        .leaves
        .first()
        .map(|l| l.text.to_ascii_uppercase())
        .unwrap_or_default();
    match command.as_str() {
        "SUBSCRIBE" | "PSUBSCRIBE" | "SSUBSCRIBE" => value.leaf_count.saturating_sub(1).max(1),
        _ => 1,
    }
}

/// The key a command works on, where it has one.
fn key_of<'a>(command: &str, args: &[&'a str]) -> Option<&'a str> {
    let index = match command {
        "PING" | "ECHO" | "AUTH" | "SELECT" | "INFO" | "CONFIG" | "CLIENT" | "COMMAND"
        | "HELLO" | "QUIT" | "MULTI" | "EXEC" | "DISCARD" | "FLUSHDB" | "FLUSHALL" | "DBSIZE"
        | "TIME" | "SAVE" | "BGSAVE" | "BGREWRITEAOF" | "SLOWLOG" | "MONITOR" | "SCRIPT"
        | "FUNCTION" | "PUBLISH" | "SPUBLISH" | "SUBSCRIBE" | "PSUBSCRIBE" | "SSUBSCRIBE"
        | "UNSUBSCRIBE" | "PUNSUBSCRIBE" | "SUNSUBSCRIBE" | "SCAN" | "CLUSTER" | "DEBUG"
        | "LATENCY" | "ACL" | "ROLE" | "REPLICAOF" | "SLAVEOF" | "WAIT" | "RANDOMKEY"
        | "LASTSAVE" | "SHUTDOWN" | "SWAPDB" | "READONLY" | "READWRITE" | "RESET" | "MODULE"
        | "LOLWUT" | "UNWATCH" => {
            return None;
        }
        // EVAL script numkeys key…: the first key follows the key count.
        "EVAL" | "EVALSHA" | "EVAL_RO" | "EVALSHA_RO" | "FCALL" | "FCALL_RO" => {
            let numkeys: usize = args.get(1)?.parse().ok()?;
            if numkeys == 0 {
                return None;
            }
            2
        }
        "OBJECT" | "MEMORY" | "XINFO" | "XGROUP" => 1,
        _ => 0,
    };
    args.get(index).copied()
}

/// `type`, `status`, `statusText`, `body` of a response.
fn response_fields(value: &RespValue) -> Message {
    let mut fields = Message::new();
    let error_leaf = matches!(value.kind, b'-' | b'!');
    fields.insert("type".into(), json!(type_name(value)));
    fields.insert("status".into(), json!(u8::from(error_leaf)));
    let first = value
        .leaves
        .first()
        .map(|l| l.text.clone())
        .unwrap_or_default();
    if error_leaf {
        fields.insert("statusText".into(), json!(first));
    }
    let body = match value.kind {
        b'*' | b'%' | b'~' | b'>' | b'|' if !value.null => Value::Array(
            value
                .leaves
                .iter()
                .take(MAX_ELEMENTS)
                .map(|l| Value::String(l.text.clone()))
                .collect(),
        ),
        _ if value.null => Value::Null,
        _ => Value::String(first),
    };
    fields.insert("body".into(), body);
    fields.insert("size".into(), json!(value.size));
    fields
}

/// The `response.type` name of a value.
fn type_name(value: &RespValue) -> &'static str {
    if value.null {
        return "nil";
    }
    match value.kind {
        b'+' => "simple",
        b'-' => "error",
        b':' => "integer",
        b'$' => "bulk",
        b'*' => "array",
        b'_' => "nil",
        b'#' => "boolean",
        b',' => "double",
        b'(' => "bignum",
        b'!' => "bulkError",
        b'=' => "verbatim",
        b'%' => "map",
        b'~' => "set",
        b'>' => "push",
        b'|' => "attribute",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::test_support::{META, feed_in_pieces, sizes};

    fn exchanges(steps: &[(Direction, &[u8])]) -> Vec<Exchange> {
        let mut parser = RedisDissector.parser(&ParserSettings::default());
        let mut out = Vec::new();
        for (dir, bytes) in steps {
            parser.feed(*dir, bytes, META, &mut out);
        }
        parser.close("FIN", &mut out);
        out
    }

    fn types(out: &[Exchange]) -> Vec<String> {
        out.iter()
            .map(|e| {
                e.response
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn resp3_reply_types_are_named() {
        let requests = b"*1\r\n$5\r\nHELLO\r\n".repeat(8);
        let replies: &[u8] = b"%1\r\n+server\r\n+redis\r\n,3.14\r\n#t\r\n(12345678901234567890\r\n=15\r\ntxt:Some string\r\n!9\r\nERR boom!\r\n~2\r\n:1\r\n:2\r\n_\r\n";
        let out = exchanges(&[
            (Direction::ToServer, &requests),
            (Direction::ToClient, replies),
        ]);
        assert_eq!(
            types(&out),
            [
                "map",
                "double",
                "boolean",
                "bignum",
                "verbatim",
                "bulkError",
                "set",
                "nil"
            ]
        );
        assert_eq!(out[5].response.get("statusText"), Some(&json!("ERR boom!")));
        assert_eq!(out[5].response.get("status"), Some(&json!(1)));
        assert_eq!(
            out[0].response.get("body"),
            Some(&json!(["server", "redis"]))
        );
    }

    #[test]
    fn attribute_decorates_the_reply_and_push_is_not_a_reply() {
        let replies: &[u8] = b">2\r\n+invalidate\r\n+k\r\n|1\r\n+ttl\r\n:3\r\n$2\r\nok\r\n";
        let out = exchanges(&[
            (Direction::ToServer, b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"),
            (Direction::ToClient, replies),
        ]);
        assert_eq!(types(&out), ["push", "bulk"]);
        assert!(out[0].request.is_empty() && out[0].error.is_none());
        assert_eq!(out[1].request.get("key"), Some(&json!("k")));
        assert_eq!(out[1].response.get("body"), Some(&json!("ok")));
    }

    #[test]
    fn huge_bulk_value_is_skipped_without_buffering() {
        let mut parser = RedisDissector.parser(&ParserSettings::default());
        let mut out = Vec::new();
        parser.feed(
            Direction::ToServer,
            b"*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n",
            META,
            &mut out,
        );
        parser.feed(Direction::ToClient, b"$100000000\r\n", META, &mut out);
        let block = vec![b'x'; 1 << 20];
        for _ in 0..95 {
            parser.feed(Direction::ToClient, &block, META, &mut out);
        }
        assert!(out.is_empty());
        let rest = vec![b'y'; 100_000_000 - 95 * (1 << 20)];
        parser.feed(Direction::ToClient, &rest, META, &mut out);
        parser.feed(Direction::ToClient, b"\r\n", META, &mut out);
        assert_eq!(types(&out), ["bulk"]);
        let body = out[0]
            .response
            .get("body")
            .and_then(Value::as_str)
            .unwrap_or_default();
        assert_eq!(body.len(), MAX_TEXT);
    }

    #[test]
    fn subscribe_confirmations_and_messages_do_not_shift_pairing() {
        let out = exchanges(&[
            (Direction::ToServer, b"*3\r\n$9\r\nSUBSCRIBE\r\n$1\r\na\r\n$1\r\nb\r\n"),
            (
                Direction::ToClient,
                b"*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n*3\r\n$7\r\nmessage\r\n$1\r\na\r\n$2\r\nhi\r\n",
            ),
            (Direction::ToServer, b"PING\r\n"),
            (Direction::ToClient, b"+PONG\r\n"),
        ]);
        let commands: Vec<_> = out
            .iter()
            .map(|e| e.request.get("command").cloned())
            .collect();
        assert_eq!(
            commands,
            [Some(json!("SUBSCRIBE")), None, Some(json!("PING"))]
        );
        assert_eq!(types(&out), ["array", "array", "simple"]);
    }

    #[test]
    fn response_gap_reports_waiting_requests_and_resynchronises() {
        let mut parser = RedisDissector.parser(&ParserSettings::default());
        let mut out = Vec::new();
        parser.feed(Direction::ToServer, b"GET a\r\nGET b\r\n", META, &mut out);
        parser.feed(Direction::ToClient, b"$5\r\nab", META, &mut out);
        parser.gap(Direction::ToClient, &mut out);
        assert_eq!(out.len(), 2);
        assert!(
            out.iter()
                .all(|e| e.error.as_deref() == Some("response lost in a capture gap"))
        );
        parser.feed(Direction::ToClient, b"xyz\r\n", META, &mut out);
        parser.feed(Direction::ToServer, b"PING\r\n", META, &mut out);
        parser.feed(Direction::ToClient, b"+PONG\r\n", META, &mut out);
        assert_eq!(out.len(), 3);
        assert_eq!(out[2].response.get("body"), Some(&json!("PONG")));
        assert_eq!(out[2].error, None);
    }

    #[test]
    fn request_cut_by_a_gap_keeps_its_place_for_the_reply() {
        let mut parser = RedisDissector.parser(&ParserSettings::default());
        let mut out = Vec::new();
        parser.feed(
            Direction::ToServer,
            b"*2\r\n$3\r\nGET\r\n$5\r\nab",
            META,
            &mut out,
        );
        parser.gap(Direction::ToServer, &mut out);
        parser.feed(Direction::ToServer, b"*1\r\n$4\r\nPING\r\n", META, &mut out);
        parser.feed(Direction::ToClient, b"$-1\r\n+PONG\r\n", META, &mut out);
        let got: Vec<_> = out
            .iter()
            .map(|e| {
                (
                    e.request.get("command").cloned(),
                    e.response.get("type").cloned(),
                    e.error.clone(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    Some(json!("GET")),
                    Some(json!("nil")),
                    Some("request partly lost in a capture gap".into())
                ),
                (Some(json!("PING")), Some(json!("simple")), None),
            ]
        );
    }

    #[test]
    fn overlong_inline_line_is_a_protocol_error_not_a_buffer() {
        let mut request = vec![b'a'; MAX_LINE + 10];
        request.extend_from_slice(b"\r\nPING\r\n");
        let out = exchanges(&[(Direction::ToServer, &request)]);
        let errors: Vec<_> = out
            .iter()
            .map(|e| e.error.clone().unwrap_or_default())
            .collect();
        assert_eq!(errors[0], "protocol error: line longer than 64 KiB");
        assert_eq!(out[1].request.get("command"), Some(&json!("PING")));
    }

    #[test]
    fn probe_knows_commands_and_replies() {
        let yes = RedisDissector.probe(b"*1\r\n$4\r\nPING\r\n", Direction::ToServer);
        assert_eq!(yes, Confidence::Yes);
        assert_eq!(
            RedisDissector.probe(b"PING\r\n", Direction::ToServer),
            Confidence::Maybe
        );
        assert_eq!(
            RedisDissector.probe(b"GET / HTTP/1.1\r\n", Direction::ToServer),
            Confidence::Maybe
        );
        assert_eq!(
            RedisDissector.probe(
                b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03abcdefgh\n",
                Direction::ToServer
            ),
            Confidence::No
        );
        assert_eq!(
            RedisDissector.probe(b"+OK\r\n", Direction::ToClient),
            Confidence::Maybe
        );
    }

    #[test]
    fn hostile_first_lines_are_redis_only_shapes() {
        for line in [
            &b":hello\r\n"[..],
            b"*-20\r\n",
            b"\r\n\r\nPING\r\n",
            b"$-1\r\n",
        ] {
            assert_eq!(
                RedisDissector.probe(line, Direction::ToServer),
                Confidence::Maybe,
                "{line:?}"
            );
        }
        assert_eq!(
            RedisDissector.probe(b"EHLO mail.example.com\r\n", Direction::ToServer),
            Confidence::No
        );
    }

    #[test]
    fn ignored_empty_array_is_reported_without_taking_a_reply() {
        let out = exchanges(&[
            (Direction::ToServer, b"*-1\r\nPING\r\n"),
            (Direction::ToClient, b"+PONG\r\n"),
        ]);
        assert_eq!(out.len(), 2);
        assert_eq!(
            out[0].error.as_deref(),
            Some("command array of length -1: ignored by the server")
        );
        assert_eq!(out[1].request.get("command"), Some(&json!("PING")));
        assert_eq!(out[1].error, None);
    }

    #[test]
    fn reply_cut_off_by_the_end_of_the_flow_is_kept_with_an_error() {
        let out = exchanges(&[
            (Direction::ToServer, b"GET big\r\n"),
            (Direction::ToClient, b"$1000\r\nabc"),
        ]);
        assert_eq!(types(&out), ["bulk"]);
        assert_eq!(
            out[0].error.as_deref(),
            Some("incomplete response before the flow ended (FIN)")
        );
    }

    #[test]
    fn pipelined_commands_and_replies_each_carry_their_own_wire_bytes_however_fragmented() {
        let commands: [&[u8]; 3] = [
            b"*2\r\n$3\r\nGET\r\n$1\r\na\r\n",
            b"PING\r\n",
            b"*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$5\r\nhello\r\n",
        ];
        let replies: [&[u8]; 3] = [
            b"|1\r\n+ttl\r\n:3\r\n$5\r\nvalue\r\n",
            b"+PONG\r\n",
            b"+OK\r\n",
        ];
        // An empty line between commands is skipped by the server and belongs to no command.
        let requests = [commands[0], b"\r\n", commands[1], commands[2]].concat();
        let responses = replies.concat();
        for piece in [1, 2, 5, 13, usize::MAX] {
            let mut parser = RedisDissector.parser(&ParserSettings::default());
            let mut out = Vec::new();
            feed_in_pieces(
                parser.as_mut(),
                Direction::ToServer,
                &requests,
                piece,
                &mut out,
            );
            feed_in_pieces(
                parser.as_mut(),
                Direction::ToClient,
                &responses,
                piece,
                &mut out,
            );
            let sizes = sizes(&out);
            let expected: Vec<_> = commands
                .iter()
                .zip(replies)
                .map(|(c, r)| (Some(json!(c.len())), Some(json!(r.len()))))
                .collect();
            assert_eq!(sizes, expected, "pieces of {piece} bytes");
        }
    }

    #[test]
    fn unfinished_command_and_reply_count_the_bytes_that_arrived() {
        let (get, begun_reply, cut_command): (&[u8], &[u8], &[u8]) =
            (b"GET big\r\n", b"$1000\r\nabc", b"*2\r\n$3\r\nGE");
        let mut parser = RedisDissector.parser(&ParserSettings::default());
        let mut out = Vec::new();
        parser.feed(Direction::ToServer, get, META, &mut out);
        parser.feed(Direction::ToClient, begun_reply, META, &mut out);
        parser.feed(Direction::ToServer, cut_command, META, &mut out);
        parser.close("FIN", &mut out);
        let sizes = sizes(&out);
        assert_eq!(
            sizes,
            [
                (Some(json!(cut_command.len())), None),
                (Some(json!(get.len())), Some(json!(begun_reply.len())))
            ]
        );
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut seed = 0x9e37_79b9_u32;
        let alphabet = b"*$:+-_#,(!=%~>|\r\n0123456789-?ab ";
        for len in 0..400 {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 17;
                    seed ^= seed << 5;
                    alphabet[(seed % alphabet.len() as u32) as usize]
                })
                .collect();
            let _ = RedisDissector.probe(&bytes, Direction::ToServer);
            let out = exchanges(&[(Direction::ToServer, &bytes), (Direction::ToClient, &bytes)]);
            assert!(out.len() <= bytes.len() * 2 + 2);
        }
    }
}
