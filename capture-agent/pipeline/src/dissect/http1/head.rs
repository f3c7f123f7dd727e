//! HTTP/1 header blocks: the request or response line and headers parsed (by `httparse`) into a
//! message's fields, with what body framing needs.

use std::borrow::Cow;
use std::mem::MaybeUninit;

use serde_json::Value;
use serde_json::map::Entry;
use shark_store::Message;

use super::message::Msg;
use super::side::{ChunkPart, Framing};

/// Most headers one message may carry.
const MAX_HEADERS: usize = 128;

/// What parsing a header block gave.
pub(super) enum Parsed {
    /// The block is not whole yet.
    Partial,
    /// Not HTTP/1: why.
    Invalid(&'static str),
    /// Header block length, the message, and its body framing (`None`: no body).
    Done(usize, Box<Msg>, Option<Framing>),
}

/// Parses the request header block at the start of `data`.
pub(super) fn parse_request(data: &[u8]) -> Parsed {
    let mut headers = [const { MaybeUninit::uninit() }; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut []);
    let used = match request.parse_with_uninit_headers(data, &mut headers) {
        Ok(httparse::Status::Complete(used)) => used,
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        Err(e) => return Parsed::Invalid(parse_error(e)),
    };
    let method = request.method.unwrap_or_default();
    let target = request.path.unwrap_or_default();
    let mut msg = Msg {
        version: version(request.version),
        method: method.to_string(),
        header_bytes: used,
        ..Default::default()
    };
    let block = BlockText::new(data.get(..used).unwrap_or_default());
    let (headers, info) = header_map(request.headers, &block);
    let (host, url, path, query) = locate(target, info.host.as_deref());
    // Last key first: each insert then compares its key with one other only.
    msg.fields.insert("url".into(), url.into());
    msg.fields.insert("query".into(), Value::Object(query));
    msg.fields.insert("path".into(), path.into());
    msg.fields.insert("method".into(), method.into());
    msg.fields.insert("host".into(), host.into());
    msg.fields.insert("headers".into(), Value::Object(headers));
    msg.encoding = info.encoding;
    msg.upgrade = info.upgrade;
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

/// Parses the response header block at the start of `data`; `request_method` is the method of
/// the request it answers (a HEAD or CONNECT answer has no body).
pub(super) fn parse_response(data: &[u8], request_method: &str) -> Parsed {
    let mut headers = [const { MaybeUninit::uninit() }; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut []);
    let used = match httparse::ParserConfig::default().parse_response_with_uninit_headers(
        &mut response,
        data,
        &mut headers,
    ) {
        Ok(httparse::Status::Complete(used)) => used,
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        Err(e) => return Parsed::Invalid(parse_error(e)),
    };
    let status = response.code.unwrap_or_default();
    let mut msg = Msg {
        version: version(response.version),
        status,
        header_bytes: used,
        ..Default::default()
    };
    let block = BlockText::new(data.get(..used).unwrap_or_default());
    let (headers, info) = header_map(response.headers, &block);
    msg.fields.insert(
        "statusText".into(),
        response.reason.unwrap_or_default().into(),
    );
    msg.fields.insert("status".into(), status.into());
    msg.fields.insert("headers".into(), Value::Object(headers));
    msg.encoding = info.encoding;
    msg.upgrade = info.upgrade;
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
struct HeaderInfo<'a> {
    host: Option<Cow<'a, str>>,
    chunked: bool,
    /// Content-Length: parsed, or `Err` when present but not a number.
    length: Option<Result<u64, ()>>,
    encoding: Option<String>,
    upgrade: Option<String>,
}

impl HeaderInfo<'_> {
    /// Notes header `name`'s (trimmed) `value` if framing needs it, or the message keeps it
    /// apart (all but `Host`, which [`header_map`] keeps borrowed).
    fn note(&mut self, name: &str, value: &str) {
        if name.eq_ignore_ascii_case("transfer-encoding") {
            self.chunked = value
                .rsplit(',')
                .next()
                .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"));
        } else if name.eq_ignore_ascii_case("content-length") {
            self.length = Some(value.parse::<u64>().map_err(|_| ()));
        } else if name.eq_ignore_ascii_case("content-encoding") {
            self.encoding = Some(value.to_ascii_lowercase());
        } else if name.eq_ignore_ascii_case("upgrade") {
            self.upgrade = Some(value.to_string());
        }
    }
}

/// Headers as a map (repeated names joined with ", ") plus the values framing needs; `block` is
/// the header block they were parsed from.
fn header_map<'a>(
    headers: &[httparse::Header<'a>],
    block: &BlockText<'a>,
) -> (Message, HeaderInfo<'a>) {
    let mut map = Message::new();
    let mut info = HeaderInfo::default();
    for header in headers {
        let value = trimmed(block.text(header.value));
        if header.name.eq_ignore_ascii_case("host") {
            info.host = Some(value.clone());
        }
        info.note(header.name, &value);
        match map.entry(header.name) {
            Entry::Occupied(mut seen) => {
                if let Value::String(existing) = seen.get_mut() {
                    existing.push_str(", ");
                    existing.push_str(&value);
                }
            }
            Entry::Vacant(new) => {
                new.insert(Value::String(value.into_owned()));
            }
        }
    }
    (map, info)
}

/// `text` without leading and trailing whitespace, still borrowed when it was.
fn trimmed(text: Cow<'_, str>) -> Cow<'_, str> {
    match text {
        Cow::Borrowed(text) => Cow::Borrowed(text.trim()),
        Cow::Owned(text) => Cow::Owned(text.trim().to_string()),
    }
}

/// Host, full URL, path and query parameters of a request target (origin form `/p?q` or
/// absolute form `http://host/p?q`, as proxies receive).
pub(super) fn locate(target: &str, host_header: Option<&str>) -> (String, String, String, Message) {
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
        None if target.starts_with('/') && !host.is_empty() => {
            let mut url = String::with_capacity("http://".len() + host.len() + target.len());
            url.push_str("http://");
            url.push_str(&host);
            url.push_str(target);
            url
        }
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

/// A header block, checked once for UTF-8 so that its values need no check of their own.
struct BlockText<'a> {
    /// The block, when it is UTF-8 (nearly always: header values are mostly ASCII).
    text: Option<&'a str>,
}

impl<'a> BlockText<'a> {
    /// The text view of `block`.
    fn new(block: &'a [u8]) -> Self {
        BlockText {
            text: std::str::from_utf8(block).ok(),
        }
    }

    /// `part`, a slice of the block, as text: borrowed from the block when it is UTF-8 (found
    /// by its offset in the block, no validation again), else through [`text`].
    fn text(&self, part: &'a [u8]) -> Cow<'a, str> {
        let borrowed = self.text.and_then(|block| {
            let start = (part.as_ptr() as usize).checked_sub(block.as_ptr() as usize)?;
            block.get(start..start.checked_add(part.len())?)
        });
        match borrowed {
            Some(part) => Cow::Borrowed(part),
            None => text(part),
        }
    }
}

/// `bytes` as text: borrowed when they are UTF-8 (the common case, checked by the fast validator
/// without allocating), else with invalid sequences replaced.
pub(super) fn text(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(valid) => Cow::Borrowed(valid),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}
