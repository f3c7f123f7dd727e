//! One HTTP/2 stream: request and response halves collected from frames, then turned into an
//! [`Exchange`] (`http` version `2`, or `grpc` when the content type says so).

use serde_json::{Value, json};
use shark_store::Message;

use super::super::body::write_body;
use super::super::grpc::{self, MessageCounter};
use super::super::{ChunkMeta, Exchange};

/// A decoded header field list, in wire order.
pub(super) type Fields = Vec<(String, String)>;

/// One direction of a stream: header block, trailers, body.
#[derive(Debug, Default)]
pub(super) struct Half {
    /// The first (non-informational) header block.
    headers: Option<Fields>,
    /// A second header block: trailers.
    trailers: Option<Fields>,
    /// The first body bytes, up to the stream's cap.
    body: Vec<u8>,
    /// All body bytes seen (DATA payloads, padding excluded): `bodySize`.
    size: u64,
    /// Bytes of this half's HEADERS, CONTINUATION and DATA frames, frame headers included: `size`.
    wire: u64,
    /// gRPC length-prefixed messages in the body.
    messages: MessageCounter,
    /// END_STREAM seen.
    pub ended: bool,
    /// Any frame of this half seen.
    pub seen: bool,
}

impl Half {
    /// Records a header block: headers first, trailers after; 1xx responses are skipped.
    fn on_headers(&mut self, fields: Fields, end_stream: bool) {
        self.seen = true;
        self.ended |= end_stream;
        if self.headers.is_none() {
            let informational = field(&fields, ":status").is_some_and(|s| s.starts_with('1'));
            if !informational || end_stream {
                self.headers = Some(fields);
            }
        } else if self.trailers.is_none() {
            self.trailers = Some(fields);
        }
    }

    /// Records body bytes, keeping at most `allowance` more of them and `max_body` in all;
    /// returns how many were kept.
    fn on_data(
        &mut self,
        data: &[u8],
        end_stream: bool,
        allowance: usize,
        max_body: usize,
    ) -> usize {
        self.seen = true;
        self.ended |= end_stream;
        self.size = self.size.saturating_add(data.len() as u64);
        let room = max_body
            .saturating_sub(self.body.len())
            .min(allowance)
            .min(data.len());
        self.body
            .extend_from_slice(data.get(..room).unwrap_or_default());
        self.messages.feed(data);
        room
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.as_ref().and_then(|f| field(f, name))
    }

    /// A header looked up in the trailers first, then in the headers (trailers-only responses).
    fn trailer(&self, name: &str) -> Option<&str> {
        self.trailers
            .as_ref()
            .and_then(|f| field(f, name))
            .or_else(|| self.header(name))
    }

    /// The fields every HTTP/2 message has: `headers`, `trailers`, `body` (with its content coding
    /// undone, as text or base64), `size`.
    fn common_fields(&mut self, message: &mut Message, with_body: bool, max_body: usize) {
        if let Some(headers) = &self.headers {
            message.insert("headers".into(), Value::Object(header_map(headers)));
        }
        if let Some(trailers) = &self.trailers {
            message.insert("trailers".into(), Value::Object(header_map(trailers)));
        }
        if with_body && !self.body.is_empty() {
            let complete = self.body.len() as u64 == self.size;
            write_body(
                message,
                &self.body,
                complete,
                self.header("content-encoding"),
                max_body,
            );
        }
        message.insert("size".into(), json!(self.wire));
        message.insert("bodySize".into(), json!(self.size));
    }
}

/// Which side a frame came from, from the stream's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Side {
    /// The requester.
    Request,
    /// The responder.
    Response,
}

/// An HTTP/2 stream being collected.
#[derive(Debug)]
pub(super) struct Stream {
    /// Body bytes kept per half (`--max-body`).
    max_body: usize,
    /// Request half (client → server; for a pushed stream, the PUSH_PROMISE headers).
    pub request: Half,
    /// Response half.
    pub response: Half,
    /// First frame of the stream.
    start: Option<ChunkMeta>,
    /// Last frame of the stream.
    end: Option<ChunkMeta>,
    /// What went wrong, in order.
    errors: Vec<String>,
    /// The request travelled outside HTTP/2 (as the HTTP/1.1 request of an h2c upgrade): its
    /// fields as HTTP/1 read them; the request half stays empty and that is not an error.
    pub request_elsewhere: Option<Message>,
}

impl Stream {
    /// A stream keeping at most `max_body` body bytes per half.
    pub fn new(max_body: usize) -> Stream {
        Stream {
            max_body,
            request: Half::default(),
            response: Half::default(),
            start: None,
            end: None,
            errors: Vec::new(),
            request_elsewhere: None,
        }
    }

    /// The stream's first frame, once it has one.
    pub fn start(&self) -> Option<ChunkMeta> {
        self.start
    }

    /// Notes that a frame spanning `start..end` belonged to this stream.
    pub fn touch(&mut self, start: ChunkMeta, end: ChunkMeta) {
        self.start.get_or_insert(start);
        self.end = Some(end);
    }

    /// Records a decoded header block from `side`.
    pub fn on_headers(&mut self, side: Side, fields: Fields, end_stream: bool) {
        self.half(side).on_headers(fields, end_stream);
    }

    /// Records DATA bytes from `side`, keeping at most `allowance` more body bytes (none for
    /// gRPC, whose binary messages are counted, not shown); returns how many were kept.
    pub fn on_data(
        &mut self,
        side: Side,
        data: &[u8],
        end_stream: bool,
        allowance: usize,
    ) -> usize {
        let allowance = if self.is_grpc() { 0 } else { allowance };
        let max_body = self.max_body;
        self.half(side)
            .on_data(data, end_stream, allowance, max_body)
    }

    /// Body bytes this stream holds.
    pub fn kept(&self) -> usize {
        self.request.body.len() + self.response.body.len()
    }

    /// Whether the request or response content type marks a gRPC call.
    fn is_grpc(&self) -> bool {
        self.request
            .header("content-type")
            .or_else(|| self.response.header("content-type"))
            .is_some_and(grpc::is_grpc)
    }

    /// Bytes of `side` were lost while the half was open: marks the stream and restarts message
    /// counting at the next DATA frame.
    pub fn lost(&mut self, side: Side, error: String) {
        let half = self.half(side);
        if !half.ended {
            half.messages.resync();
            self.fail(error);
        }
    }

    /// Records a problem (kept in order, reported together).
    pub fn fail(&mut self, error: impl Into<String>) {
        let error = error.into();
        if !self.errors.contains(&error) {
            self.errors.push(error);
        }
    }

    /// Whether the exchange is over: the responder ended its side.
    pub fn finished(&self) -> bool {
        self.response.ended
    }

    /// Counts `bytes` of frames (headers included) that carried `side`'s message.
    pub fn count_frames(&mut self, side: Side, bytes: u64) {
        let half = self.half(side);
        half.wire = half.wire.saturating_add(bytes);
    }

    fn half(&mut self, side: Side) -> &mut Half {
        match side {
            Side::Request => &mut self.request,
            Side::Response => &mut self.response,
        }
    }

    /// The exchange this stream amounts to.
    pub fn into_exchange(mut self) -> Exchange {
        let upgraded = self.request_elsewhere.take();
        if !self.request.seen && upgraded.is_none() {
            self.fail("request not captured (connection joined mid-way)");
        }
        let is_grpc = self.is_grpc();
        let mut request = match upgraded {
            Some(fields) => fields,
            None => {
                let mut request = request_fields(&self.request);
                self.request
                    .common_fields(&mut request, !is_grpc, self.max_body);
                request
            }
        };
        let mut response = Message::new();
        if let Some(status) = self
            .response
            .header(":status")
            .and_then(|s| s.parse::<u16>().ok())
        {
            response.insert("status".into(), json!(status));
            if let Some(reason) = reason_phrase(status) {
                response.insert("statusText".into(), json!(reason));
            }
        }
        self.response
            .common_fields(&mut response, !is_grpc, self.max_body);
        if is_grpc {
            grpc::request_fields(
                &mut request,
                self.request.header(":path"),
                &self.request.messages,
            );
            grpc::response_fields(
                &mut response,
                self.response.trailer("grpc-status"),
                self.response.trailer("grpc-message"),
                &self.response.messages,
            );
        }
        Exchange {
            protocol: if is_grpc { "grpc" } else { "http" },
            version: "2".into(),
            request,
            response,
            error: (!self.errors.is_empty()).then(|| self.errors.join("; ")),
            start: self.start,
            end: self.end,
        }
    }
}

/// `method`, `path`, `url`, `host` and `query` from the request pseudo-headers.
fn request_fields(half: &Half) -> Message {
    let mut request = Message::new();
    if let Some(method) = half.header(":method") {
        request.insert("method".into(), json!(method));
    }
    let host = half.header(":authority").or_else(|| half.header("host"));
    if let Some(host) = host {
        request.insert("host".into(), json!(host));
    }
    if let Some(target) = half.header(":path") {
        let (path, query) = target
            .split_once('?')
            .map_or((target, None), |(p, q)| (p, Some(q)));
        request.insert("path".into(), json!(path));
        let scheme = half.header(":scheme").unwrap_or("http");
        let url = match host {
            Some(host) => format!("{scheme}://{host}{target}"),
            None => target.to_owned(),
        };
        request.insert("url".into(), json!(url));
        if let Some(query) = query {
            request.insert("query".into(), Value::Object(query_map(query)));
        }
    }
    request
}

/// The standard reason phrase of a status code (RFC 9110 §15): HTTP/2 sends none, but the
/// `statusText` users filter on should read as it does for HTTP/1.
fn reason_phrase(status: u16) -> Option<&'static str> {
    Some(match status {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        417 => "Expectation Failed",
        421 => "Misdirected Request",
        422 => "Unprocessable Content",
        425 => "Too Early",
        426 => "Upgrade Required",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        451 => "Unavailable For Legal Reasons",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        511 => "Network Authentication Required",
        _ => return None,
    })
}

/// The value of the first field called `name`.
fn field<'a>(fields: &'a Fields, name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// Regular (non-pseudo) header fields as a map; repeated names are joined with ", ".
fn header_map(fields: &Fields) -> Message {
    let mut map = Message::new();
    for (name, value) in fields.iter().filter(|(n, _)| !n.starts_with(':')) {
        match map.get_mut(name) {
            Some(Value::String(existing)) => {
                existing.push_str(", ");
                existing.push_str(value);
            }
            _ => {
                map.insert(name.clone(), json!(value));
            }
        }
    }
    map
}

/// Query parameters as a map (first value of each name; no percent-decoding of the raw text).
fn query_map(query: &str) -> Message {
    let mut map = Message::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        map.entry(name.to_owned()).or_insert_with(|| json!(value));
    }
    map
}

#[cfg(test)]
mod tests {
    use super::super::super::DEFAULT_MAX_BODY;
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn plain_request_and_response_become_http_2() {
        let mut stream = Stream::new(DEFAULT_MAX_BODY);
        stream.on_headers(
            Side::Request,
            fields(&[
                (":method", "GET"),
                (":scheme", "https"),
                (":authority", "shop"),
                (":path", "/cart?id=7&x"),
            ]),
            true,
        );
        stream.on_headers(Side::Response, fields(&[(":status", "100")]), false);
        stream.on_headers(
            Side::Response,
            fields(&[(":status", "404"), ("server", "a"), ("server", "b")]),
            false,
        );
        stream.on_data(Side::Response, b"not found", true, usize::MAX);
        assert!(stream.finished());
        let exchange = stream.into_exchange();
        assert_eq!(
            (exchange.protocol, exchange.version.as_str()),
            ("http", "2")
        );
        assert_eq!(exchange.request["method"], json!("GET"));
        assert_eq!(exchange.request["path"], json!("/cart"));
        assert_eq!(exchange.request["url"], json!("https://shop/cart?id=7&x"));
        assert_eq!(exchange.request["query"], json!({"id": "7", "x": ""}));
        assert_eq!(exchange.response["status"], json!(404));
        assert_eq!(exchange.response["statusText"], json!("Not Found"));
        assert_eq!(exchange.response["headers"], json!({"server": "a, b"}));
        assert_eq!(exchange.response["body"], json!("not found"));
        assert_eq!(exchange.error, None);
    }

    #[test]
    fn body_is_capped_but_fully_counted() {
        for cap in [1 << 10, DEFAULT_MAX_BODY] {
            let mut half = Half::default();
            assert_eq!(
                half.on_data(&vec![b'x'; cap + 10], false, usize::MAX, cap),
                cap
            );
            assert_eq!(half.on_data(b"more", true, usize::MAX, cap), 0);
            assert_eq!(half.size, (cap + 14) as u64);
            assert_eq!(half.body.len(), cap);
        }
    }
}
