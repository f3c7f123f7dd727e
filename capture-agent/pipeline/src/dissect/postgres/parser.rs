//! One PostgreSQL connection: frontend messages grouped into request cycles (a startup, a simple
//! Query, an extended batch up to Sync), cycles queued until the server's ReadyForQuery ends
//! them, prepared statements and portals remembered to name the SQL a batch runs, and the wire
//! size of both sides of each cycle.

use std::collections::HashMap;

use serde_json::json;
use shark_store::Message;

use super::framing::{Backend, Frontend, be32};
use super::messages::{
    CANCEL_REQUEST, CycleKind, GSSENC_REQUEST, PROTOCOL_3, Reply, SSL_REQUEST, error_fields,
    exchange, response_fields, startup_fields,
};
use crate::dissect::pdu::{Pdu, PduFramer};
use crate::dissect::pending::{PendingQueue, Waiting};
use crate::dissect::{ChunkMeta, Direction, Exchange, Parser, Unfinished};

/// Prepared statements and portals remembered per connection.
const MAX_NAMES: usize = 1024;
/// Request cycles waiting for ReadyForQuery.
const MAX_PENDING: usize = 4096;

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
pub(super) struct PostgresParser {
    client: PduFramer<u8>,
    /// What the client's next message looks like.
    frontend: Frontend,
    server: PduFramer<u8>,
    /// What the server's next message looks like.
    backend: Backend,
    first_client_bytes: bool,
    /// TLS was accepted: the rest of the flow is encrypted.
    encrypted: bool,
    cycle: Option<Cycle>,
    statements: HashMap<String, String>,
    portals: HashMap<String, String>,
    pending: PendingQueue<()>,
    reply: Reply,
    /// A client gap lost part of the next request.
    client_gap: bool,
}

impl Default for PostgresParser {
    fn default() -> Self {
        PostgresParser {
            client: PduFramer::default(),
            frontend: Frontend::default(),
            server: PduFramer::default(),
            backend: Backend::default(),
            first_client_bytes: false,
            encrypted: false,
            cycle: None,
            statements: HashMap::new(),
            portals: HashMap::new(),
            pending: PendingQueue::new(
                "postgres",
                MAX_PENDING,
                "no response (too many outstanding requests)",
            ),
            reply: Reply::default(),
            client_gap: false,
        }
    }
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
                    self.frontend.untyped_next = be32(data, 4).is_some_and(|c| {
                        matches!(
                            c,
                            SSL_REQUEST | GSSENC_REQUEST | CANCEL_REQUEST | PROTOCOL_3
                        )
                    });
                }
                self.client
                    .feed(&mut self.frontend, data, meta, &mut frames);
                for frame in frames {
                    self.client_message(frame, out);
                }
            }
            Direction::ToClient => {
                self.server.feed(&mut self.backend, data, meta, &mut frames);
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
                self.client.lose_sync();
                self.frontend = Frontend::default();
                self.cycle = None;
                self.client_gap = true;
            }
            Direction::ToClient => {
                self.server.lose_sync();
                self.reply = Reply::default();
                self.pending
                    .give_up_all("response lost in a capture gap", out);
            }
        }
    }

    fn close(&mut self, reason: &str, out: &mut Vec<Exchange>) {
        self.uncount_unseen_request_bytes();
        // The backend message being read when the flow ended never passed whole.
        let unseen = self.server.take_unseen();
        self.reply.size = self.reply.size.saturating_sub(unseen as u64);
        if self.reply.seen
            && let Some(front) = self.pending.pop_front()
        {
            // The server answered (e.g. a fatal error at startup) and closed without ReadyForQuery.
            let reply = std::mem::take(&mut self.reply);
            out.push(exchange(front, reply));
        }
        self.pending.close(reason, out);
    }

    /// Cycles waiting for ReadyForQuery, the batch being sent, and messages half read.
    fn unfinished(&self) -> Unfinished {
        let open = [
            self.cycle.as_ref().map(|c| c.start),
            self.client.started(),
            self.server.started(),
        ];
        Unfinished::earliest(self.pending.starts().chain(open))
    }
}

impl PostgresParser {
    fn client_message(&mut self, frame: Pdu<u8>, out: &mut Vec<Exchange>) {
        let mut strings = frame
            .body
            .split(|&b| b == 0)
            .map(|s| String::from_utf8_lossy(s).into_owned());
        match frame.head {
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
        let unseen = self.client.take_unseen();
        if self.cycle.is_none()
            && let Some(last) = self.pending.back_mut()
        {
            last.set_size(last.size().saturating_sub(unseen as u64));
        }
    }

    /// Counts the bytes of a message that continues a cycle (password, COPY data) toward the open
    /// cycle, else the last one sent; with neither (Terminate after the last reply) they belong to
    /// no exchange.
    fn continue_cycle(&mut self, size: u64) {
        if let Some(cycle) = self.cycle.as_mut() {
            cycle.size += size;
        } else if let Some(last) = self.pending.back_mut() {
            last.set_size(last.size() + size);
        }
    }

    /// StartupMessage, SSLRequest, GSSENCRequest or CancelRequest.
    fn untyped(&mut self, frame: Pdu<u8>, out: &mut Vec<Exchange>) {
        let code = be32(&frame.body, 0).unwrap_or(0);
        match code {
            SSL_REQUEST | GSSENC_REQUEST => {
                let mut request = Message::new();
                request.insert(
                    "encryption".into(),
                    json!(if code == SSL_REQUEST { "ssl" } else { "gssapi" }),
                );
                self.backend.answer_byte_next = true;
                self.frontend.untyped_next = true;
                self.push(CycleKind::Ssl, request, &frame, frame.start, out);
            }
            CANCEL_REQUEST => {
                let mut request = Message::new();
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
                let request = startup_fields(code, &frame.body);
                self.push(CycleKind::Startup, request, &frame, frame.start, out);
            }
        }
    }

    /// The open extended-protocol cycle (opened by `frame` if none is), with `frame` counted in.
    fn cycle_mut(&mut self, frame: &Pdu<u8>) -> &mut Cycle {
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
        last: &Pdu<u8>,
        start: ChunkMeta,
        out: &mut Vec<Exchange>,
    ) {
        request.insert("type".into(), json!(kind.name()));
        request.insert("size".into(), json!(last.size));
        let error = std::mem::take(&mut self.client_gap)
            .then(|| "request partly lost in a capture gap".to_string());
        let cycle = Waiting {
            request,
            start,
            end: last.end,
            error,
            pairing: (),
        };
        if self.pending.push(cycle, out) {
            // The reply so far belonged to the cycle given up.
            self.reply = Reply::default();
        }
    }

    fn server_message(&mut self, frame: Pdu<u8>, out: &mut Vec<Exchange>) {
        self.reply.size += frame.size;
        self.reply.seen = true;
        self.reply.end = Some(frame.end);
        match frame.head {
            0 => {
                // The one-byte answer to SSLRequest/GSSENCRequest.
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
