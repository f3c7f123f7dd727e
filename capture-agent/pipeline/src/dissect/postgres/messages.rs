//! What PostgreSQL messages say, as exchange fields: the startup family's codes and parameters,
//! the kinds of request cycle, and the reply a cycle gets (command tag, rows, error).

use serde_json::json;
use shark_store::Message;

use crate::dissect::pending::Waiting;
use crate::dissect::{ChunkMeta, Exchange};

/// SSLRequest code (in place of a protocol version).
pub(super) const SSL_REQUEST: u32 = 80_877_103;
/// GSSENCRequest code.
pub(super) const GSSENC_REQUEST: u32 = 80_877_104;
/// CancelRequest code.
pub(super) const CANCEL_REQUEST: u32 = 80_877_102;
/// Protocol 3.0 in a StartupMessage.
pub(super) const PROTOCOL_3: u32 = 196_608;

/// What a request cycle is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CycleKind {
    Startup,
    Ssl,
    Simple,
    Extended,
    Function,
}

impl CycleKind {
    /// The request's `type`.
    pub(super) fn name(self) -> &'static str {
        match self {
            CycleKind::Startup => "startup",
            CycleKind::Ssl => "ssl",
            CycleKind::Simple => "simple",
            CycleKind::Extended => "extended",
            CycleKind::Function => "function",
        }
    }
}

/// What the server has said so far about the front cycle.
#[derive(Default)]
pub(super) struct Reply {
    /// Any backend message came.
    pub(super) seen: bool,
    /// The CommandComplete tag (or the answer to SSLRequest).
    pub(super) tag: Option<String>,
    /// DataRow messages.
    pub(super) rows: u64,
    /// SQLSTATE and message of an ErrorResponse.
    pub(super) error: Option<(String, String)>,
    /// The chunk of the last backend message.
    pub(super) end: Option<ChunkMeta>,
    /// Bytes of the backend messages so far.
    pub(super) size: u64,
}

/// `user`, `database`, `application_name` and `protocolVersion` of a StartupMessage whose body
/// (after the length) is `body` and whose protocol version is `code`.
pub(super) fn startup_fields(code: u32, body: &[u8]) -> Message {
    let mut request = Message::new();
    let params: Vec<String> = body
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
    request
}

/// SQLSTATE (`C`) and message (`M`) of an ErrorResponse body.
pub(super) fn error_fields(body: &[u8]) -> (String, String) {
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

/// The response fields of a reply.
pub(super) fn response_fields(reply: &Reply) -> Message {
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

/// The exchange of a request cycle and the reply the server gave it.
pub(super) fn exchange(cycle: Waiting<()>, reply: Reply) -> Exchange {
    Exchange {
        protocol: "postgres",
        response: response_fields(&reply),
        error: cycle.error,
        start: Some(cycle.start),
        end: Some(reply.end.unwrap_or(cycle.end)),
        request: cycle.request,
        ..Exchange::default()
    }
}
