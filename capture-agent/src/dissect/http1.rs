//! HTTP/1.0 and HTTP/1.1: requests and responses paired in order (keep-alive and pipelining),
//! bodies framed by Content-Length, chunked transfer coding or the end of the connection, no body
//! for HEAD, 1xx, 204 and 304, interim `100 Continue` skipped, bodies shown as
//! [`body`](super::body) says (codings undone, text or base64, capped), and `101 Switching
//! Protocols` to h2c handed over to the HTTP/2 parser, whose stream 1 takes the upgrade request's
//! fields.

use std::collections::VecDeque;

use serde_json::Value;
use shark_store::Message;

use super::body::write_body;
use super::{ChunkMeta, Confidence, Direction, Dissector, Exchange, Parser, ParserSettings};

/// A header block larger than this is not HTTP (or is hostile): resynchronise.
const MAX_HEADER_BLOCK: usize = 64 << 10;
/// Most headers one message may carry.
const MAX_HEADERS: usize = 128;
/// Requests waiting for responses; past this the oldest is given up (a hostile or one-sided flow).
const MAX_PENDING: usize = 1024;
/// Bytes held from the client while an `Upgrade` request waits for its answer.
const MAX_HELD_UPGRADE: usize = 64 << 10;

const METHODS: &[&str] = &[
    "GET",
    "POST",
    "PUT",
    "DELETE",
    "HEAD",
    "OPTIONS",
    "PATCH",
    "CONNECT",
    "TRACE",
    "PROPFIND",
    "PROPPATCH",
    "MKCOL",
    "COPY",
    "MOVE",
    "LOCK",
    "UNLOCK",
    "REPORT",
    "SEARCH",
    "PURGE",
];

/// HTTP/1.x.
#[derive(Debug, Clone, Copy, Default)]
pub struct Http1Dissector;

impl Dissector for Http1Dissector {
    fn name(&self) -> &'static str {
        "http"
    }

    fn ports(&self) -> &'static [u16] {
        &[80, 8080, 8888, 3000, 5000]
    }

    fn probe(&self, data: &[u8], dir: Direction) -> Confidence {
        match dir {
            Direction::ToServer => probe_request(data),
            Direction::ToClient => probe_response(data),
        }
    }

    fn parser(&self, settings: &ParserSettings) -> Box<dyn Parser> {
        Box::new(Http1Parser {
            settings: *settings,
            ..Http1Parser::default()
        })
    }
}

fn probe_request(data: &[u8]) -> Confidence {
    let line_end = data.iter().position(|&b| b == b'\n');
    let line = line_end.and_then(|end| data.get(..end)).unwrap_or(data);
    let Some(space) = line.iter().position(|&b| b == b' ') else {
        let partial = line.len() < 10 && METHODS.iter().any(|m| m.as_bytes().starts_with(line));
        return if partial && line_end.is_none() {
            Confidence::NeedMore
        } else {
            Confidence::No
        };
    };
    if !METHODS
        .iter()
        .any(|m| m.as_bytes() == line.get(..space).unwrap_or_default())
    {
        return Confidence::No;
    }
    match line_end {
        None if data.len() < MAX_HEADER_BLOCK => Confidence::NeedMore,
        None => Confidence::No,
        Some(_) => {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.ends_with(b" HTTP/1.1") || line.ends_with(b" HTTP/1.0") {
                Confidence::Yes
            } else {
                Confidence::No
            }
        }
    }
}

fn probe_response(data: &[u8]) -> Confidence {
    const START: &[u8] = b"HTTP/1.";
    if data.len() < START.len() {
        if START.starts_with(data) {
            Confidence::NeedMore
        } else {
            Confidence::No
        }
    } else if data.starts_with(START) {
        Confidence::Yes
    } else {
        Confidence::No
    }
}

/// How a message body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// This many bytes remain.
    Length(u64),
    /// Chunked transfer coding, in this part of a chunk.
    Chunked(ChunkPart),
    /// Everything until the connection closes.
    UntilClose,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChunkPart {
    /// Reading a chunk-size line.
    Size,
    /// Inside chunk data, this many bytes remain.
    Data(u64),
    /// The CRLF after chunk data.
    DataEnd,
    /// Trailer lines after the last chunk, up to an empty line.
    Trailers,
}

/// A message being read or waiting to be paired.
#[derive(Debug, Clone, Default)]
struct Msg {
    fields: Message,
    version: &'static str,
    method: String,
    status: u16,
    body: Vec<u8>,
    size: u64,
    encoding: Option<String>,
    start: Option<ChunkMeta>,
    end: Option<ChunkMeta>,
    error: Option<String>,
    upgrade: Option<String>,
}

impl Msg {
    /// Counts `bytes` into the body's size, keeping them up to `max_body` bytes in all.
    fn take_body(&mut self, bytes: &[u8], meta: ChunkMeta, max_body: usize) {
        self.size += bytes.len() as u64;
        let room = max_body.saturating_sub(self.body.len());
        self.body
            .extend_from_slice(bytes.get(..room.min(bytes.len())).unwrap_or_default());
        self.end = Some(meta);
    }

    /// The message's fields, with its body decoded for display (at most `max_body` bytes).
    fn into_fields(mut self, max_body: usize) -> Message {
        if self.size > 0 || !self.body.is_empty() {
            let complete = self.body.len() as u64 == self.size;
            write_body(
                &mut self.fields,
                &self.body,
                complete,
                self.encoding.as_deref(),
                max_body,
            );
        }
        self.fields.insert("size".into(), self.size.into());
        self.fields
    }
}

/// What one direction's reader is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for (or inside) a header block.
    Headers,
    /// Inside a body.
    Body(Framing),
    /// Lost track (gap or malformed bytes): looking for the next message start.
    Resync,
}

/// One direction: buffered bytes and where the reader is.
#[derive(Debug)]
struct Side {
    buf: Vec<u8>,
    /// Bytes of `buf` already consumed.
    pos: usize,
    state: State,
    /// Packet of the oldest unconsumed byte carried over from an earlier chunk.
    carried: Option<ChunkMeta>,
    /// The message whose body is being read.
    current: Option<Box<Msg>>,
}

impl Default for Side {
    fn default() -> Self {
        Side {
            buf: Vec::new(),
            pos: 0,
            state: State::Headers,
            carried: None,
            current: None,
        }
    }
}

impl Side {
    fn rest(&self) -> &[u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }

    /// Meta of the byte at `pos`: a carried byte or one of the current chunk.
    fn meta_here(&self, carried_len: usize, meta: ChunkMeta) -> ChunkMeta {
        match self.carried {
            Some(old) if self.pos < carried_len => old,
            _ => meta,
        }
    }

    /// Drops consumed bytes and remembers which packet the rest came from.
    fn compact(&mut self, meta: ChunkMeta) {
        if self.pos >= self.buf.len() {
            // Release the allocation: idle connections are the common case and must stay small.
            self.buf = Vec::new();
            self.carried = None;
        } else {
            if self.pos > 0 {
                self.buf.drain(..self.pos);
            }
            self.carried = Some(self.carried.unwrap_or(meta));
        }
        self.pos = 0;
    }
}

/// Per-connection HTTP/1 state.
#[derive(Default)]
struct Http1Parser {
    /// What is kept of bodies; handed on to HTTP/2 after an h2c upgrade.
    settings: ParserSettings,
    requests: Side,
    responses: Side,
    /// Requests whose headers were read, oldest first, waiting for their responses.
    pending: VecDeque<Msg>,
    /// The back of `pending` is still receiving its body.
    request_body_open: bool,
    /// Client bytes held while an `Upgrade` request waits for its response.
    held: Option<Vec<(Vec<u8>, ChunkMeta)>>,
    /// After a protocol switch: the parser that takes over, if any.
    upgraded: Option<Box<dyn Parser>>,
    /// The connection switched to a protocol not dissected here (WebSocket, a CONNECT tunnel).
    opaque: bool,
}

impl Parser for Http1Parser {
    fn feed(&mut self, dir: Direction, data: &[u8], meta: ChunkMeta, out: &mut Vec<Exchange>) {
        if let Some(next) = &mut self.upgraded {
            return next.feed(dir, data, meta, out);
        }
        if self.opaque {
            return;
        }
        match dir {
            Direction::ToServer => {
                if let Some(held) = &mut self.held {
                    if held.iter().map(|(b, _)| b.len()).sum::<usize>() < MAX_HELD_UPGRADE {
                        held.push((data.to_vec(), meta));
                    }
                    return;
                }
                self.read_requests(data, meta, out);
            }
            Direction::ToClient => self.read_responses(data, meta, out),
        }
    }

    fn gap(&mut self, dir: Direction, out: &mut Vec<Exchange>) {
        if let Some(next) = &mut self.upgraded {
            return next.gap(dir, out);
        }
        let lost = "bytes lost in capture";
        match dir {
            Direction::ToServer => {
                if self.request_body_open {
                    if let Some(request) = self.pending.back_mut() {
                        request.error.get_or_insert_with(|| lost.to_string());
                    }
                    self.request_body_open = false;
                }
                reset_side(&mut self.requests);
            }
            Direction::ToClient => {
                if let Some(mut response) = self.responses.current.take() {
                    response.error = Some(lost.to_string());
                    self.complete_response(*response, out);
                }
                reset_side(&mut self.responses);
            }
        }
    }

    fn close(&mut self, reason: &str, out: &mut Vec<Exchange>) {
        if let Some(next) = &mut self.upgraded {
            return next.close(reason, out);
        }
        if let (Some(mut response), State::Body(framing)) =
            (self.responses.current.take(), self.responses.state)
        {
            if framing != Framing::UntilClose || reason != "closed" {
                response.error = Some(format!("response cut off ({reason})"));
            }
            self.complete_response(*response, out);
        }
        while let Some(request) = self.pending.pop_front() {
            let error = request
                .error
                .clone()
                .unwrap_or_else(|| format!("no response ({reason})"));
            out.push(exchange(Some(request), None, Some(error), &self.settings));
        }
    }
}

fn reset_side(side: &mut Side) {
    side.buf.clear();
    side.pos = 0;
    side.carried = None;
    side.current = None;
    side.state = State::Resync;
}

impl Http1Parser {
    fn read_requests(&mut self, data: &[u8], meta: ChunkMeta, out: &mut Vec<Exchange>) {
        let carried_len = self.requests.buf.len();
        self.requests.buf.extend_from_slice(data);
        loop {
            match self.requests.state {
                State::Resync => {
                    if !resync(&mut self.requests, is_request_start) {
                        break;
                    }
                }
                State::Headers => {
                    let start = self.requests.meta_here(carried_len, meta);
                    match parse_request(self.requests.rest()) {
                        Parsed::Partial => {
                            if self.requests.rest().len() > MAX_HEADER_BLOCK {
                                self.malformed(
                                    Direction::ToServer,
                                    "request header block too large",
                                    start,
                                    out,
                                );
                            }
                            break;
                        }
                        Parsed::Invalid(why) => {
                            self.malformed(Direction::ToServer, why, start, out)
                        }
                        Parsed::Done(used, mut request, framing) => {
                            self.requests.pos += used;
                            request.start = Some(start);
                            request.end = Some(meta);
                            let upgrade = request.upgrade.is_some();
                            if self.pending.len() >= MAX_PENDING
                                && let Some(oldest) = self.pending.pop_front()
                            {
                                out.push(exchange(
                                    Some(oldest),
                                    None,
                                    Some("no response (too many requests waiting)".into()),
                                    &self.settings,
                                ));
                            }
                            self.pending.push_back(*request);
                            match framing {
                                Some(framing) => {
                                    self.request_body_open = true;
                                    self.requests.state = State::Body(framing);
                                }
                                None => self.request_body_open = false,
                            }
                            if upgrade && framing.is_none() {
                                // Whatever follows depends on the server's answer: hold it.
                                let rest = self.requests.rest().to_vec();
                                self.requests.buf.clear();
                                self.requests.pos = 0;
                                self.held = Some(if rest.is_empty() {
                                    Vec::new()
                                } else {
                                    vec![(rest, meta)]
                                });
                                return;
                            }
                        }
                    }
                }
                State::Body(framing) => {
                    let target = if self.request_body_open {
                        self.pending.back_mut()
                    } else {
                        None
                    };
                    let mut scratch = Msg::default();
                    let target = target.unwrap_or(&mut scratch);
                    let max_body = self.settings.max_body;
                    match read_body(&mut self.requests, framing, target, meta, max_body) {
                        BodyStep::NeedMore => break,
                        BodyStep::Done => {
                            self.request_body_open = false;
                            self.requests.state = State::Headers;
                        }
                        BodyStep::Invalid(why) => {
                            if let Some(request) =
                                self.pending.back_mut().filter(|_| self.request_body_open)
                            {
                                request.error = Some(why.to_string());
                            }
                            self.request_body_open = false;
                            self.requests.state = State::Resync;
                        }
                    }
                }
            }
        }
        self.requests.compact(meta);
    }

    fn read_responses(&mut self, data: &[u8], meta: ChunkMeta, out: &mut Vec<Exchange>) {
        let carried_len = self.responses.buf.len();
        self.responses.buf.extend_from_slice(data);
        loop {
            match self.responses.state {
                State::Resync => {
                    if !resync(&mut self.responses, is_response_start) {
                        break;
                    }
                }
                State::Headers => {
                    let start = self.responses.meta_here(carried_len, meta);
                    let request_method = self
                        .pending
                        .front()
                        .map(|r| r.method.as_str())
                        .unwrap_or("");
                    match parse_response(self.responses.rest(), request_method) {
                        Parsed::Partial => {
                            if self.responses.rest().len() > MAX_HEADER_BLOCK {
                                self.malformed(
                                    Direction::ToClient,
                                    "response header block too large",
                                    start,
                                    out,
                                );
                            }
                            break;
                        }
                        Parsed::Invalid(why) => {
                            self.malformed(Direction::ToClient, why, start, out)
                        }
                        Parsed::Done(used, mut response, framing) => {
                            self.responses.pos += used;
                            response.start = Some(start);
                            response.end = Some(meta);
                            if (100..200).contains(&response.status) && response.status != 101 {
                                continue; // interim response (100 Continue, 103 Early Hints)
                            }
                            match framing {
                                Some(framing) => {
                                    self.responses.current = Some(response);
                                    self.responses.state = State::Body(framing);
                                }
                                None => {
                                    let switching = response.status == 101
                                        || (response.status / 100 == 2
                                            && self
                                                .pending
                                                .front()
                                                .is_some_and(|r| r.method == "CONNECT"));
                                    let upgrade = response.upgrade.clone();
                                    let upgrading = if switching {
                                        self.pending.front().cloned()
                                    } else {
                                        None
                                    };
                                    self.complete_response(*response, out);
                                    if switching {
                                        let rest = self.responses.rest().to_vec();
                                        let upgrade = upgrade.as_deref().zip(Some(upgrading));
                                        self.switch_protocol(upgrade, rest, meta, out);
                                        return;
                                    }
                                    self.release_held(out);
                                }
                            }
                        }
                    }
                }
                State::Body(framing) => {
                    let Some(mut response) = self.responses.current.take() else {
                        self.responses.state = State::Headers;
                        continue;
                    };
                    let max_body = self.settings.max_body;
                    match read_body(&mut self.responses, framing, &mut response, meta, max_body) {
                        BodyStep::NeedMore => {
                            self.responses.current = Some(response);
                            break;
                        }
                        BodyStep::Done => {
                            self.responses.state = State::Headers;
                            self.complete_response(*response, out);
                            self.release_held(out);
                        }
                        BodyStep::Invalid(why) => {
                            response.error = Some(why.to_string());
                            self.responses.state = State::Resync;
                            self.complete_response(*response, out);
                        }
                    }
                }
            }
        }
        self.responses.compact(meta);
    }

    /// Pairs a finished response with the oldest waiting request (or with a request whose header
    /// block never arrived whole, as when the capture holds only its first segment).
    fn complete_response(&mut self, response: Msg, out: &mut Vec<Exchange>) {
        let request = self.pending.pop_front().or_else(|| self.cut_off_request());
        if request.is_some() && self.pending.is_empty() && self.request_body_open {
            // The server answered before the request body ended; the rest of it is skipped.
            self.request_body_open = false;
        }
        let error = match &request {
            Some(r) => r.error.clone().or_else(|| response.error.clone()),
            None => Some(response.error.clone().unwrap_or_else(|| {
                "response without a request (capture joined mid-connection)".into()
            })),
        };
        out.push(exchange(request, Some(response), error, &self.settings));
    }

    /// The request whose header block is still incomplete, from its request line; the rest of
    /// its bytes are skipped.
    fn cut_off_request(&mut self) -> Option<Msg> {
        if self.requests.state != State::Headers
            || probe_request(self.requests.rest()) != Confidence::Yes
        {
            return None;
        }
        let rest = self.requests.rest();
        let line = rest.split(|&b| b == b'\n').next().unwrap_or_default();
        let line = String::from_utf8_lossy(line);
        let mut words = line.split_whitespace();
        let (method, target, version_text) = (words.next()?, words.next()?, words.next()?);
        let (host, url, path, query) = locate(target, None);
        let mut msg = Msg {
            version: if version_text == "HTTP/1.0" {
                "1.0"
            } else {
                "1.1"
            },
            method: method.to_string(),
            start: self.requests.carried,
            end: self.requests.carried,
            error: Some("request headers cut off (bytes missing from the capture)".into()),
            ..Default::default()
        };
        msg.fields.insert("method".into(), method.into());
        msg.fields.insert("path".into(), path.into());
        msg.fields.insert("url".into(), url.into());
        msg.fields.insert("host".into(), host.into());
        msg.fields.insert("query".into(), Value::Object(query));
        reset_side(&mut self.requests);
        Some(msg)
    }

    /// A non-101 answer to an upgrade request: the held client bytes are HTTP/1 after all.
    fn release_held(&mut self, out: &mut Vec<Exchange>) {
        if let Some(held) = self.held.take() {
            for (bytes, meta) in held {
                self.read_requests(&bytes, meta, out);
            }
        }
    }

    /// After `101 Switching Protocols` (or a CONNECT tunnel): hands the connection over.
    /// `upgrade` is the protocol switched to, with the request that asked for it (when seen).
    fn switch_protocol(
        &mut self,
        upgrade: Option<(&str, Option<Msg>)>,
        server_rest: Vec<u8>,
        meta: ChunkMeta,
        out: &mut Vec<Exchange>,
    ) {
        let held = self.held.take().unwrap_or_default();
        let next = upgrade
            .filter(|(protocol, _)| protocol.eq_ignore_ascii_case("h2c"))
            .map(|(_, request)| {
                let start = request.as_ref().and_then(|r| r.start);
                let fields = request
                    .map(|r| r.into_fields(self.settings.max_body))
                    .unwrap_or_default();
                super::http2::parser_after_upgrade(fields, start, &self.settings)
            });
        self.requests = Side::default();
        self.responses = Side::default();
        match next {
            Some(mut parser) => {
                for (bytes, held_meta) in held {
                    parser.feed(Direction::ToServer, &bytes, held_meta, out);
                }
                if !server_rest.is_empty() {
                    parser.feed(Direction::ToClient, &server_rest, meta, out);
                }
                self.upgraded = Some(parser);
            }
            None => self.opaque = true,
        }
    }

    /// Bytes that are not HTTP where a message should start: one exchange with the error, then resync.
    fn malformed(&mut self, dir: Direction, why: &str, at: ChunkMeta, out: &mut Vec<Exchange>) {
        let side = match dir {
            Direction::ToServer => &mut self.requests,
            Direction::ToClient => &mut self.responses,
        };
        side.pos += 1;
        side.state = State::Resync;
        let what = match dir {
            Direction::ToServer => "request",
            Direction::ToClient => "response",
        };
        out.push(Exchange {
            protocol: "http",
            version: String::new(),
            error: Some(format!("malformed HTTP/1 {what}: {why}")),
            start: Some(at),
            end: Some(at),
            ..Default::default()
        });
    }
}

/// Skips to the next plausible message start; `false` when none is in the buffer yet.
fn resync(side: &mut Side, is_start: fn(&[u8]) -> bool) -> bool {
    let rest = side.rest();
    let mut at = 0;
    while at < rest.len() {
        if (at == 0 || rest.get(at - 1) == Some(&b'\n')) && rest.get(at..).is_some_and(is_start) {
            side.pos += at;
            side.state = State::Headers;
            return true;
        }
        at += 1;
    }
    // Keep a short tail: a start may straddle the chunk boundary.
    let keep = rest.len().min(16);
    side.pos += rest.len() - keep;
    false
}

fn is_request_start(data: &[u8]) -> bool {
    probe_request(data) == Confidence::Yes
}

fn is_response_start(data: &[u8]) -> bool {
    data.starts_with(b"HTTP/1.")
}

enum Parsed {
    Partial,
    Invalid(&'static str),
    /// Header block length, the message, and its body framing (`None`: no body).
    Done(usize, Box<Msg>, Option<Framing>),
}

fn parse_request(data: &[u8]) -> Parsed {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let used = match request.parse(data) {
        Ok(httparse::Status::Complete(used)) => used,
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        Err(e) => return Parsed::Invalid(parse_error(e)),
    };
    let method = request.method.unwrap_or_default().to_string();
    let target = request.path.unwrap_or_default();
    let mut msg = Msg {
        version: version(request.version),
        method: method.clone(),
        ..Default::default()
    };
    let (headers, info) = header_map(request.headers);
    let (host, url, path, query) = locate(target, info.host.as_deref());
    msg.fields.insert("method".into(), method.into());
    msg.fields.insert("path".into(), path.into());
    msg.fields.insert("url".into(), url.into());
    msg.fields.insert("host".into(), host.into());
    msg.fields.insert("query".into(), Value::Object(query));
    msg.fields.insert("headers".into(), Value::Object(headers));
    msg.encoding = info.encoding.clone();
    msg.upgrade = info.upgrade.clone();
    let framing = if info.chunked {
        Some(Framing::Chunked(ChunkPart::Size))
    } else {
        match info.length {
            Some(Err(())) => return Parsed::Invalid("bad Content-Length"),
            Some(Ok(n)) if n > 0 => Some(Framing::Length(n)),
            _ => None,
        }
    };
    Parsed::Done(used, Box::new(msg), framing)
}

fn parse_response(data: &[u8], request_method: &str) -> Parsed {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let used = match response.parse(data) {
        Ok(httparse::Status::Complete(used)) => used,
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        Err(e) => return Parsed::Invalid(parse_error(e)),
    };
    let status = response.code.unwrap_or_default();
    let mut msg = Msg {
        version: version(response.version),
        status,
        ..Default::default()
    };
    let (headers, info) = header_map(response.headers);
    msg.fields.insert("status".into(), status.into());
    msg.fields.insert(
        "statusText".into(),
        response.reason.unwrap_or_default().into(),
    );
    msg.fields.insert("headers".into(), Value::Object(headers));
    msg.encoding = info.encoding.clone();
    msg.upgrade = info.upgrade.clone();
    let no_body = request_method == "HEAD"
        || (100..200).contains(&status)
        || status == 204
        || status == 304
        || (request_method == "CONNECT" && status / 100 == 2);
    let framing = if no_body {
        None
    } else if info.chunked {
        Some(Framing::Chunked(ChunkPart::Size))
    } else {
        match info.length {
            Some(Err(())) => return Parsed::Invalid("bad Content-Length"),
            Some(Ok(0)) => None,
            Some(Ok(n)) => Some(Framing::Length(n)),
            None => Some(Framing::UntilClose),
        }
    };
    Parsed::Done(used, Box::new(msg), framing)
}

fn parse_error(e: httparse::Error) -> &'static str {
    match e {
        httparse::Error::HeaderName => "invalid header name",
        httparse::Error::HeaderValue => "invalid header value",
        httparse::Error::NewLine => "invalid line ending",
        httparse::Error::Status => "invalid status",
        httparse::Error::Token => "invalid token",
        httparse::Error::TooManyHeaders => "too many headers",
        httparse::Error::Version => "invalid HTTP version",
    }
}

fn version(minor: Option<u8>) -> &'static str {
    match minor {
        Some(0) => "1.0",
        _ => "1.1",
    }
}

/// What framing and display need from the headers.
#[derive(Default)]
struct HeaderInfo {
    host: Option<String>,
    chunked: bool,
    /// Content-Length: parsed, or `Err` when present but not a number.
    length: Option<Result<u64, ()>>,
    encoding: Option<String>,
    upgrade: Option<String>,
}

/// Headers as a map (repeated names joined with ", ") plus the values framing needs.
fn header_map(headers: &[httparse::Header<'_>]) -> (Message, HeaderInfo) {
    let mut map = Message::new();
    let mut info = HeaderInfo::default();
    for header in headers {
        let value = String::from_utf8_lossy(header.value).trim().to_string();
        let name = header.name;
        if name.eq_ignore_ascii_case("host") {
            info.host = Some(value.clone());
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            info.chunked = value
                .rsplit(',')
                .next()
                .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"));
        } else if name.eq_ignore_ascii_case("content-length") {
            info.length = Some(value.parse::<u64>().map_err(|_| ()));
        } else if name.eq_ignore_ascii_case("content-encoding") {
            info.encoding = Some(value.to_ascii_lowercase());
        } else if name.eq_ignore_ascii_case("upgrade") {
            info.upgrade = Some(value.clone());
        }
        match map.get_mut(name) {
            Some(Value::String(existing)) => {
                existing.push_str(", ");
                existing.push_str(&value);
            }
            _ => {
                map.insert(name.to_string(), Value::String(value));
            }
        }
    }
    (map, info)
}

/// Host, full URL, path and query parameters of a request target (origin form `/p?q` or
/// absolute form `http://host/p?q`, as proxies receive).
fn locate(target: &str, host_header: Option<&str>) -> (String, String, String, Message) {
    let absolute = target
        .strip_prefix("http://")
        .or_else(|| target.strip_prefix("https://"));
    let (host, origin_form) = match absolute {
        Some(rest) => {
            let cut = rest.find('/').unwrap_or(rest.len());
            (
                rest.get(..cut).unwrap_or_default().to_string(),
                rest.get(cut..).unwrap_or_default(),
            )
        }
        None => (host_header.unwrap_or_default().to_string(), target),
    };
    let url = match absolute {
        Some(_) => target.to_string(),
        None if target.starts_with('/') && !host.is_empty() => format!("http://{host}{target}"),
        None => target.to_string(),
    };
    let (path, query) = origin_form.split_once('?').unwrap_or((origin_form, ""));
    let mut params = Message::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        params.insert(key.to_string(), Value::String(value.to_string()));
    }
    (host, url, path.to_string(), params)
}

enum BodyStep {
    NeedMore,
    Done,
    Invalid(&'static str),
}

/// Consumes body bytes from `side` into `msg` according to `framing`, updating the side's state.
fn read_body(
    side: &mut Side,
    mut framing: Framing,
    msg: &mut Msg,
    meta: ChunkMeta,
    max_body: usize,
) -> BodyStep {
    loop {
        let rest = side.rest();
        match framing {
            Framing::UntilClose => {
                let len = rest.len();
                msg.take_body(rest.get(..len).unwrap_or_default(), meta, max_body);
                side.pos += len;
                side.state = State::Body(framing);
                return BodyStep::NeedMore;
            }
            Framing::Length(remaining) => {
                let take = usize::try_from(remaining)
                    .unwrap_or(usize::MAX)
                    .min(rest.len());
                msg.take_body(rest.get(..take).unwrap_or_default(), meta, max_body);
                side.pos += take;
                let left = remaining - take as u64;
                if left == 0 {
                    return BodyStep::Done;
                }
                side.state = State::Body(Framing::Length(left));
                return BodyStep::NeedMore;
            }
            Framing::Chunked(part) => {
                let next = match part {
                    ChunkPart::Size => {
                        let Some(end) = rest.iter().position(|&b| b == b'\n') else {
                            if rest.len() > 1024 {
                                return BodyStep::Invalid("chunk size line too long");
                            }
                            side.state = State::Body(framing);
                            return BodyStep::NeedMore;
                        };
                        let line = String::from_utf8_lossy(rest.get(..end).unwrap_or_default())
                            .into_owned();
                        let digits = line
                            .trim()
                            .split(';')
                            .next()
                            .unwrap_or_default()
                            .trim()
                            .to_string();
                        let Ok(size) = u64::from_str_radix(&digits, 16) else {
                            return BodyStep::Invalid("bad chunk size");
                        };
                        side.pos += end + 1;
                        if size == 0 {
                            ChunkPart::Trailers
                        } else {
                            ChunkPart::Data(size)
                        }
                    }
                    ChunkPart::Data(remaining) => {
                        if rest.is_empty() {
                            side.state = State::Body(framing);
                            return BodyStep::NeedMore;
                        }
                        let take = usize::try_from(remaining)
                            .unwrap_or(usize::MAX)
                            .min(rest.len());
                        msg.take_body(rest.get(..take).unwrap_or_default(), meta, max_body);
                        side.pos += take;
                        let left = remaining - take as u64;
                        if left == 0 {
                            ChunkPart::DataEnd
                        } else {
                            ChunkPart::Data(left)
                        }
                    }
                    ChunkPart::DataEnd => {
                        let Some(end) = rest.iter().position(|&b| b == b'\n') else {
                            if rest.len() > 2 {
                                return BodyStep::Invalid("missing CRLF after chunk");
                            }
                            side.state = State::Body(framing);
                            return BodyStep::NeedMore;
                        };
                        side.pos += end + 1;
                        ChunkPart::Size
                    }
                    ChunkPart::Trailers => {
                        let Some(end) = rest.iter().position(|&b| b == b'\n') else {
                            if rest.len() > MAX_HEADER_BLOCK {
                                return BodyStep::Invalid("trailers too long");
                            }
                            side.state = State::Body(framing);
                            return BodyStep::NeedMore;
                        };
                        let blank = rest
                            .get(..end)
                            .is_some_and(|l| l.iter().all(|b| *b == b'\r'));
                        side.pos += end + 1;
                        if blank {
                            msg.end = Some(meta);
                            return BodyStep::Done;
                        }
                        ChunkPart::Trailers
                    }
                };
                framing = Framing::Chunked(next);
            }
        }
    }
}

/// The exchange for a request and/or response.
fn exchange(
    request: Option<Msg>,
    response: Option<Msg>,
    error: Option<String>,
    settings: &ParserSettings,
) -> Exchange {
    let version = request
        .as_ref()
        .or(response.as_ref())
        .map(|m| m.version)
        .unwrap_or("1.1")
        .to_string();
    let start = request
        .as_ref()
        .and_then(|r| r.start)
        .or_else(|| response.as_ref().and_then(|r| r.start));
    let end = response
        .as_ref()
        .and_then(|r| r.end)
        .or_else(|| request.as_ref().and_then(|r| r.end));
    Exchange {
        protocol: "http",
        version,
        request: request
            .map(|r| r.into_fields(settings.max_body))
            .unwrap_or_default(),
        response: response
            .map(|r| r.into_fields(settings.max_body))
            .unwrap_or_default(),
        error,
        start,
        end,
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::super::DEFAULT_MAX_BODY;
    use super::*;

    fn meta(packet: u64) -> ChunkMeta {
        ChunkMeta {
            ts_ns: packet as i64 * 1000,
            packet,
        }
    }

    /// Feeds `(direction, bytes)` in order, each as its own packet, then closes.
    fn run(steps: &[(Direction, &[u8])]) -> Vec<Exchange> {
        run_with(&ParserSettings::default(), steps)
    }

    /// [`run`] with a parser made with `settings`.
    fn run_with(settings: &ParserSettings, steps: &[(Direction, &[u8])]) -> Vec<Exchange> {
        let mut parser = Http1Dissector.parser(settings);
        let mut out = Vec::new();
        for (i, (dir, bytes)) in steps.iter().enumerate() {
            parser.feed(*dir, bytes, meta(i as u64 + 1), &mut out);
        }
        parser.close("closed", &mut out);
        out
    }

    fn line(e: &Exchange) -> String {
        format!(
            "{} {} {}",
            e.request
                .get("method")
                .and_then(Value::as_str)
                .unwrap_or("-"),
            e.request.get("path").and_then(Value::as_str).unwrap_or("-"),
            e.response
                .get("status")
                .map(Value::to_string)
                .unwrap_or_else(|| "-".into())
        )
    }

    use Direction::{ToClient as S, ToServer as C};

    #[test]
    fn pipelined_requests_pair_in_order_across_segment_boundaries() {
        let out = run(&[
            (C, b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b?q=1&r HTTP/1.1\r\nHo"),
            (C, b"st: x\r\n\r\n"),
            (S, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 404 Not Found\r\nContent-Len"),
            (S, b"gth: 0\r\n\r\n"),
        ]);
        assert_eq!(
            out.iter().map(line).collect::<Vec<_>>(),
            ["GET /a 200", "GET /b 404"]
        );
        assert_eq!(out[0].response["body"], "ok");
        assert_eq!(
            out[1].request["query"],
            serde_json::json!({"q": "1", "r": ""})
        );
        assert_eq!(out[1].request["url"], "http://x/b?q=1&r");
        // The second request started in packet 1, its response in packet 3 and ended in packet 4.
        assert_eq!(
            (out[1].start.map(|m| m.packet), out[1].end.map(|m| m.packet)),
            (Some(1), Some(4))
        );
        assert!(out.iter().all(|e| e.error.is_none()));
    }

    #[test]
    fn chunked_bodies_are_dechunked_with_trailers() {
        let out = run(&[
            (C, b"POST /up HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n"),
            (S, b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwxyz\r\n0\r\nX-Trailer: 1\r\n\r\n"),
        ]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].request["body"], "abcde");
        assert_eq!(out[0].request["size"], 5);
        assert_eq!(out[0].response["body"], "wxyz");
    }

    #[test]
    fn head_204_and_304_have_no_body_even_with_content_length() {
        let out = run(&[
            (C, b"HEAD /h HTTP/1.1\r\n\r\nGET /n HTTP/1.1\r\n\r\nGET /c HTTP/1.1\r\n\r\nGET /last HTTP/1.1\r\n\r\n"),
            (S, b"HTTP/1.1 200 OK\r\nContent-Length: 999\r\n\r\n"),
            (S, b"HTTP/1.1 204 No Content\r\n\r\n"),
            (S, b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n"),
            (S, b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nz"),
        ]);
        assert_eq!(
            out.iter().map(line).collect::<Vec<_>>(),
            ["HEAD /h 200", "GET /n 204", "GET /c 304", "GET /last 200"]
        );
    }

    #[test]
    fn interim_100_continue_is_not_an_exchange() {
        let out = run(&[
            (
                C,
                b"PUT /f HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n",
            ),
            (S, b"HTTP/1.1 100 Continue\r\n\r\n"),
            (C, b"data"),
            (S, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
        ]);
        assert_eq!(out.iter().map(line).collect::<Vec<_>>(), ["PUT /f 200"]);
        assert_eq!(out[0].request["body"], "data");
    }

    #[test]
    fn gzip_bodies_are_decoded_for_display_and_sizes_stay_on_the_wire() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(b"{\"hello\":\"world\"}").expect("compress");
        let body = gz.finish().expect("compress");
        let mut response = format!(
            "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        response.extend_from_slice(&body);
        let out = run(&[(C, b"GET / HTTP/1.1\r\n\r\n"), (S, &response)]);
        assert_eq!(out[0].response["body"], "{\"hello\":\"world\"}");
        assert_eq!(out[0].response["size"], body.len());
    }

    #[test]
    fn bodies_are_capped_by_the_setting_but_counted_whole() {
        let big = vec![b'a'; DEFAULT_MAX_BODY + 1000];
        let mut response =
            format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", big.len()).into_bytes();
        response.extend_from_slice(&big);
        let request: &[u8] = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n";
        let chunk = vec![b'r'; 0x800];
        for (cap, kept, request_kept) in [
            (1 << 10, 1 << 10, 1 << 10),
            (DEFAULT_MAX_BODY, DEFAULT_MAX_BODY, 0x800),
            (1 << 20, big.len(), 0x800),
        ] {
            let settings = ParserSettings::with_max_body(cap as u64).expect("below the limit");
            let out = run_with(
                &settings,
                &[
                    (C, request),
                    (C, &chunk),
                    (C, b"\r\n0\r\n\r\n"),
                    (S, &response),
                ],
            );
            assert_eq!(out[0].response["body"].as_str().map(str::len), Some(kept));
            assert_eq!(out[0].response["size"], big.len());
            assert_eq!(
                out[0].request["body"].as_str().map(str::len),
                Some(request_kept)
            );
            assert_eq!(out[0].request["size"], 0x800);
        }
    }

    #[test]
    fn a_body_without_length_runs_until_the_connection_closes() {
        let out = run(&[
            (C, b"GET / HTTP/1.0\r\n\r\n"),
            (S, b"HTTP/1.0 200 OK\r\n\r\npart one, "),
            (S, b"part two"),
        ]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].version, "1.0");
        assert_eq!(out[0].response["body"], "part one, part two");
        assert!(out[0].error.is_none());
    }

    #[test]
    fn unanswered_requests_and_orphan_responses_carry_an_error() {
        let out = run(&[
            (S, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
            (C, b"GET /lost HTTP/1.1\r\n\r\n"),
        ]);
        assert_eq!(
            out.iter().map(line).collect::<Vec<_>>(),
            ["- - 200", "GET /lost -"]
        );
        assert!(
            out[0]
                .error
                .as_deref()
                .is_some_and(|e| e.contains("without a request"))
        );
        assert_eq!(out[1].error.as_deref(), Some("no response (closed)"));
    }

    #[test]
    fn a_response_to_a_request_cut_off_mid_headers_still_names_the_request() {
        let out = run(&[
            (
                C,
                b"POST /orders?id=7 HTTP/1.1\r\nhost: shop\r\nx-long: aaaa",
            ),
            (S, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
        ]);
        assert_eq!(
            out.iter().map(line).collect::<Vec<_>>(),
            ["POST /orders 200"]
        );
        assert_eq!(out[0].request["query"], serde_json::json!({"id": "7"}));
        assert_eq!(out[0].start.map(|m| m.packet), Some(1));
        assert_eq!(
            out[0].error.as_deref(),
            Some("request headers cut off (bytes missing from the capture)")
        );
    }

    #[test]
    fn after_a_gap_the_parser_resumes_at_the_next_message() {
        let mut parser = Http1Dissector.parser(&ParserSettings::default());
        let mut out = Vec::new();
        parser.feed(
            C,
            b"POST /a HTTP/1.1\r\nContent-Length: 100\r\n\r\nfirst part",
            meta(1),
            &mut out,
        );
        parser.gap(C, &mut out);
        parser.feed(
            C,
            b"tail of the body\r\nGET /b HTTP/1.1\r\n\r\n",
            meta(3),
            &mut out,
        );
        parser.feed(S, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", meta(4), &mut out);
        assert_eq!(
            out.iter().map(line).collect::<Vec<_>>(),
            ["POST /a 200", "GET /b 200"]
        );
        assert_eq!(out[0].error.as_deref(), Some("bytes lost in capture"));
        assert!(out[1].error.is_none());
    }

    #[test]
    fn garbage_is_reported_once_and_does_not_stop_parsing() {
        let out = run(&[
            (
                C,
                b"GET /x HTTP/1.1\r\nBad Header\r\n\r\nGET /ok HTTP/1.1\r\n\r\n",
            ),
            (S, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
        ]);
        let errors: Vec<_> = out.iter().filter_map(|e| e.error.as_deref()).collect();
        assert_eq!(errors, ["malformed HTTP/1 request: invalid header name"]);
        assert_eq!(
            out.iter()
                .filter(|e| e.error.is_none())
                .map(line)
                .collect::<Vec<_>>(),
            ["GET /ok 200"]
        );
    }

    #[test]
    fn upgrade_to_h2c_ends_http1_parsing() {
        let out = run(&[
            (C, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n"),
            (C, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
            (S, b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"),
        ]);
        // The 101 exchange; the preface went to the HTTP/2 parser, not reported as bad HTTP/1.
        assert_eq!(out.first().map(line).as_deref(), Some("GET / 101"));
        assert!(out.iter().all(|e| {
            e.error
                .as_deref()
                .is_none_or(|m| !m.contains("malformed HTTP/1"))
        }));
    }

    #[test]
    fn the_h2c_upgrade_request_is_http2_stream_1s_request() {
        // HEADERS on stream 1, END_STREAM | END_HEADERS: `:status 200` (HPACK static index 8).
        let answer = [0, 0, 1, 1, 5, 0, 0, 0, 1, 0x88];
        let out = run(&[
            (C, b"GET /up?x=1 HTTP/1.1\r\nHost: web\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n"),
            (S, b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"),
            (C, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
            (S, &answer),
        ]);
        let lines: Vec<String> = out
            .iter()
            .map(|e| format!("{} {}", e.version, line(e)))
            .collect();
        assert_eq!(lines, ["1.1 GET /up 101", "2 GET /up 200"]);
        let stream_1 = &out[1];
        assert_eq!(stream_1.request["host"], "web");
        assert_eq!(stream_1.request["query"]["x"], "1");
        assert_eq!(stream_1.request["headers"]["Upgrade"], "h2c");
        assert_eq!(
            (stream_1.start, stream_1.error.as_deref()),
            (Some(meta(1)), None)
        );
    }

    #[test]
    fn a_binary_body_is_kept_as_base64_not_replaced_by_text() {
        let out = run(&[
            (C, b"GET /i HTTP/1.1\r\n\r\n"),
            (
                S,
                b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n\x00\x01\xfe\xff",
            ),
        ]);
        assert_eq!(out[0].response["body"], "AAH+/w==");
        assert_eq!(out[0].response["bodyEncoding"], "base64");
        assert_eq!(out[0].response["size"], 4);
    }

    #[test]
    fn requests_never_answered_do_not_pile_up_without_bound() {
        let mut parser = Http1Dissector.parser(&ParserSettings::default());
        let mut out = Vec::new();
        for i in 0..MAX_PENDING + 6 {
            parser.feed(C, b"GET /again HTTP/1.1\r\n\r\n", meta(i as u64), &mut out);
        }
        assert_eq!(out.len(), 6);
        assert!(
            out.iter()
                .all(|e| e.error.as_deref() == Some("no response (too many requests waiting)"))
        );
        parser.close("idle timeout", &mut out);
        assert_eq!(out.len(), MAX_PENDING + 6);
    }

    #[test]
    fn probes_tell_http1_from_other_protocols() {
        let d = Http1Dissector;
        assert_eq!(d.probe(b"GET / HTTP/1.1\r\n", C), Confidence::Yes);
        assert_eq!(d.probe(b"GE", C), Confidence::NeedMore);
        assert_eq!(d.probe(b"PRI * HTTP/2.0\r\n", C), Confidence::No);
        assert_eq!(d.probe(b"*3\r\n$3\r\nSET\r\n", C), Confidence::No);
        assert_eq!(d.probe(b"HTTP/1.1 200 OK\r\n", S), Confidence::Yes);
        assert_eq!(d.probe(b"\x16\x03\x01", S), Confidence::No);
    }
}
