//! HTTP/1.0 and HTTP/1.1: requests and responses paired in order (keep-alive and pipelining),
//! bodies framed by Content-Length, chunked transfer coding or the end of the connection, no body
//! for HEAD, 1xx, 204 and 304, interim `100 Continue` skipped, bodies shown as
//! [`body`](super::body) says (codings undone, text or base64, capped), and `101 Switching
//! Protocols` to h2c handed over to the HTTP/2 parser, whose stream 1 takes the upgrade request's
//! fields.
//!
//! # Memory of one connection
//! Requests waiting for their responses (pipelining, or a client whose requests go unanswered)
//! are bounded twice, as [`pending`] details: at most 1024 of them, and at most
//! `max(4 × --max-body, 1 MiB)` bytes of their header blocks and kept bodies (1 MiB at the
//! default 64 KiB, 256 MiB at the 64 MiB limit). Over the bytes, the oldest requests' bodies go
//! first: the request keeps its method, path, headers and size, is marked `bodyTruncated` and
//! still pairs with its response. (Reading its packets again meets the same budget, so such a
//! body stays out of the entry, and a query that shows it warns that it is cut.)
//! Requests are given up (reported with `error` "no response (too many requests waiting)", their
//! responses later on their own) only past 1024 or when header blocks alone fill the budget.
//! Besides that, a connection holds one response (its body up to `--max-body`), an unfinished
//! header block (up to 64 KiB) per direction, and up to 64 KiB of client bytes while an
//! `Upgrade` request waits for its answer.

use serde_json::Value;

use super::{
    ChunkMeta, Confidence, Direction, Dissector, Exchange, Parser, ParserSettings, Unfinished,
};
use framing::{BodyStep, MAX_HEADER_BLOCK, read_body};
use head::{Parsed, locate, parse_request, parse_response, text};
use message::{Msg, exchange};
use pending::{Answered, Pending};
use side::{Framing, Side, State};

mod framing;
mod head;
mod message;
mod pending;
mod side;
#[cfg(test)]
mod tests;

/// Error of a request given up unanswered to keep the waiting requests within their caps.
const GIVEN_UP: &str = "no response (too many requests waiting)";
/// Error of the response to a request given up earlier.
const ANSWERS_GIVEN_UP: &str =
    "response to a request reported earlier without it (too many requests waiting)";
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
        Box::new(Http1Parser::new(*settings))
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

/// Per-connection HTTP/1 state.
struct Http1Parser {
    /// What is kept of bodies; handed on to HTTP/2 after an h2c upgrade.
    settings: ParserSettings,
    requests: Side,
    responses: Side,
    /// Requests whose headers were read, oldest first, waiting for their responses.
    pending: Pending,
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
                    if let Some(request) = self.pending.newest_mut() {
                        request.error.get_or_insert_with(|| lost.to_string());
                    }
                    self.request_body_open = false;
                }
                self.requests.reset();
            }
            Direction::ToClient => {
                if let Some(mut response) = self.responses.current.take() {
                    response.error = Some(lost.to_string());
                    self.complete_response(*response, out);
                }
                self.responses.reset();
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
        for request in self.pending.take_all() {
            let error = request
                .error
                .clone()
                .unwrap_or_else(|| format!("no response ({reason})"));
            out.push(exchange(Some(*request), None, Some(error), &self.settings));
        }
    }

    /// After a switch (h2c), what the new protocol's parser needs kept for export.
    fn take_state_packets(&mut self, out: &mut Vec<(u64, u64)>) {
        if let Some(next) = &mut self.upgraded {
            next.take_state_packets(out);
        }
    }

    /// Requests waiting for their responses, messages half read, and client bytes held while
    /// an upgrade is decided; after a switch, what the new protocol's parser holds.
    fn unfinished(&self) -> Unfinished {
        if let Some(next) = &self.upgraded {
            return next.unfinished();
        }
        if self.pending.iter().any(|r| r.start.is_none()) {
            return Unfinished::Unknown;
        }
        let waiting = self.pending.iter().map(|r| r.start);
        let held = self
            .held
            .as_ref()
            .and_then(|h| h.first())
            .map(|(_, meta)| *meta);
        let reading = [
            self.requests.unfinished_since(),
            self.responses.unfinished_since(),
            held,
        ];
        Unfinished::earliest(waiting.chain(reading))
    }
}

impl Http1Parser {
    fn new(settings: ParserSettings) -> Self {
        Http1Parser {
            settings,
            requests: Side::default(),
            responses: Side::default(),
            pending: Pending::new(settings.max_body),
            request_body_open: false,
            held: None,
            upgraded: None,
            opaque: false,
        }
    }

    fn read_requests(&mut self, data: &[u8], meta: ChunkMeta, out: &mut Vec<Exchange>) {
        let carried_len = self.requests.buf.len();
        self.requests.append(data);
        loop {
            match self.requests.state {
                State::Resync => {
                    if !self.requests.resync(is_request_start) {
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
                            self.pending.push(request);
                            while let Some(oldest) = self.pending.give_up_oldest() {
                                let error = Some(GIVEN_UP.to_string());
                                out.push(exchange(Some(*oldest), None, error, &self.settings));
                            }
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
                                self.requests.release();
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
                    let max_body = self.settings.max_body;
                    let into_pending = if self.request_body_open {
                        let side = &mut self.requests;
                        self.pending.grow_newest(|request| {
                            read_body(side, framing, request, meta, max_body)
                        })
                    } else {
                        None
                    };
                    // A body nobody waits for (its request answered already) is read and skipped.
                    let step = into_pending.unwrap_or_else(|| {
                        let mut skipped = Msg::default();
                        read_body(&mut self.requests, framing, &mut skipped, meta, 0)
                    });
                    match step {
                        BodyStep::NeedMore => break,
                        BodyStep::Done => {
                            self.request_body_open = false;
                            self.requests.state = State::Headers;
                        }
                        BodyStep::Invalid(why) => {
                            if let Some(request) =
                                self.pending.newest_mut().filter(|_| self.request_body_open)
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
        self.responses.append(data);
        loop {
            match self.responses.state {
                State::Resync => {
                    if !self.responses.resync(is_response_start) {
                        break;
                    }
                }
                State::Headers => {
                    let start = self.responses.meta_here(carried_len, meta);
                    let request_method = self
                        .pending
                        .next_to_answer()
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
                                                .next_to_answer()
                                                .is_some_and(|r| r.method == "CONNECT"));
                                    let upgrade = response.upgrade.clone();
                                    let extensions = header(&response, "sec-websocket-extensions");
                                    let upgrading = if switching {
                                        self.pending.next_to_answer().cloned()
                                    } else {
                                        None
                                    };
                                    self.complete_response(*response, out);
                                    if switching {
                                        let rest = self.responses.rest().to_vec();
                                        let upgrade = upgrade.as_deref().zip(Some(upgrading));
                                        self.switch_protocol(
                                            upgrade,
                                            extensions.as_deref(),
                                            rest,
                                            meta,
                                            out,
                                        );
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
    /// block never arrived whole, as when the capture holds only its first segment). The response
    /// to a request given up earlier is reported on its own.
    fn complete_response(&mut self, response: Msg, out: &mut Vec<Exchange>) {
        let request = match self.pending.answer() {
            Answered::Request(request) => Some(*request),
            Answered::GivenUp => {
                let error = Some(ANSWERS_GIVEN_UP.to_string());
                out.push(exchange(None, Some(response), error, &self.settings));
                return;
            }
            Answered::Nothing => self.cut_off_request(),
        };
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
        let line = text(line);
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
        self.requests.reset();
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
        extensions: Option<&str>,
        server_rest: Vec<u8>,
        meta: ChunkMeta,
        out: &mut Vec<Exchange>,
    ) {
        let held = self.held.take().unwrap_or_default();
        let next = match upgrade {
            Some((protocol, request)) if protocol.eq_ignore_ascii_case("h2c") => {
                let start = request.as_ref().and_then(|r| r.start);
                let fields = request
                    .map(|r| r.into_fields(self.settings.max_body))
                    .unwrap_or_default();
                Some(super::http2::parser_after_upgrade(
                    fields,
                    start,
                    &self.settings,
                ))
            }
            Some((protocol, _)) if protocol.eq_ignore_ascii_case("websocket") => Some(
                super::websocket::parser_after_upgrade(extensions, &self.settings),
            ),
            _ => None,
        };
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

fn is_request_start(data: &[u8]) -> bool {
    probe_request(data) == Confidence::Yes
}

fn is_response_start(data: &[u8]) -> bool {
    data.starts_with(b"HTTP/1.")
}

/// The value of header `name` (any case) of `message`, if it has it.
fn header(message: &Msg, name: &str) -> Option<String> {
    let headers = message.fields.get("headers")?.as_object()?;
    headers
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .and_then(|(_, value)| value.as_str())
        .map(str::to_string)
}
