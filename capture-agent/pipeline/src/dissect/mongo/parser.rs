//! One MongoDB connection: messages framed by their headers, requests waiting for the reply
//! whose `responseTo` is their id, and what each side's documents say.

use serde_json::{Value, json};
use shark_store::Message;

use super::bson::Bson;
use super::wire::{self, Body, HEADER, Header, MORE_TO_COME, OP_QUERY, expects_reply, opcode_name};
use crate::dissect::pdu::{Pdu, PduFormat, PduFramer, PduHeader};
use crate::dissect::pending::{PendingQueue, Waiting};
use crate::dissect::{ChunkMeta, Direction, Exchange, Parser, Unfinished};

/// Requests waiting for their replies, per connection.
const MAX_PENDING: usize = 1024;
/// Body bytes kept of every message however small `--max-body` is, so the command is read.
const MIN_KEEP: usize = 16 << 10;

/// One direction's messages, each keeping the first `keep` bytes of its body.
struct Messages {
    keep: usize,
}

impl PduFormat for Messages {
    type Head = Header;

    fn header_len(&self) -> usize {
        HEADER
    }

    fn read_header(&mut self, bytes: &[u8]) -> Option<PduHeader<Header>> {
        let head = wire::header(bytes)?;
        let body_len = head.len - HEADER;
        Some(PduHeader {
            head,
            body_len,
            keep: body_len.min(self.keep),
        })
    }

    fn plausible_start(&self, bytes: &[u8]) -> bool {
        wire::header(bytes).is_some()
    }
}

/// Per-flow MongoDB state.
pub(super) struct MongoParser {
    framers: [PduFramer<Header>; 2],
    format: Messages,
    max_body: usize,
    pending: PendingQueue<i32>,
}

impl MongoParser {
    /// A connection whose documents are shown up to `max_body` bytes.
    pub(super) fn new(max_body: usize) -> Self {
        MongoParser {
            framers: [PduFramer::default(), PduFramer::default()],
            format: Messages {
                keep: max_body.max(MIN_KEEP),
            },
            max_body,
            pending: PendingQueue::new(
                "mongo",
                MAX_PENDING,
                "no reply (too many requests waiting)",
            ),
        }
    }
}

impl Parser for MongoParser {
    fn feed(&mut self, dir: Direction, data: &[u8], meta: ChunkMeta, out: &mut Vec<Exchange>) {
        let mut messages = Vec::new();
        self.framers[dir.slot()].feed(&mut self.format, data, meta, &mut messages);
        for message in messages {
            match dir {
                Direction::ToServer => self.request(message, out),
                Direction::ToClient => self.reply(message, out),
            }
        }
    }

    fn gap(&mut self, dir: Direction, out: &mut Vec<Exchange>) {
        self.framers[dir.slot()].lose_sync();
        if dir == Direction::ToClient {
            self.pending.give_up_all("reply lost in a capture gap", out);
        }
    }

    fn close(&mut self, reason: &str, out: &mut Vec<Exchange>) {
        // A request whose last bytes never came counts only those that did.
        let unseen = self.framers[Direction::ToServer.slot()].take_unseen() as u64;
        if let Some(last) = self.pending.back_mut() {
            last.set_size(last.size().saturating_sub(unseen));
        }
        self.pending.close(reason, out);
    }

    /// Requests waiting for replies, and messages half read.
    fn unfinished(&self) -> Unfinished {
        let framing = self.framers.iter().map(PduFramer::started);
        Unfinished::earliest(self.pending.starts().chain(framing))
    }
}

impl MongoParser {
    fn request(&mut self, message: Pdu<Header>, out: &mut Vec<Exchange>) {
        let head = message.head;
        let body = wire::body(head.opcode, &message.body, head.len - HEADER, self.max_body);
        let mut fields = self.common(&head, &body, message.size);
        fields.insert("requestId".into(), json!(head.request_id));
        let command = command(&body);
        let namespace = body
            .namespace
            .as_deref()
            .or_else(|| legacy_namespace(&head, &message.body));
        let (ns_db, ns_collection) = match namespace.and_then(|ns| ns.split_once('.')) {
            Some((db, collection)) => (Some(db), Some(collection).filter(|c| *c != "$cmd")),
            None => (namespace, None),
        };
        let doc = unwrap_query(&body.doc);
        let database = doc.get("$db").and_then(Bson::as_str).or(ns_db);
        let collection = command
            .as_deref()
            .and_then(|name| match name {
                "getMore" => doc.get("collection"),
                _ => doc.get(name),
            })
            .and_then(Bson::as_str)
            .or(ns_collection);
        for (key, value) in [
            ("command", command.as_deref()),
            ("database", database),
            ("collection", collection),
        ] {
            if let Some(value) = value {
                fields.insert(key.into(), json!(value));
            }
        }
        let waits = expects_reply(body.opcode) && body.flags & MORE_TO_COME == 0;
        if !waits {
            out.push(Exchange {
                protocol: "mongo",
                request: fields,
                start: Some(message.start),
                end: Some(message.end),
                ..Exchange::default()
            });
            return;
        }
        let waiting = Waiting {
            request: fields,
            start: message.start,
            end: message.end,
            error: None,
            pairing: head.request_id,
        };
        self.pending.push(waiting, out);
    }

    fn reply(&mut self, message: Pdu<Header>, out: &mut Vec<Exchange>) {
        let head = message.head;
        let body = wire::body(head.opcode, &message.body, head.len - HEADER, self.max_body);
        let mut fields = self.common(&head, &body, message.size);
        outcome(&body, &mut fields);
        let index = self
            .pending
            .iter()
            .position(|waiting| waiting.pairing == head.response_to);
        let answered = index.and_then(|index| self.pending.remove(index));
        let Some(waiting) = answered else {
            out.push(Exchange {
                protocol: "mongo",
                response: fields,
                error: Some("reply without a request (capture started mid-connection?)".into()),
                start: Some(message.start),
                end: Some(message.end),
                ..Exchange::default()
            });
            return;
        };
        if body.flags & MORE_TO_COME != 0 {
            // An exhaust cursor: the next reply answers this one, for the same command.
            let mut request = Message::new();
            for key in ["opcode", "command", "database", "collection"] {
                if let Some(value) = waiting.request.get(key) {
                    request.insert(key.into(), value.clone());
                }
            }
            request.insert("size".into(), json!(0));
            let next = Waiting {
                request,
                start: message.start,
                end: message.start,
                error: None,
                pairing: head.request_id,
            };
            self.pending.push(next, out);
        }
        out.push(Exchange {
            protocol: "mongo",
            request: waiting.request,
            response: fields,
            error: waiting.error,
            start: Some(waiting.start),
            end: Some(message.end),
            ..Exchange::default()
        });
    }

    /// What both sides carry: opcode, compressor, body, size.
    fn common(&self, head: &Header, body: &Body, size: u64) -> Message {
        let mut fields = Message::new();
        let opcode = opcode_name(body.opcode).or(opcode_name(head.opcode));
        if let Some(opcode) = opcode {
            fields.insert("opcode".into(), json!(opcode));
        }
        if let Some((compressor, _)) = body.compressor {
            fields.insert("compressor".into(), json!(compressor));
        }
        let empty = body.doc.first_key().is_none() && body.more.is_empty();
        if !empty && !matches!(body.compressor, Some((_, false))) {
            let mut text = if body.more.is_empty() {
                body.doc.json_text()
            } else {
                // A legacy query's results: every document.
                let all = std::iter::once(&body.doc).chain(&body.more).cloned();
                Bson::Array(all.collect()).json_text()
            };
            let mut cut = self.max_body.min(text.len());
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
            fields.insert("body".into(), json!(text));
        }
        fields.insert("size".into(), json!(size));
        fields
    }
}

/// The command a request runs: its document's first key (inside `$query` when wrapped), or
/// `find` for a legacy query on a collection, or the legacy opcode's.
fn command(body: &Body) -> Option<String> {
    if body.opcode == OP_QUERY
        && body
            .namespace
            .as_deref()
            .is_some_and(|ns| !ns.ends_with(".$cmd"))
    {
        return Some("find".into());
    }
    let legacy = match body.opcode {
        2001 => Some("update"),
        2002 => Some("insert"),
        2005 => Some("getMore"),
        2006 => Some("delete"),
        2007 => Some("killCursors"),
        _ => None,
    };
    if let Some(legacy) = legacy {
        return Some(legacy.into());
    }
    unwrap_query(&body.doc).first_key().map(str::to_string)
}

/// A command wrapped as `{$query: {...}, $readPreference: ...}` (`OP_QUERY` through mongos), unwrapped.
fn unwrap_query(doc: &Bson) -> &Bson {
    match doc.first_key() {
        Some("$query" | "query") => doc
            .get("$query")
            .or_else(|| doc.get("query"))
            .unwrap_or(doc),
        _ => doc,
    }
}

/// The namespace of a legacy `OP_UPDATE`, `OP_INSERT`, `OP_GET_MORE` or `OP_DELETE` (after a
/// 4-byte word).
fn legacy_namespace<'a>(head: &Header, body: &'a [u8]) -> Option<&'a str> {
    if !matches!(head.opcode, 2001 | 2002 | 2005 | 2006) {
        return None;
    }
    let rest = body.get(4..)?;
    let end = rest.iter().position(|&b| b == 0)?;
    std::str::from_utf8(rest.get(..end)?).ok()
}

/// Writes what a reply says of the command's outcome: `ok`, the error, the documents returned.
fn outcome(body: &Body, fields: &mut Message) {
    let doc = &body.doc;
    let ok = doc.get("ok").and_then(Bson::as_f64);
    if let Some(ok) = ok {
        fields.insert("ok".into(), json!(if ok == 1.0 { 1 } else { 0 }));
    }
    // The reply's own error, else the first write error, else the write concern's.
    let first_write_error = doc
        .get("writeErrors")
        .and_then(Bson::as_array)
        .and_then(<[Bson]>::first);
    let concern = doc.get("writeConcernError");
    let own = doc.get("errmsg").is_some() || doc.get("$err").is_some() || ok == Some(0.0);
    let source = if own {
        Some(doc)
    } else {
        first_write_error.or(concern)
    };
    let mut failed = ok == Some(0.0);
    if let Some(source) = source {
        let errmsg = source.get("errmsg").or_else(|| source.get("$err"));
        if let Some(errmsg) = errmsg.and_then(Bson::as_str) {
            fields.insert("errmsg".into(), json!(errmsg));
            failed = true;
        }
        if let Some(code) = source.get("code").and_then(Bson::as_i64) {
            // Text, as every protocol's `code` (SQLSTATE) is; `status` has it as a number.
            fields.insert("code".into(), json!(code.to_string()));
            failed = true;
        }
        if let Some(name) = source.get("codeName").and_then(Bson::as_str) {
            fields.insert("codeName".into(), json!(name));
        }
    }
    let code = fields.get("code").and_then(Value::as_str);
    let status = match code.and_then(|code| code.parse::<i64>().ok()) {
        Some(code) if failed && code != 0 => code,
        _ if failed => 1,
        _ => 0,
    };
    fields.insert("status".into(), json!(status));
    let batch = doc
        .get("cursor")
        .and_then(|c| c.get("firstBatch").or_else(|| c.get("nextBatch")))
        .and_then(Bson::as_array);
    let documents = batch
        .map(|batch| batch.len() as i64)
        .or_else(|| doc.get("n").and_then(Bson::as_i64))
        .or_else(|| {
            // A legacy query's reply: its documents are the results.
            (body.opcode == wire::OP_REPLY && ok.is_none())
                .then(|| body.returned.map(i64::from))
                .flatten()
        });
    if let Some(documents) = documents {
        fields.insert("documents".into(), json!(documents));
    }
}
