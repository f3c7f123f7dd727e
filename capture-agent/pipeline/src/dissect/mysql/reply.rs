//! The server's reply to one command, read packet by packet: OK, ERR, a result set (column count,
//! column definitions, an EOF unless the connection deprecated it, rows, a terminating EOF or OK,
//! and more result sets while the status says so), COM_STMT_PREPARE_OK and its definitions, or the
//! packets of an authentication exchange.

use serde_json::json;
use shark_store::Message;

use super::framing::lenenc;
use super::packets::{
    Err, SERVER_MORE_RESULTS_EXISTS, column_name, eof_status, err, is_eof, is_progress, ok,
    prepare_ok, text,
};
use crate::dissect::ChunkMeta;

/// Column names kept per reply.
const MAX_COLUMNS: usize = 64;

/// What kind of reply a command gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Expect {
    /// OK or ERR (COM_INIT_DB, COM_PING, …).
    Status,
    /// A result set, OK or ERR (COM_QUERY, COM_STMT_EXECUTE).
    Results,
    /// Rows then EOF, no column definitions (COM_STMT_FETCH).
    Fetch,
    /// COM_STMT_PREPARE_OK and its definitions, or ERR.
    Prepared,
    /// Column definitions up to EOF (COM_FIELD_LIST).
    Fields,
    /// A bare string (COM_STATISTICS).
    Text,
    /// Authentication packets ending with OK or ERR (the login, COM_CHANGE_USER).
    Auth,
}

/// Where in the reply the next packet falls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// The first packet of a reply, or of the next result set.
    First,
    /// Column definitions still to come.
    Columns(u64),
    /// The columns are done: the EOF that ends them (unless deprecated), else the rows.
    ColumnsEof,
    /// Rows up to the terminating EOF or OK.
    Rows,
    /// COM_FIELD_LIST's definitions up to EOF.
    FieldList,
    /// COM_STMT_PREPARE_OK's definitions: parameters, their EOF, columns, their EOF.
    Prepared {
        params: u64,
        params_eof: bool,
        columns: u64,
        columns_eof: bool,
    },
    /// The reply is complete.
    Done,
}

/// What a packet did to the reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    /// It belongs to the reply, which goes on.
    More,
    /// It completed the reply.
    Done,
    /// The reply was complete already: the packet begins the next one.
    Spill,
}

/// A reply being read, and what it said so far.
#[derive(Debug)]
pub(super) struct Reply {
    expect: Expect,
    stage: Stage,
    /// Column names of the (first) result set or prepared statement, the first [`MAX_COLUMNS`].
    pub columns: Vec<String>,
    /// Columns announced.
    pub column_count: u64,
    /// Rows read.
    pub rows: u64,
    /// Rows changed, from OK packets.
    pub affected_rows: Option<u64>,
    /// The ERR packet, if one came.
    pub error: Option<Err>,
    /// The statement id COM_STMT_PREPARE_OK gave.
    pub statement_id: Option<u32>,
    /// COM_STATISTICS' string.
    pub text: Option<String>,
    /// The server version, for the login's reply (from the greeting).
    pub version: Option<String>,
    /// Bytes of the reply's packets so far.
    pub size: u64,
    /// The chunk of the last packet.
    pub end: Option<ChunkMeta>,
}

impl Reply {
    /// A reply of the kind `expect`, nothing read yet.
    pub(super) fn new(expect: Expect) -> Self {
        Reply {
            expect,
            stage: match expect {
                Expect::Fetch => Stage::Rows,
                _ => Stage::First,
            },
            columns: Vec::new(),
            column_count: 0,
            rows: 0,
            affected_rows: None,
            error: None,
            statement_id: None,
            text: None,
            version: None,
            size: 0,
            end: None,
        }
    }

    /// Reads the next packet's `payload` (as kept; `size` on the wire with its header).
    /// `deprecate_eof` is whether the connection ends result sets with OK instead of EOF, when
    /// known; a result set's shape tells it otherwise, and it is set then.
    pub(super) fn take(
        &mut self,
        payload: &[u8],
        size: u64,
        deprecate_eof: &mut Option<bool>,
    ) -> Step {
        let first = payload.first().copied();
        if first == Some(0xFF) && is_progress(payload) {
            return self.more();
        }
        match self.stage {
            Stage::Done => Step::Spill,
            _ if first == Some(0xFF) && self.expect != Expect::Text => {
                self.error = Some(err(payload));
                self.done()
            }
            Stage::First => self.first(payload, size, *deprecate_eof),
            Stage::Columns(left) => {
                self.column(payload);
                self.stage = match left.saturating_sub(1) {
                    0 if *deprecate_eof == Some(true) => Stage::Rows,
                    0 => Stage::ColumnsEof,
                    left => Stage::Columns(left),
                };
                self.more()
            }
            Stage::ColumnsEof if is_eof(payload, size) => {
                if payload.len() == 5 {
                    // The classic EOF after the definitions; the rows follow.
                    deprecate_eof.get_or_insert(false);
                    self.stage = Stage::Rows;
                    self.more()
                } else {
                    // An OK-form terminator: an empty result set of a connection without EOFs.
                    *deprecate_eof = Some(true);
                    self.end_of_set(ok(payload).status)
                }
            }
            Stage::ColumnsEof => {
                *deprecate_eof = Some(true);
                self.stage = Stage::Rows;
                self.rows += 1;
                self.more()
            }
            Stage::Rows if is_eof(payload, size) => {
                let status = if payload.len() == 5 && *deprecate_eof != Some(true) {
                    eof_status(payload)
                } else {
                    ok(payload).status
                };
                self.end_of_set(status)
            }
            Stage::Rows => {
                self.rows = self.rows.saturating_add(1);
                self.more()
            }
            Stage::FieldList if is_eof(payload, size) => self.done(),
            Stage::FieldList => {
                self.column(payload);
                self.more()
            }
            Stage::Prepared {
                params,
                params_eof,
                columns,
                columns_eof,
            } => self.prepared(payload, size, params, params_eof, columns, columns_eof),
        }
    }

    /// The first packet of a reply or of a further result set.
    fn first(&mut self, payload: &[u8], size: u64, deprecate_eof: Option<bool>) -> Step {
        let first = payload.first().copied();
        match (self.expect, first) {
            (Expect::Text, _) => {
                self.text = Some(text(payload));
                self.done()
            }
            (Expect::Auth, Some(0x00)) => self.done(),
            // Auth switch, more auth data: the exchange goes on.
            (Expect::Auth, _) => self.more(),
            (Expect::Prepared, Some(0x00)) => {
                let Some((id, columns, params)) = prepare_ok(payload) else {
                    return self.done();
                };
                self.statement_id = Some(id);
                self.column_count = u64::from(columns);
                let eofs = deprecate_eof != Some(true);
                self.stage = Stage::Prepared {
                    params: u64::from(params),
                    params_eof: eofs && params > 0,
                    columns: u64::from(columns),
                    columns_eof: eofs && columns > 0,
                };
                self.check_prepared()
            }
            (Expect::Fields, Some(0xFE)) if is_eof(payload, size) => self.done(),
            (Expect::Fields, _) => {
                self.column(payload);
                self.stage = Stage::FieldList;
                self.more()
            }
            (_, Some(0x00)) => {
                let ok = ok(payload);
                *self.affected_rows.get_or_insert(0) += ok.affected_rows;
                self.end_of_set(ok.status)
            }
            (_, Some(0xFE)) if is_eof(payload, size) => self.end_of_set(eof_status(payload)),
            // LOCAL INFILE: the client sends the file, then the server's OK or ERR.
            (Expect::Results, Some(0xFB)) => self.more(),
            (Expect::Results, _) => match lenenc(payload) {
                Some((count, used)) if count > 0 => {
                    if self.column_count == 0 {
                        self.column_count = count;
                    }
                    // MariaDB's cached metadata: a byte after the count says whether the
                    // definitions follow (the client has them from the prepare otherwise).
                    self.stage = match payload.get(used) {
                        Some(0) if deprecate_eof == Some(true) => Stage::Rows,
                        Some(0) => Stage::ColumnsEof,
                        _ => Stage::Columns(count),
                    };
                    self.more()
                }
                _ => self.done(),
            },
            _ => self.done(),
        }
    }

    /// One packet of COM_STMT_PREPARE_OK's definitions.
    fn prepared(
        &mut self,
        payload: &[u8],
        size: u64,
        mut params: u64,
        mut params_eof: bool,
        mut columns: u64,
        mut columns_eof: bool,
    ) -> Step {
        let eof = is_eof(payload, size);
        if params > 0 {
            params -= 1;
        } else if params_eof && eof {
            params_eof = false;
        } else if columns > 0 {
            // A missing EOF after the parameters is not waited for.
            params_eof = false;
            self.column(payload);
            columns -= 1;
        } else if columns_eof && eof {
            columns_eof = false;
        } else {
            // No EOF after the columns after all: the packet is the next reply's.
            self.stage = Stage::Done;
            return Step::Spill;
        }
        self.stage = Stage::Prepared {
            params,
            params_eof,
            columns,
            columns_eof,
        };
        self.check_prepared()
    }

    /// Done once every definition COM_STMT_PREPARE_OK announced has come.
    fn check_prepared(&mut self) -> Step {
        match self.stage {
            Stage::Prepared {
                params: 0,
                params_eof: false,
                columns: 0,
                columns_eof: false,
            } => self.done(),
            _ => self.more(),
        }
    }

    /// A result set ended with server `status`: another follows, or the reply is done.
    fn end_of_set(&mut self, status: u16) -> Step {
        if status & SERVER_MORE_RESULTS_EXISTS != 0 {
            self.stage = Stage::First;
            self.more()
        } else {
            self.done()
        }
    }

    /// Keeps a column definition's name.
    fn column(&mut self, payload: &[u8]) {
        if self.columns.len() < MAX_COLUMNS {
            self.columns.push(column_name(payload).unwrap_or_default());
        }
    }

    fn more(&mut self) -> Step {
        Step::More
    }

    fn done(&mut self) -> Step {
        self.stage = Stage::Done;
        Step::Done
    }

    /// Whether the reply is complete.
    pub(super) fn is_done(&self) -> bool {
        self.stage == Stage::Done
    }

    /// The response fields: `status` (0, else the error code), `error` and `code` (SQLSTATE) of
    /// an ERR, `columns` and `rows` of a result set, `affectedRows` of an OK, `version` of a
    /// login, `statusText` (COM_STATISTICS' string), `size`.
    pub(super) fn fields(&self) -> Message {
        let mut response = Message::new();
        let status = self.error.as_ref().map_or(0, |e| e.code);
        response.insert("status".into(), json!(status));
        if let Some(e) = &self.error {
            response.insert("error".into(), json!(e.message));
            if let Some(state) = &e.sqlstate {
                response.insert("code".into(), json!(state));
            }
        }
        let result_set = match self.expect {
            Expect::Results => self.column_count > 0,
            Expect::Fetch => true,
            _ => false,
        };
        if result_set || !self.columns.is_empty() {
            response.insert("columns".into(), json!(self.columns));
        }
        if result_set {
            response.insert("rows".into(), json!(self.rows));
        }
        if let Some(rows) = self.affected_rows {
            response.insert("affectedRows".into(), json!(rows));
        }
        if let Some(version) = &self.version {
            response.insert("version".into(), json!(version));
        }
        if let Some(text) = &self.text {
            response.insert("statusText".into(), json!(text));
        }
        response.insert("size".into(), json!(self.size));
        response
    }
}
