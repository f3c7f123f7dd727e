//! One MySQL connection: the server's greeting and the client's login (one `HANDSHAKE` exchange
//! up to the server's OK or ERR), then commands, each paired in order with the server's reply;
//! prepared statements' SQL remembered by id to name what COM_STMT_EXECUTE runs; the wire size of
//! both sides of each exchange.

use std::collections::HashMap;

use serde_json::json;
use shark_store::Message;

use super::framing::{Head, Side, le32};
use super::packets::{
    CLIENT_COMPRESS, CLIENT_DEPRECATE_EOF, COM_CHANGE_USER, COM_FIELD_LIST, COM_INIT_DB, COM_QUERY,
    COM_STATISTICS, COM_STMT_EXECUTE, COM_STMT_FETCH, COM_STMT_PREPARE, Greeting, Login, answered,
    command_name, err, greeting, login, text,
};
use super::reply::{Expect, Reply, Step};
use crate::dissect::pdu::{Pdu, PduFramer};
use crate::dissect::pending::{PendingQueue, Waiting};
use crate::dissect::{ChunkMeta, Direction, Exchange, Parser, Unfinished};

/// Prepared statements remembered per connection.
const MAX_STATEMENTS: usize = 1024;
/// Commands waiting for their replies.
const MAX_PENDING: usize = 1024;
/// Capability: COM_QUERY carries query attributes before the SQL (MySQL 8.0.23+).
const CLIENT_QUERY_ATTRIBUTES: u32 = 1 << 27;

/// Where the connection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Nothing seen yet.
    Start,
    /// The server greeted; the client's login comes next.
    Greeted,
    /// Commands and replies.
    Commands,
    /// TLS was requested (or compression negotiated): the rest is not readable.
    Opaque,
}

/// The server's greeting, kept for the login's exchange.
struct Greeted {
    greeting: Greeting,
    start: ChunkMeta,
    end: ChunkMeta,
    size: u64,
}

/// A prepared statement, as its prepare said.
struct Statement {
    sql: String,
    /// Its result columns' names: what an execute's reply without definitions (MariaDB's cached
    /// metadata) has.
    columns: Vec<String>,
}

/// What a waiting command is paired by: the reply it expects.
struct Asked {
    expect: Expect,
    /// The login negotiated compression: after its OK the packets are compressed.
    compress: bool,
}

/// Per-flow MySQL state.
pub(super) struct MysqlParser {
    client: PduFramer<Head>,
    client_side: Side,
    server: PduFramer<Head>,
    server_side: Side,
    phase: Phase,
    greeted: Option<Greeted>,
    /// Both sides' capabilities, once the login was seen.
    caps: u32,
    /// Whether result sets end with OK instead of EOF packets, once known.
    deprecate_eof: Option<bool>,
    /// Prepared statements by id: their SQL and result columns.
    statements: HashMap<u32, Statement>,
    pending: PendingQueue<Asked>,
    /// The reply to the oldest waiting command, once its first packet came.
    reply: Option<Reply>,
    /// A client gap lost part of the next command.
    client_gap: bool,
}

impl Default for MysqlParser {
    fn default() -> Self {
        MysqlParser {
            client: PduFramer::default(),
            client_side: Side::new(Direction::ToServer),
            server: PduFramer::default(),
            server_side: Side::new(Direction::ToClient),
            phase: Phase::Start,
            greeted: None,
            caps: 0,
            deprecate_eof: None,
            statements: HashMap::new(),
            pending: PendingQueue::new(
                "mysql",
                MAX_PENDING,
                "no response (too many outstanding commands)",
            ),
            reply: None,
            client_gap: false,
        }
    }
}

impl Parser for MysqlParser {
    fn feed(&mut self, dir: Direction, data: &[u8], meta: ChunkMeta, out: &mut Vec<Exchange>) {
        if self.phase == Phase::Opaque {
            return;
        }
        let mut packets = Vec::new();
        match dir {
            Direction::ToServer => {
                self.client
                    .feed(&mut self.client_side, data, meta, &mut packets);
                for packet in packets {
                    self.client_packet(packet, out);
                }
            }
            Direction::ToClient => {
                self.server
                    .feed(&mut self.server_side, data, meta, &mut packets);
                for packet in packets {
                    self.server_packet(packet, out);
                }
            }
        }
    }

    fn gap(&mut self, dir: Direction, out: &mut Vec<Exchange>) {
        match dir {
            Direction::ToServer => {
                self.uncount_unseen_request_bytes();
                self.client.lose_sync();
                self.client_side = Side::new(Direction::ToServer);
                self.client_gap = true;
            }
            Direction::ToClient => {
                self.server.lose_sync();
                self.server_side = Side::new(Direction::ToClient);
                self.reply = None;
                self.greeted = None;
                self.pending
                    .give_up_all("response lost in a capture gap", out);
            }
        }
        if self.phase != Phase::Opaque {
            self.phase = Phase::Commands;
        }
    }

    fn close(&mut self, reason: &str, out: &mut Vec<Exchange>) {
        self.uncount_unseen_request_bytes();
        let unseen = self.server.take_unseen() as u64;
        if let Some(reply) = self.reply.as_mut() {
            reply.size = reply.size.saturating_sub(unseen);
        }
        if let Some(greeted) = self.greeted.take() {
            // Greeted, but no login came.
            let mut request = Message::new();
            request.insert("command".into(), json!("HANDSHAKE"));
            request.insert("size".into(), json!(0));
            let mut reply = Reply::new(Expect::Auth);
            reply.version = Some(greeted.greeting.version);
            reply.size = greeted.size;
            out.push(Exchange {
                protocol: "mysql",
                request,
                response: reply.fields(),
                error: Some(format!("no login before the flow ended ({reason})")),
                start: Some(greeted.start),
                end: Some(greeted.end),
                ..Exchange::default()
            });
        }
        if let Some(reply) = self.reply.take()
            && let Some(front) = self.pending.pop_front()
        {
            out.push(exchange(
                front,
                reply,
                Some(format!(
                    "response incomplete when the flow ended ({reason})"
                )),
            ));
        }
        self.pending.close(reason, out);
    }

    /// Commands waiting for replies, the greeting waiting for a login, packets half read.
    fn unfinished(&self) -> Unfinished {
        let open = [
            self.greeted.as_ref().map(|g| g.start),
            self.client.started(),
            self.server.started(),
        ];
        Unfinished::earliest(self.pending.starts().chain(open))
    }
}

impl MysqlParser {
    fn client_packet(&mut self, packet: Pdu<Head>, out: &mut Vec<Exchange>) {
        if packet.head.continuation {
            self.continue_request(packet.size);
            return;
        }
        match self.phase {
            Phase::Start | Phase::Greeted if packet.head.seq != 0 => match login(&packet.body) {
                Some(login) => self.login(login, packet, out),
                None => self.continue_request(packet.size),
            },
            Phase::Start | Phase::Greeted | Phase::Commands if packet.head.seq == 0 => {
                self.phase = Phase::Commands;
                self.command(packet, out);
            }
            // Auth data, LOCAL INFILE contents: part of the command they answer.
            _ => self.continue_request(packet.size),
        }
    }

    /// The client's login (or SSL request) after the greeting.
    fn login(&mut self, login: Login, packet: Pdu<Head>, out: &mut Vec<Exchange>) {
        let greeted = self.greeted.take();
        let server_caps = greeted.as_ref().map_or(u32::MAX, |g| g.greeting.caps);
        self.caps = login.caps & server_caps;
        self.deprecate_eof = Some(self.caps & CLIENT_DEPRECATE_EOF != 0);
        let mut request = Message::new();
        request.insert("command".into(), json!("HANDSHAKE"));
        if let Some(user) = &login.user {
            request.insert("user".into(), json!(user));
        }
        if let Some(database) = &login.database {
            request.insert("database".into(), json!(database));
        }
        request.insert("tls".into(), json!(login.tls));
        request.insert("size".into(), json!(packet.size));
        let start = greeted.as_ref().map_or(packet.start, |g| g.start);
        let mut reply = Reply::new(Expect::Auth);
        if let Some(greeted) = greeted {
            reply.version = Some(greeted.greeting.version);
            reply.size = greeted.size;
            reply.end = Some(greeted.end);
        }
        if login.tls {
            // The TLS handshake follows at once: the greeting is all the reply there is to read.
            self.phase = Phase::Opaque;
            out.push(Exchange {
                protocol: "mysql",
                request,
                response: reply.fields(),
                error: self.take_client_gap(),
                start: Some(start),
                end: Some(packet.end),
                ..Exchange::default()
            });
            return;
        }
        self.phase = Phase::Commands;
        let waiting = Waiting {
            request,
            start,
            end: packet.end,
            error: self.take_client_gap(),
            pairing: Asked {
                expect: Expect::Auth,
                compress: self.caps & CLIENT_COMPRESS != 0,
            },
        };
        self.push(waiting, out);
        // The greeting's bytes count toward the login's reply.
        if self.pending.iter().count() == 1 {
            self.reply = Some(reply);
        }
    }

    /// A command packet (sequence 0).
    fn command(&mut self, packet: Pdu<Head>, out: &mut Vec<Exchange>) {
        let Some((&command, args)) = packet.body.split_first() else {
            return self.continue_request(packet.size);
        };
        let mut request = Message::new();
        request.insert(
            "command".into(),
            json!(command_name(command).unwrap_or("COM_UNKNOWN")),
        );
        let expect = match command {
            COM_QUERY => {
                let sql = if self.caps & CLIENT_QUERY_ATTRIBUTES != 0 {
                    args.strip_prefix(&[0, 1]).unwrap_or(args)
                } else {
                    args
                };
                request.insert("query".into(), json!(text(sql)));
                Expect::Results
            }
            COM_STMT_PREPARE => {
                request.insert("query".into(), json!(text(args)));
                Expect::Prepared
            }
            COM_INIT_DB => {
                request.insert("database".into(), json!(text(args)));
                Expect::Status
            }
            COM_CHANGE_USER => {
                let user = args.split(|&b| b == 0).next().unwrap_or_default();
                request.insert("user".into(), json!(text(user)));
                Expect::Auth
            }
            COM_FIELD_LIST => Expect::Fields,
            COM_STATISTICS => Expect::Text,
            _ => Expect::Status,
        };
        let expect = match command {
            COM_STMT_EXECUTE => Expect::Results,
            COM_STMT_FETCH => Expect::Fetch,
            _ => expect,
        };
        // Commands naming a prepared statement by id (execute, fetch, reset, close, long data).
        if (COM_STMT_EXECUTE..=COM_STMT_FETCH).contains(&command)
            && let Some(id) = le32(&packet.body, 1)
        {
            request.insert("statementId".into(), json!(id));
            if let Some(statement) = self.statements.get(&id) {
                request.insert("query".into(), json!(statement.sql));
            }
            if command == super::packets::COM_STMT_CLOSE {
                self.statements.remove(&id);
            }
        }
        request.insert("size".into(), json!(packet.size));
        let error = self.take_client_gap();
        if !answered(command) {
            out.push(Exchange {
                protocol: "mysql",
                request,
                error,
                start: Some(packet.start),
                end: Some(packet.end),
                ..Exchange::default()
            });
            return;
        }
        let waiting = Waiting {
            request,
            start: packet.start,
            end: packet.end,
            error,
            pairing: Asked {
                expect,
                compress: false,
            },
        };
        self.push(waiting, out);
    }

    fn push(&mut self, waiting: Waiting<Asked>, out: &mut Vec<Exchange>) {
        if self.pending.push(waiting, out) {
            // The reply so far belonged to the command given up.
            self.reply = None;
        }
    }

    fn take_client_gap(&mut self) -> Option<String> {
        std::mem::take(&mut self.client_gap)
            .then(|| "request partly lost in a capture gap".to_string())
    }

    /// Counts the bytes of a packet that continues the last command (auth data, a long payload's
    /// continuation, LOCAL INFILE contents) toward it.
    fn continue_request(&mut self, size: u64) {
        if let Some(last) = self.pending.back_mut() {
            last.set_size(last.size() + size);
        }
    }

    /// The client packet being read will not pass whole: its command counts only what did.
    fn uncount_unseen_request_bytes(&mut self) {
        let unseen = self.client.take_unseen() as u64;
        if let Some(last) = self.pending.back_mut() {
            last.set_size(last.size().saturating_sub(unseen));
        }
    }

    fn server_packet(&mut self, packet: Pdu<Head>, out: &mut Vec<Exchange>) {
        if packet.head.continuation {
            if let Some(reply) = self.reply.as_mut() {
                reply.size += packet.size;
                reply.end = Some(packet.end);
            }
            return;
        }
        if self.phase == Phase::Start
            && packet.head.seq == 0
            && let Some(greeting) = greeting(&packet.body)
        {
            self.phase = Phase::Greeted;
            self.greeted = Some(Greeted {
                greeting,
                start: packet.start,
                end: packet.end,
                size: packet.size,
            });
            return;
        }
        if matches!(self.phase, Phase::Start | Phase::Greeted) && packet.body.first() == Some(&0xFF)
        {
            // The server refuses the connection instead of greeting it.
            self.refused(packet, out);
            return;
        }
        self.phase = Phase::Commands;
        self.reply_packet(packet, out);
    }

    /// An ERR in place of the greeting (host blocked, too many connections).
    fn refused(&mut self, packet: Pdu<Head>, out: &mut Vec<Exchange>) {
        let greeted = self.greeted.take();
        let mut request = Message::new();
        request.insert("command".into(), json!("HANDSHAKE"));
        request.insert("size".into(), json!(0));
        let mut reply = Reply::new(Expect::Auth);
        reply.error = Some(err(&packet.body));
        reply.size = packet.size + greeted.as_ref().map_or(0, |g| g.size);
        out.push(Exchange {
            protocol: "mysql",
            request,
            response: reply.fields(),
            start: Some(greeted.map_or(packet.start, |g| g.start)),
            end: Some(packet.end),
            ..Exchange::default()
        });
    }

    /// A packet of the reply to the oldest waiting command.
    fn reply_packet(&mut self, packet: Pdu<Head>, out: &mut Vec<Exchange>) {
        // A packet that starts the next reply is read again, once, for the next command.
        for _ in 0..2 {
            let Some(front) = self.pending.front_mut() else {
                // No command waits (the capture began mid-reply): nothing to pair it with.
                self.reply = None;
                return;
            };
            let expect = front.pairing.expect;
            let reply = self.reply.get_or_insert_with(|| Reply::new(expect));
            let step = reply.take(&packet.body, packet.size, &mut self.deprecate_eof);
            if step != Step::Spill {
                reply.size += packet.size;
                reply.end = Some(packet.end);
            }
            if step == Step::More {
                return;
            }
            let Some(front) = self.pending.pop_front() else {
                return;
            };
            let Some(reply) = self.reply.take() else {
                return;
            };
            if front.pairing.compress && reply.error.is_none() && reply.is_done() {
                // Compressed packets from here on: not read.
                self.phase = Phase::Opaque;
            }
            let mut reply = reply;
            self.remember_statement(&front, &mut reply);
            out.push(exchange(front, reply, None));
            if step == Step::Done {
                return;
            }
        }
    }

    /// Remembers a prepared statement by the id the server gave it; names the columns of an
    /// execute's reply that came without definitions.
    fn remember_statement(&mut self, front: &Waiting<Asked>, reply: &mut Reply) {
        if reply.columns.is_empty()
            && reply.column_count > 0
            && let Some(statement) = front
                .request
                .get("statementId")
                .and_then(serde_json::Value::as_u64)
                .and_then(|id| u32::try_from(id).ok())
                .and_then(|id| self.statements.get(&id))
        {
            reply.columns = statement.columns.clone();
        }
        let (Some(id), Some(sql)) = (
            reply.statement_id,
            front.request.get("query").and_then(|q| q.as_str()),
        ) else {
            return;
        };
        if self.statements.len() >= MAX_STATEMENTS && !self.statements.contains_key(&id) {
            self.statements.clear();
        }
        let statement = Statement {
            sql: sql.to_string(),
            columns: reply.columns.clone(),
        };
        self.statements.insert(id, statement);
    }
}

/// The exchange of a command and its reply; `error` when the reply was cut short.
fn exchange(front: Waiting<Asked>, reply: Reply, error: Option<String>) -> Exchange {
    let mut request = front.request;
    if let Some(id) = reply.statement_id {
        request.insert("statementId".into(), json!(id));
    }
    Exchange {
        protocol: "mysql",
        response: reply.fields(),
        error: front.error.or(error),
        start: Some(front.start),
        end: Some(reply.end.unwrap_or(front.end)),
        request,
        ..Exchange::default()
    }
}
