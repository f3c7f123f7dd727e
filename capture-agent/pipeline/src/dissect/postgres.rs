//! PostgreSQL frontend/backend protocol 3.0
//! (<https://www.postgresql.org/docs/current/protocol-message-formats.html>).
//!
//! Each request is a cycle that the server ends with ReadyForQuery: the startup message, a simple
//! Query, or an extended-protocol batch (Parse/Bind/Describe/Execute … Sync) whose SQL comes from
//! its Parse or, for a prepared statement parsed earlier, from the statement or portal it names. A
//! batch that binds a named statement also carries the name (`statement`): for a statement prepared
//! before the capture began, the name is all there is to show (tshark shows the same).
//! Cycles are paired with ReadyForQuery in order, so pipelined batches pair correctly.
//!
//! Messages are framed with only a capped prefix of their body kept (DataRow keeps none), the rest
//! skipped by count: a million-row result costs a counter, not memory.
//!
//! Each exchange carries `size` on both sides: the bytes on the wire (type byte, length field and
//! body, as the length field gives them) of the frontend messages of its cycle, and of the backend
//! messages up to and including its ReadyForQuery. Frontend messages outside a cycle (password,
//! COPY data) count toward the cycle they continue: the open one, else the last one sent. A
//! message a capture gap or the end of the flow cuts short counts the bytes that passed.

use std::collections::{HashMap, VecDeque};

use serde_json::json;
use shark_store::Message;

use super::{
    ChunkMeta, Confidence, Direction, Dissector, Exchange, Parser, ParserSettings, Unfinished,
};

/// SSLRequest code (in place of a protocol version).
const SSL_REQUEST: u32 = 80_877_103;
/// GSSENCRequest code.
const GSSENC_REQUEST: u32 = 80_877_104;
/// CancelRequest code.
const CANCEL_REQUEST: u32 = 80_877_102;
/// Protocol 3.0 in a StartupMessage.
const PROTOCOL_3: u32 = 196_608;
/// Longest message accepted as framing (the server's own limit for most messages is 1 GiB).
const MAX_MESSAGE: usize = 1 << 30;
/// Body bytes kept of messages whose SQL we show.
const MAX_SQL: usize = 64 * 1024;
/// Body bytes kept of other messages that are read (errors, tags, startup parameters, names).
const MAX_SMALL: usize = 8 * 1024;
/// Prepared statements and portals remembered per connection.
const MAX_NAMES: usize = 1024;
/// Request cycles waiting for ReadyForQuery.
const MAX_PENDING: usize = 4096;

/// PostgreSQL: startup, SSLRequest, simple and extended queries, command tags, errors.
pub struct PostgresDissector;

impl Dissector for PostgresDissector {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn ports(&self) -> &'static [u16] {
        &[5432]
    }

    fn probe(&self, data: &[u8], dir: Direction) -> Confidence {
        if dir == Direction::ToServer
            && let Some(code) = be32(data, 4)
        {
            let len = be32(data, 0).unwrap_or(0);
            let untyped = match code {
                SSL_REQUEST | GSSENC_REQUEST => len == 8,
                CANCEL_REQUEST => len == 16,
                PROTOCOL_3 => (8..=10_000).contains(&len),
                _ => false,
            };
            if untyped {
                return Confidence::Yes;
            }
        }
        let (Some(&kind), Some(len)) = (data.first(), be32(data, 1)) else {
            return Confidence::NeedMore;
        };
        let Ok(len) = usize::try_from(len) else {
            return Confidence::No;
        };
        if !plausible_header(dir, kind, len) {
            return Confidence::No;
        }
        let Some(body) = data.get(5..1 + len) else {
            return if len <= MAX_SQL {
                Confidence::NeedMore
            } else {
                Confidence::Maybe
            };
        };
        let strings = body.iter().filter(|&&b| b == 0).count();
        let ends_with_nul = body.last() == Some(&0);
        let valid = match kind {
            b'Q' | b'C' => ends_with_nul && strings == 1,
            b'P' => strings >= 2,
            b'E' | b'N' if dir == Direction::ToClient => {
                ends_with_nul && body.first() == Some(&b'S')
            }
            b'Z' => matches!(body, [b'I' | b'T' | b'E']),
            b'R' => len >= 8,
            _ => true,
        };
        match (valid, dir, kind) {
            (false, _, _) => Confidence::No,
            (true, Direction::ToServer, b'Q' | b'P') | (true, Direction::ToClient, b'E' | b'Z') => {
                Confidence::Yes
            }
            (true, _, _) => Confidence::Maybe,
        }
    }

    fn parser(&self, _settings: &ParserSettings) -> Box<dyn Parser> {
        Box::new(PostgresParser::default())
    }
}

/// Whether a typed message header could start a message in direction `dir`.
fn plausible_header(dir: Direction, kind: u8, len: usize) -> bool {
    let fixed = |n: usize| len == n;
    match dir {
        Direction::ToServer => match kind {
            b'S' | b'H' | b'X' | b'c' => fixed(4),
            b'Q' | b'P' | b'B' | b'E' | b'D' | b'C' | b'F' | b'p' | b'd' | b'f' => {
                (5..=MAX_MESSAGE).contains(&len)
            }
            _ => false,
        },
        Direction::ToClient => match kind {
            b'1' | b'2' | b'3' | b'n' | b's' | b'I' | b'c' => fixed(4),
            b'Z' => fixed(5),
            b'K' => len >= 12,
            b'R' | b'S' | b'T' | b'D' | b'C' | b'E' | b'N' | b'A' | b't' | b'G' | b'H' | b'W'
            | b'd' | b'V' | b'v' => (5..=MAX_MESSAGE).contains(&len),
            _ => false,
        },
    }
}

fn be32(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(data.get(at..at + 4)?.try_into().ok()?))
}

/// One framed message: its type (0 for the untyped startup family) and a capped body prefix.
struct Frame {
    kind: u8,
    body: Vec<u8>,
    /// Bytes of the whole message on the wire: type byte, length field and body.
    size: u64,
    start: ChunkMeta,
    end: ChunkMeta,
}

/// Splits one direction into messages, keeping at most a capped prefix of each body.
#[derive(Default)]
struct Framer {
    /// Header, then the kept body prefix, of the message being read.
    buf: Vec<u8>,
    /// Body bytes still to discard after the kept prefix.
    skip: usize,
    start: Option<ChunkMeta>,
    /// The next message has no type byte (StartupMessage, SSLRequest, …).
    untyped_next: bool,
    /// Framing was lost: look for a plausible header before reading again.
    lost: bool,
}

impl Framer {
    /// Splits `data` into frames; `single_byte_reply` reads one untyped byte first (the server's
    /// answer to SSLRequest/GSSENCRequest).
    fn feed(
        &mut self,
        dir: Direction,
        mut data: &[u8],
        meta: ChunkMeta,
        single_byte_reply: &mut bool,
        frames: &mut Vec<Frame>,
    ) {
        while !data.is_empty() {
            if self.skip > 0 {
                let take = self.skip.min(data.len());
                self.skip -= take;
                data = data.get(take..).unwrap_or_default();
                continue;
            }
            if self.buf.is_empty() {
                self.start = Some(meta);
                if std::mem::take(single_byte_reply) {
                    let (&byte, rest) = data.split_first().unwrap_or((&0, &[]));
                    frames.push(Frame {
                        kind: 0,
                        body: vec![byte],
                        size: 1,
                        start: meta,
                        end: meta,
                    });
                    data = rest;
                    continue;
                }
                if self.lost {
                    data = self.resync(dir, data);
                    continue;
                }
            }
            let header_len = if self.untyped_next { 4 } else { 5 };
            data = fill(&mut self.buf, header_len, data);
            let Some(len) = be32(&self.buf, header_len - 4).and_then(|l| usize::try_from(l).ok())
            else {
                return;
            };
            let kind = if self.untyped_next {
                0
            } else {
                self.buf.first().copied().unwrap_or(0)
            };
            let valid = if self.untyped_next {
                (8..=10_000).contains(&len)
            } else {
                plausible_header(dir, kind, len)
            };
            if !valid {
                self.buf.clear();
                self.lost = true;
                self.untyped_next = false;
                continue;
            }
            let body_len = len - 4;
            let keep = body_len.min(body_cap(dir, kind));
            data = fill(&mut self.buf, header_len + keep, data);
            if self.buf.len() < header_len + keep {
                return;
            }
            let body = self.buf.split_off(header_len);
            self.buf.clear();
            self.skip = body_len - keep;
            self.untyped_next = false;
            frames.push(Frame {
                kind,
                body,
                size: (header_len + body_len) as u64,
                start: self.start.take().unwrap_or(meta),
                end: meta,
            });
        }
    }

    /// Drops bytes up to the next plausible typed header (or keeps a short tail to decide later).
    fn resync<'a>(&mut self, dir: Direction, data: &'a [u8]) -> &'a [u8] {
        for at in 0..data.len() {
            // Fewer than a header's bytes left: they are dropped with the rest.
            let Some(header) = data.get(at..at + 5) else {
                return &[];
            };
            let len = be32(header, 1)
                .and_then(|l| usize::try_from(l).ok())
                .unwrap_or(0);
            if header
                .first()
                .is_some_and(|&kind| plausible_header(dir, kind, len) && len < MAX_SMALL)
            {
                self.lost = false;
                return data.get(at..).unwrap_or_default();
            }
        }
        &[]
    }
}

/// Appends to `buf` from `data` until `buf` holds `want` bytes; returns what is left of `data`.
fn fill<'a>(buf: &mut Vec<u8>, want: usize, data: &'a [u8]) -> &'a [u8] {
    let take = want.saturating_sub(buf.len()).min(data.len());
    let (now, rest) = data.split_at(take);
    buf.extend_from_slice(now);
    rest
}

/// How much of a message body is kept: SQL-bearing messages get more, row data nothing.
fn body_cap(dir: Direction, kind: u8) -> usize {
    match (dir, kind) {
        (Direction::ToServer, b'Q' | b'P') => MAX_SQL,
        (Direction::ToServer, 0 | b'B' | b'E') => MAX_SMALL,
        (Direction::ToClient, 0 | b'C' | b'E') => MAX_SMALL,
        _ => 0,
    }
}

/// What a request cycle is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CycleKind {
    Startup,
    Ssl,
    Simple,
    Extended,
    Function,
}

impl CycleKind {
    fn name(self) -> &'static str {
        match self {
            CycleKind::Startup => "startup",
            CycleKind::Ssl => "ssl",
            CycleKind::Simple => "simple",
            CycleKind::Extended => "extended",
            CycleKind::Function => "function",
        }
    }
}

/// A request cycle waiting for the server to finish it.
struct Pending {
    request: Message,
    /// Bytes of its frontend messages on the wire.
    size: u64,
    start: ChunkMeta,
    end: ChunkMeta,
    error: Option<String>,
}

/// What the server has said so far about the front cycle.
#[derive(Default)]
struct Reply {
    seen: bool,
    tag: Option<String>,
    rows: u64,
    error: Option<(String, String)>,
    end: Option<ChunkMeta>,
    /// Bytes of the backend messages so far.
    size: u64,
}

/// The extended-protocol messages sent since the last Sync.
struct Cycle {
    query: Option<String>,
    /// The named prepared statement it executes: all that names it when the statement was
    /// prepared before the capture began.
    statement: Option<String>,
    start: ChunkMeta,
    /// Bytes of its messages so far.
    size: u64,
}

/// Per-flow PostgreSQL state.
#[derive(Default)]
struct PostgresParser {
    client: Framer,
    server: Framer,
    first_client_bytes: bool,
    ssl_reply_expected: bool,
    /// TLS was accepted: the rest of the flow is encrypted.
    encrypted: bool,
    cycle: Option<Cycle>,
    statements: HashMap<String, String>,
    portals: HashMap<String, String>,
    pending: VecDeque<Pending>,
    reply: Reply,
    /// A client gap lost part of the next request.
    client_gap: bool,
}

impl Parser for PostgresParser {
    fn feed(&mut self, dir: Direction, data: &[u8], meta: ChunkMeta, out: &mut Vec<Exchange>) {
        if self.encrypted {
            return;
        }
        let mut frames = Vec::new();
        match dir {
            Direction::ToServer => {
                if !self.first_client_bytes {
                    self.first_client_bytes = true;
                    // A connection seen from its start opens with an untyped message.
                    self.client.untyped_next = be32(data, 4).is_some_and(|c| {
                        matches!(
                            c,
                            SSL_REQUEST | GSSENC_REQUEST | CANCEL_REQUEST | PROTOCOL_3
                        )
                    });
                }
                let mut no_reply = false;
                self.client
                    .feed(dir, data, meta, &mut no_reply, &mut frames);
                for frame in frames {
                    self.client_message(frame, out);
                }
            }
            Direction::ToClient => {
                let mut single = self.ssl_reply_expected;
                self.server.feed(dir, data, meta, &mut single, &mut frames);
                for frame in frames {
                    self.server_message(frame, out);
                }
            }
        }
    }

    fn gap(&mut self, dir: Direction, out: &mut Vec<Exchange>) {
        match dir {
            Direction::ToServer => {
                self.uncount_unseen_request_bytes();
                self.client = Framer {
                    lost: true,
                    ..Framer::default()
                };
                self.cycle = None;
                self.client_gap = true;
            }
            Direction::ToClient => {
                self.server = Framer {
                    lost: true,
                    ..Framer::default()
                };
                self.reply = Reply::default();
                for pending in self.pending.drain(..) {
                    out.push(unanswered(pending, "response lost in a capture gap"));
                }
            }
        }
    }

    fn close(&mut self, reason: &str, out: &mut Vec<Exchange>) {
        self.uncount_unseen_request_bytes();
        // The backend message being read when the flow ended never passed whole.
        let unseen = std::mem::take(&mut self.server.skip);
        self.reply.size = self.reply.size.saturating_sub(unseen as u64);
        if let Some(front) = self.pending.pop_front() {
            if self.reply.seen {
                // The server answered (e.g. a fatal error at startup) and closed without ReadyForQuery.
                let reply = std::mem::take(&mut self.reply);
                out.push(exchange(front, reply));
            } else {
                out.push(unanswered(
                    front,
                    &format!("no response before the flow ended ({reason})"),
                ));
            }
        }
        for pending in self.pending.drain(..) {
            out.push(unanswered(
                pending,
                &format!("no response before the flow ended ({reason})"),
            ));
        }
    }

    /// Cycles waiting for ReadyForQuery, the batch being sent, and messages half read.
    fn unfinished(&self) -> Unfinished {
        let waiting = self.pending.iter().map(|p| Some(p.start));
        let open = [
            self.cycle.as_ref().map(|c| c.start),
            self.client.start,
            self.server.start,
        ];
        Unfinished::earliest(waiting.chain(open))
    }
}

impl PostgresParser {
    fn client_message(&mut self, frame: Frame, out: &mut Vec<Exchange>) {
        let mut strings = frame
            .body
            .split(|&b| b == 0)
            .map(|s| String::from_utf8_lossy(s).into_owned());
        match frame.kind {
            0 => self.untyped(frame, out),
            b'Q' => {
                let mut request = Message::new();
                request.insert("query".into(), json!(strings.next().unwrap_or_default()));
                self.push(CycleKind::Simple, request, &frame, frame.start, out);
            }
            b'P' => {
                let name = strings.next().unwrap_or_default();
                let query = strings.next().unwrap_or_default();
                remember(&mut self.statements, name, query.clone());
                self.cycle_mut(&frame).query.get_or_insert(query);
            }
            b'B' => {
                let portal = strings.next().unwrap_or_default();
                let statement = strings.next().unwrap_or_default();
                let query = self.statements.get(&statement).cloned();
                // A Bind replaces the portal, so an unknown statement forgets the old SQL.
                match &query {
                    Some(query) => remember(&mut self.portals, portal, query.clone()),
                    None => {
                        self.portals.remove(&portal);
                    }
                }
                let cycle = self.cycle_mut(&frame);
                if cycle.query.is_none() {
                    cycle.query = query;
                }
                if !statement.is_empty() {
                    cycle.statement.get_or_insert(statement);
                }
            }
            b'E' => {
                let portal = strings.next().unwrap_or_default();
                let query = self.portals.get(&portal).cloned();
                let cycle = self.cycle_mut(&frame);
                if cycle.query.is_none() {
                    cycle.query = query;
                }
            }
            b'D' | b'C' | b'H' => {
                self.cycle_mut(&frame);
            }
            b'S' => {
                let cycle = self.cycle.take();
                let mut request = Message::new();
                if let Some(query) = cycle.as_ref().and_then(|c| c.query.clone()) {
                    request.insert("query".into(), json!(query));
                }
                if let Some(statement) = cycle.as_ref().and_then(|c| c.statement.clone()) {
                    request.insert("statement".into(), json!(statement));
                }
                let start = cycle.as_ref().map_or(frame.start, |c| c.start);
                let mut sync = frame;
                sync.size += cycle.map_or(0, |c| c.size);
                self.push(CycleKind::Extended, request, &sync, start, out);
            }
            b'F' => self.push(
                CycleKind::Function,
                Message::new(),
                &frame,
                frame.start,
                out,
            ),
            // Terminate, password and COPY data belong to no cycle of their own.
            _ => self.continue_cycle(frame.size),
        }
    }

    /// The frontend message being read will not pass whole (a gap, or the flow ended): its cycle
    /// counts only the bytes that did. An open cycle is dropped anyway; a message outside one
    /// belongs to the last cycle sent.
    fn uncount_unseen_request_bytes(&mut self) {
        let unseen = std::mem::take(&mut self.client.skip);
        if self.cycle.is_none()
            && let Some(last) = self.pending.back_mut()
        {
            last.size = last.size.saturating_sub(unseen as u64);
        }
    }

    /// Counts the bytes of a message that continues a cycle (password, COPY data) toward the open
    /// cycle, else the last one sent; with neither (Terminate after the last reply) they belong to
    /// no exchange.
    fn continue_cycle(&mut self, size: u64) {
        if let Some(cycle) = self.cycle.as_mut() {
            cycle.size += size;
        } else if let Some(last) = self.pending.back_mut() {
            last.size += size;
        }
    }

    /// StartupMessage, SSLRequest, GSSENCRequest or CancelRequest.
    fn untyped(&mut self, frame: Frame, out: &mut Vec<Exchange>) {
        let code = be32(&frame.body, 0).unwrap_or(0);
        let mut request = Message::new();
        match code {
            SSL_REQUEST | GSSENC_REQUEST => {
                request.insert(
                    "encryption".into(),
                    json!(if code == SSL_REQUEST { "ssl" } else { "gssapi" }),
                );
                self.ssl_reply_expected = true;
                self.client.untyped_next = true;
                self.push(CycleKind::Ssl, request, &frame, frame.start, out);
            }
            CANCEL_REQUEST => {
                request.insert("type".into(), json!("cancel"));
                request.insert("size".into(), json!(frame.size));
                // The server answers a cancel by closing the connection: nothing to pair with.
                out.push(Exchange {
                    protocol: "postgres",
                    request,
                    start: Some(frame.start),
                    end: Some(frame.end),
                    ..Exchange::default()
                });
            }
            _ => {
                let params: Vec<String> = frame
                    .body
                    .get(4..)
                    .unwrap_or_default()
                    .split(|&b| b == 0)
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .collect();
                for pair in params.chunks(2) {
                    if let [key, value] = pair
                        && matches!(key.as_str(), "user" | "database" | "application_name")
                    {
                        request.insert(key.clone(), json!(value));
                    }
                }
                request.insert(
                    "protocolVersion".into(),
                    json!(format!("{}.{}", code >> 16, code & 0xffff)),
                );
                self.push(CycleKind::Startup, request, &frame, frame.start, out);
            }
        }
    }

    /// The open extended-protocol cycle (opened by `frame` if none is), with `frame` counted in.
    fn cycle_mut(&mut self, frame: &Frame) -> &mut Cycle {
        let cycle = self.cycle.get_or_insert(Cycle {
            query: None,
            statement: None,
            start: frame.start,
            size: 0,
        });
        cycle.size += frame.size;
        cycle
    }

    /// Queues a request cycle that `last` (its final message, of `last.size` bytes counting the
    /// cycle's earlier messages) completes; it began with the packet of `start`.
    fn push(
        &mut self,
        kind: CycleKind,
        mut request: Message,
        last: &Frame,
        start: ChunkMeta,
        out: &mut Vec<Exchange>,
    ) {
        request.insert("type".into(), json!(kind.name()));
        if self.pending.len() >= MAX_PENDING
            && let Some(oldest) = self.pending.pop_front()
        {
            self.reply = Reply::default();
            out.push(unanswered(
                oldest,
                "no response (too many outstanding requests)",
            ));
        }
        let error = std::mem::take(&mut self.client_gap)
            .then(|| "request partly lost in a capture gap".to_string());
        self.pending.push_back(Pending {
            request,
            size: last.size,
            start,
            end: last.end,
            error,
        });
    }

    fn server_message(&mut self, frame: Frame, out: &mut Vec<Exchange>) {
        self.reply.size += frame.size;
        self.reply.seen = true;
        self.reply.end = Some(frame.end);
        match frame.kind {
            0 => {
                // The one-byte answer to SSLRequest/GSSENCRequest.
                self.ssl_reply_expected = false;
                let accepted = matches!(frame.body.first(), Some(b'S' | b'G'));
                self.encrypted = accepted;
                if let Some(front) = self.pending.pop_front() {
                    let mut reply = std::mem::take(&mut self.reply);
                    reply.tag = Some(if accepted { "accepted" } else { "refused" }.to_string());
                    out.push(exchange(front, reply));
                }
            }
            b'C' => {
                let tag = frame.body.split(|&b| b == 0).next().unwrap_or_default();
                self.reply.tag = Some(String::from_utf8_lossy(tag).into_owned());
            }
            b'D' => self.reply.rows = self.reply.rows.saturating_add(1),
            b'E' => self.reply.error = Some(error_fields(&frame.body)),
            b'Z' => {
                let reply = std::mem::take(&mut self.reply);
                match self.pending.pop_front() {
                    Some(front) => out.push(exchange(front, reply)),
                    None => out.push(Exchange {
                        protocol: "postgres",
                        response: response_fields(&reply),
                        error: Some(
                            "response without a request (capture started mid-connection?)".into(),
                        ),
                        start: Some(frame.start),
                        end: Some(frame.end),
                        ..Exchange::default()
                    }),
                }
            }
            // Notices and notifications are asynchronous; the rest only describe the reply.
            _ => {}
        }
    }
}

/// Remembers a statement or portal name, bounded: a connection that names without end starts over.
fn remember(names: &mut HashMap<String, String>, name: String, query: String) {
    if names.len() >= MAX_NAMES && !names.contains_key(&name) {
        names.clear();
    }
    names.insert(name, query);
}

/// SQLSTATE (`C`) and message (`M`) of an ErrorResponse body.
fn error_fields(body: &[u8]) -> (String, String) {
    let mut code = String::new();
    let mut message = String::new();
    for field in body.split(|&b| b == 0) {
        let Some((&kind, value)) = field.split_first() else {
            continue;
        };
        match kind {
            b'C' => code = String::from_utf8_lossy(value).into_owned(),
            b'M' => message = String::from_utf8_lossy(value).into_owned(),
            _ => {}
        }
    }
    (code, message)
}

fn response_fields(reply: &Reply) -> Message {
    let mut response = Message::new();
    response.insert("status".into(), json!(u8::from(reply.error.is_some())));
    if let Some(tag) = &reply.tag {
        response.insert("statusText".into(), json!(tag));
    }
    response.insert("rows".into(), json!(reply.rows));
    response.insert("size".into(), json!(reply.size));
    if let Some((code, message)) = &reply.error {
        response.insert("error".into(), json!(message));
        response.insert("code".into(), json!(code));
    }
    response
}

fn exchange(pending: Pending, reply: Reply) -> Exchange {
    Exchange {
        protocol: "postgres",
        response: response_fields(&reply),
        error: pending.error,
        start: Some(pending.start),
        end: Some(reply.end.unwrap_or(pending.end)),
        request: request_fields(pending.request, pending.size),
        ..Exchange::default()
    }
}

/// The request fields with the cycle's `size` on the wire.
fn request_fields(mut request: Message, size: u64) -> Message {
    request.insert("size".into(), json!(size));
    request
}

fn unanswered(pending: Pending, error: &str) -> Exchange {
    Exchange {
        protocol: "postgres",
        request: request_fields(pending.request, pending.size),
        error: Some(pending.error.unwrap_or_else(|| error.to_string())),
        start: Some(pending.start),
        end: Some(pending.end),
        ..Exchange::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::test_support::{META, feed_in_pieces, sizes};

    /// A typed message: type byte, length (including itself), body.
    fn msg(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![kind];
        out.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
        out.extend_from_slice(body);
        out
    }

    fn startup(params: &[u8]) -> Vec<u8> {
        let mut out = (params.len() as u32 + 8).to_be_bytes().to_vec();
        out.extend_from_slice(&PROTOCOL_3.to_be_bytes());
        out.extend_from_slice(params);
        out
    }

    fn run(steps: &[(Direction, Vec<u8>)]) -> Vec<Exchange> {
        let mut parser = PostgresDissector.parser(&ParserSettings::default());
        let mut out = Vec::new();
        for (dir, bytes) in steps {
            parser.feed(*dir, bytes, META, &mut out);
        }
        parser.close("FIN", &mut out);
        out
    }

    fn ready() -> Vec<u8> {
        msg(b'Z', b"I")
    }

    #[test]
    fn ssl_refused_then_startup_then_query() {
        let ssl = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f].to_vec();
        let server = [
            msg(b'R', &[0, 0, 0, 0]),
            msg(b'S', b"server_version\x0016.2\x00"),
            ready(),
        ]
        .concat();
        let out = run(&[
            (Direction::ToServer, ssl),
            (Direction::ToClient, b"N".to_vec()),
            (
                Direction::ToServer,
                startup(b"user\x00app\x00database\x00shop\x00\x00"),
            ),
            (Direction::ToClient, server),
            (Direction::ToServer, msg(b'Q', b"select 1\x00")),
            (
                Direction::ToClient,
                [
                    msg(b'D', b"\x00\x01\x00\x00\x00\x011"),
                    msg(b'C', b"SELECT 1\x00"),
                    ready(),
                ]
                .concat(),
            ),
        ]);
        let kinds: Vec<_> = out.iter().map(|e| e.request.get("type").cloned()).collect();
        assert_eq!(
            kinds,
            [
                Some(json!("ssl")),
                Some(json!("startup")),
                Some(json!("simple"))
            ]
        );
        assert_eq!(out[0].response.get("statusText"), Some(&json!("refused")));
        assert_eq!(out[1].request.get("user"), Some(&json!("app")));
        assert_eq!(out[1].request.get("database"), Some(&json!("shop")));
        assert_eq!(out[2].response.get("rows"), Some(&json!(1)));
        assert!(out.iter().all(|e| e.error.is_none()));
    }

    #[test]
    fn accepted_ssl_stops_dissection() {
        let ssl = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f].to_vec();
        let out = run(&[
            (Direction::ToServer, ssl),
            (Direction::ToClient, b"S".to_vec()),
            (
                Direction::ToServer,
                b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03".to_vec(),
            ),
        ]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].response.get("statusText"), Some(&json!("accepted")));
    }

    #[test]
    fn fatal_startup_error_without_ready_for_query_is_reported_on_close() {
        let out = run(&[
            (Direction::ToServer, startup(b"user\x00bob\x00\x00")),
            (
                Direction::ToClient,
                msg(
                    b'E',
                    b"SFATAL\x00C28P01\x00Mpassword authentication failed\x00\x00",
                ),
            ),
        ]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].response.get("code"), Some(&json!("28P01")));
        assert_eq!(out[0].response.get("status"), Some(&json!(1)));
    }

    #[test]
    fn pipelined_syncs_pair_in_order_and_named_statements_are_remembered() {
        let client = [
            msg(b'P', b"s1\x00select $1\x00\x00\x00"),
            msg(b'B', b"\x00s1\x00\x00\x00\x00\x00\x00\x00"),
            msg(b'E', b"\x00\x00\x00\x00\x00"),
            msg(b'S', b""),
            msg(b'B', b"p2\x00s1\x00\x00\x00\x00\x00\x00\x00"),
            msg(b'E', b"p2\x00\x00\x00\x00\x00"),
            msg(b'S', b""),
        ]
        .concat();
        let error = msg(b'E', b"SERROR\x00C22P02\x00Minvalid input\x00\x00");
        let server = [
            msg(b'1', b""),
            msg(b'2', b""),
            msg(b'C', b"SELECT 1\x00"),
            ready(),
            msg(b'2', b""),
            error,
            ready(),
        ]
        .concat();
        let out = run(&[(Direction::ToServer, client), (Direction::ToClient, server)]);
        let queries: Vec<_> = out
            .iter()
            .map(|e| e.request.get("query").cloned())
            .collect();
        assert_eq!(
            queries,
            [Some(json!("select $1")), Some(json!("select $1"))]
        );
        assert_eq!(out[0].response.get("status"), Some(&json!(0)));
        assert_eq!(out[1].response.get("error"), Some(&json!("invalid input")));
    }

    #[test]
    fn a_statement_prepared_before_the_capture_is_named_by_the_batch_that_binds_it() {
        // Joined mid-connection: S_18 was parsed before the capture began; S_20 is parsed in it.
        let client = [
            msg(b'B', b"\x00S_18\x00\x00\x00\x00\x00\x00\x00"),
            msg(b'E', b"\x00\x00\x00\x00\x00"),
            msg(b'S', b""),
            msg(b'P', b"S_20\x00select 2\x00\x00\x00"),
            msg(b'B', b"\x00S_20\x00\x00\x00\x00\x00\x00\x00"),
            msg(b'E', b"\x00\x00\x00\x00\x00"),
            msg(b'S', b""),
        ]
        .concat();
        let done = [msg(b'2', b""), msg(b'C', b"SELECT 1\x00"), ready()].concat();
        let out = run(&[
            (Direction::ToServer, client),
            (Direction::ToClient, [done.clone(), done].concat()),
        ]);
        let named: Vec<_> = out
            .iter()
            .map(|e| {
                (
                    e.request.get("statement").cloned(),
                    e.request.get("query").cloned(),
                )
            })
            .collect();
        assert_eq!(
            named,
            [
                (Some(json!("S_18")), None),
                (Some(json!("S_20")), Some(json!("select 2")))
            ]
        );
    }

    #[test]
    fn every_exchange_counts_its_messages_on_the_wire_however_fragmented() {
        let startup = startup(b"user\x00app\x00\x00");
        let password = msg(b'p', b"md5abc\x00");
        let auth = [msg(b'R', &[0, 0, 0, 5, 1, 2, 3, 4])];
        let welcome = [
            msg(b'R', &[0, 0, 0, 0]),
            msg(b'S', b"server_version\x0016.2\x00"),
            msg(b'K', &[0, 0, 0, 7, 0, 0, 0, 9]),
            ready(),
        ];
        let first_cycle = [
            msg(b'P', b"s1\x00select $1\x00\x00\x00"),
            msg(b'B', b"\x00s1\x00\x00\x00\x00\x00\x00\x00"),
            msg(b'E', b"\x00\x00\x00\x00\x00"),
            msg(b'S', b""),
        ];
        let second_cycle = [
            msg(b'B', b"p2\x00s1\x00\x00\x00\x00\x00\x00\x00"),
            msg(b'E', b"p2\x00\x00\x00\x00\x00"),
            msg(b'S', b""),
        ];
        let first_reply = [
            msg(b'1', b""),
            msg(b'2', b""),
            msg(b'C', b"SELECT 1\x00"),
            ready(),
        ];
        let second_reply = [msg(b'2', b""), msg(b'C', b"SELECT 1\x00"), ready()];
        let bytes = |messages: &[Vec<u8>]| messages.iter().map(Vec::len).sum::<usize>();
        let expected = [
            (
                startup.len() + password.len(),
                bytes(&auth) + bytes(&welcome),
            ),
            (bytes(&first_cycle), bytes(&first_reply)),
            (bytes(&second_cycle), bytes(&second_reply)),
        ]
        .map(|(request, response)| (Some(json!(request)), Some(json!(response))));
        let steps = [
            (Direction::ToClient, auth.concat()),
            (Direction::ToServer, password.clone()),
            (Direction::ToClient, welcome.concat()),
            (
                Direction::ToServer,
                [first_cycle.concat(), second_cycle.concat()].concat(),
            ),
            (
                Direction::ToClient,
                [first_reply.concat(), second_reply.concat()].concat(),
            ),
        ];
        for piece in [1, 3, 7, usize::MAX] {
            let mut parser = PostgresDissector.parser(&ParserSettings::default());
            let mut out = Vec::new();
            // The first client bytes tell a connection's start: they arrive whole, as from TCP.
            parser.feed(Direction::ToServer, &startup, META, &mut out);
            for (dir, step) in &steps {
                feed_in_pieces(parser.as_mut(), *dir, step, piece, &mut out);
            }
            let sizes = sizes(&out);
            assert_eq!(sizes, expected, "pieces of {piece} bytes");
        }
    }

    #[test]
    fn a_reply_cut_off_by_the_end_of_the_flow_counts_the_bytes_that_passed() {
        let query = msg(b'Q', b"select blob from t\x00");
        let row = msg(b'D', &[7; 5000]);
        let arrived = [
            msg(b'T', b"\x00\x00"),
            row.get(..1200).unwrap_or_default().to_vec(),
        ]
        .concat();
        let out = run(&[
            (Direction::ToServer, query.clone()),
            (Direction::ToClient, arrived.clone()),
        ]);
        let sizes = sizes(&out);
        assert_eq!(
            sizes,
            [(Some(json!(query.len())), Some(json!(arrived.len())))]
        );
    }

    #[test]
    fn huge_data_rows_are_counted_not_buffered() {
        let mut parser = PostgresDissector.parser(&ParserSettings::default());
        let mut out = Vec::new();
        parser.feed(
            Direction::ToServer,
            &msg(b'Q', b"select blob from t\x00"),
            META,
            &mut out,
        );
        let row_len: u32 = 50 << 20;
        let mut header = vec![b'D'];
        header.extend_from_slice(&(row_len + 4).to_be_bytes());
        let block = vec![0u8; 1 << 20];
        for _ in 0..3 {
            parser.feed(Direction::ToClient, &header, META, &mut out);
            for _ in 0..50 {
                parser.feed(Direction::ToClient, &block, META, &mut out);
            }
        }
        parser.feed(
            Direction::ToClient,
            &[msg(b'C', b"SELECT 3\x00"), ready()].concat(),
            META,
            &mut out,
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].response.get("rows"), Some(&json!(3)));
        assert_eq!(out[0].response.get("statusText"), Some(&json!("SELECT 3")));
    }

    #[test]
    fn server_gap_reports_waiting_cycles_and_resynchronises() {
        let mut parser = PostgresDissector.parser(&ParserSettings::default());
        let mut out = Vec::new();
        parser.feed(
            Direction::ToServer,
            &msg(b'Q', b"select 1\x00"),
            META,
            &mut out,
        );
        parser.feed(
            Direction::ToClient,
            &msg(b'T', b"\x00\x01abc")[..6],
            META,
            &mut out,
        );
        parser.gap(Direction::ToClient, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].error.as_deref(),
            Some("response lost in a capture gap")
        );
        parser.feed(
            Direction::ToServer,
            &msg(b'Q', b"select 2\x00"),
            META,
            &mut out,
        );
        parser.feed(
            Direction::ToClient,
            &[b"garbage".to_vec(), msg(b'C', b"SELECT 1\x00"), ready()].concat(),
            META,
            &mut out,
        );
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].request.get("query"), Some(&json!("select 2")));
        assert_eq!(out[1].response.get("statusText"), Some(&json!("SELECT 1")));
    }

    #[test]
    fn probe_recognises_startup_queries_and_replies() {
        assert_eq!(
            PostgresDissector.probe(&startup(b"user\x00a\x00\x00"), Direction::ToServer),
            Confidence::Yes
        );
        assert_eq!(
            PostgresDissector.probe(&msg(b'Q', b"select 1\x00"), Direction::ToServer),
            Confidence::Yes
        );
        assert_eq!(
            PostgresDissector.probe(&msg(b'P', b"\x00select 1\x00\x00\x00"), Direction::ToServer),
            Confidence::Yes
        );
        assert_eq!(
            PostgresDissector.probe(b"POST / HTTP/1.1\r\n", Direction::ToServer),
            Confidence::No
        );
        assert_eq!(
            PostgresDissector.probe(b"PUT /x HTTP/1.1\r\n", Direction::ToServer),
            Confidence::No
        );
        assert_eq!(
            PostgresDissector.probe(&ready(), Direction::ToClient),
            Confidence::Yes
        );
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut seed = 0x1234_5678_u32;
        for len in 0..300 {
            let bytes: Vec<u8> = (0..len)
                .map(|i| {
                    seed ^= seed << 13;
                    seed ^= seed >> 17;
                    seed ^= seed << 5;
                    // Mostly small values so that lengths and types are often plausible.
                    if i % 5 == 0 {
                        b"QPBESDCZ123"[(seed % 11) as usize]
                    } else {
                        (seed % 16) as u8
                    }
                })
                .collect();
            let _ = PostgresDissector.probe(&bytes, Direction::ToServer);
            let _ = run(&[
                (Direction::ToServer, bytes.clone()),
                (Direction::ToClient, bytes),
            ]);
        }
    }
}
