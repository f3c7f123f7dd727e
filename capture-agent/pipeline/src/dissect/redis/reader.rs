//! The streaming RESP reader, one per direction: it holds at most one line and a capped prefix
//! of each bulk string (payloads are skipped by count), reads requests the way the server does
//! (`processMultibulkBuffer` / `processInlineBuffer`) and any RESP2/RESP3 reply, and counts each
//! value's bytes on the wire as they pass.

use serde_json::json;
use shark_store::Message;

use super::fields::{command_name, request_fields};
use super::value::{Leaf, RespValue};
use crate::dissect::ChunkMeta;

/// Longest line (inline command or type header) kept; Redis's own inline limit is 64 KiB.
pub(super) const MAX_LINE: usize = 64 * 1024;
/// Largest bulk string Redis accepts (`proto-max-bulk-len`).
const MAX_BULK: i64 = 512 * 1024 * 1024;
/// Largest request array Redis accepts.
pub(super) const MAX_MULTIBULK: i64 = 1024 * 1024;
/// Deepest nesting of aggregates followed.
const MAX_DEPTH: usize = 64;
/// Arguments kept per command; the rest are counted only.
const MAX_ARGS: usize = 32;
/// Bytes of each argument or value kept as text.
pub(super) const MAX_TEXT: usize = 256;

/// Which side of the protocol a reader follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// Client to server: arrays of bulk strings or inline lines.
    Request,
    /// Server to client: any RESP2/RESP3 value.
    Response,
}

/// An open aggregate: elements still expected, and whether it is an attribute (RESP3 `|`),
/// which decorates the value after it rather than being one.
struct Aggregate {
    remaining: u64,
    attribute: bool,
}

/// Streaming RESP reader for one direction.
#[derive(Default)]
pub(super) struct Reader {
    line: Vec<u8>,
    /// The current line outgrew [`MAX_LINE`]: skip to its end.
    line_overflow: bool,
    /// Bulk payload bytes still to read, then 2 for its CRLF.
    bulk_left: u64,
    crlf_left: u8,
    bulk_kind: u8,
    bulk_text: Vec<u8>,
    stack: Vec<Aggregate>,
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
pub(super) struct Partial {
    /// The request fields read so far, with the bytes that arrived as `size`.
    pub(super) fields: Message,
    /// The chunk of its first byte.
    pub(super) start: ChunkMeta,
    /// The chunk of its last complete line.
    pub(super) end: ChunkMeta,
}

impl Reader {
    /// Reads `data`, pushing every value it completes with its size on the wire.
    pub(super) fn feed(
        &mut self,
        role: Role,
        mut data: &[u8],
        meta: ChunkMeta,
        values: &mut Vec<RespValue>,
    ) {
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
                    self.stack.push(Aggregate {
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
                    self.stack.push(Aggregate {
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

    /// Bytes were lost: forget the value being read and wait for a line that opens one.
    pub(super) fn lose_sync(&mut self) {
        *self = Reader {
            lost_sync: true,
            ..Reader::default()
        };
    }

    /// The value being read when its bytes stopped, with the bytes that arrived as its `size`.
    pub(super) fn take_partial(&mut self) -> Option<RespValue> {
        let mut value = self.current.take()?;
        value.size = self.value_bytes;
        Some(value)
    }

    /// Where the value being read began, if one is being read.
    pub(super) fn started(&self) -> Option<ChunkMeta> {
        match &self.current {
            Some(value) => Some(value.start),
            None if !self.line.is_empty() || self.line_overflow => self.line_start,
            None => None,
        }
    }

    /// The request being read when its bytes stopped (a gap, or the end of the flow), if any.
    pub(super) fn partial(&self) -> Option<Partial> {
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

/// A line without its trailing CR.
pub(super) fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}
