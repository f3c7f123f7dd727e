//! MySQL and MariaDB client/server protocol
//! (<https://dev.mysql.com/doc/dev/mysql-server/latest/PAGE_PROTOCOL.html>,
//! <https://mariadb.com/kb/en/clientserver-protocol/>).
//!
//! A connection opens with the server's greeting (its version) and the client's login (user,
//! database, whether it asks for TLS): one `HANDSHAKE` exchange up to the server's OK or ERR, or
//! up to the SSL request when the client asks for TLS (the rest is encrypted and not read). Then
//! every command is an exchange paired in order with its reply: COM_QUERY with its SQL,
//! COM_STMT_PREPARE with its SQL and the statement id the server gives it, COM_STMT_EXECUTE with
//! the SQL of the statement it runs (when its prepare was seen), result sets with their columns
//! and row count, OK with affected rows, ERR with code, SQLSTATE and message. Commands the server
//! does not answer (COM_QUIT, COM_STMT_CLOSE, COM_STMT_SEND_LONG_DATA) are exchanges without a
//! response. A compressed connection is read up to its login.
//!
//! Packets are framed by the shared PDU framer with only a capped prefix kept (a row keeps its
//! first KiB), so a million-row result costs a counter. Each exchange carries `size` on both
//! sides: the bytes of its packets on the wire, headers included; the greeting counts toward the
//! login's reply, and packets continuing a command (auth data, LOCAL INFILE contents) toward it.
//!
//! # Files
//! `framing` cuts packets; `packets` reads the greeting, login, OK, ERR, EOF and column
//! definitions; `reply` follows one reply packet by packet; `parser` pairs commands with replies.

use super::{Confidence, Direction, Dissector, Parser, ParserSettings};
use framing::{HEADER, payload_len};
use packets::{COM_QUERY, COM_STMT_PREPARE, greeting, login};
use parser::MysqlParser;

mod framing;
mod packets;
mod parser;
mod reply;
#[cfg(test)]
mod tests;

/// MySQL and MariaDB: handshake, queries, prepared statements, result sets, OK and ERR.
pub struct MysqlDissector;

impl Dissector for MysqlDissector {
    fn name(&self) -> &'static str {
        "mysql"
    }

    fn ports(&self) -> &'static [u16] {
        &[3306]
    }

    fn probe(&self, data: &[u8], dir: Direction) -> Confidence {
        let (Some(len), Some(&seq)) = (payload_len(data), data.get(3)) else {
            return Confidence::NeedMore;
        };
        let Some(payload) = data.get(HEADER..HEADER + len) else {
            // The first packet of either side is small (a greeting, a login, a command).
            return if len <= 16 * 1024 && data.len() < HEADER + len {
                Confidence::NeedMore
            } else {
                Confidence::No
            };
        };
        let Some((&first, rest)) = payload.split_first() else {
            return Confidence::No;
        };
        match (dir, seq) {
            // The greeting: protocol 10 and a printable version string.
            (Direction::ToClient, 0) => {
                let version = rest.split(|&b| b == 0).next().unwrap_or_default();
                let printable = !version.is_empty()
                    && version.len() < 64
                    && version.iter().all(|b| b.is_ascii_graphic());
                if first == 10
                    && printable
                    && greeting(payload).is_some()
                    && rest.len() > version.len() + 20
                {
                    Confidence::Yes
                } else {
                    Confidence::No
                }
            }
            // The login after the greeting.
            (Direction::ToServer, 1) if len >= 32 => match login(payload) {
                Some(login) if login.caps & 0x200 != 0 => Confidence::Maybe,
                _ => Confidence::No,
            },
            // A command on a connection seen mid-way: SQL text after COM_QUERY or COM_STMT_PREPARE.
            (Direction::ToServer, 0) if matches!(first, COM_QUERY | COM_STMT_PREPARE) => {
                // SQL starts with a keyword (or a comment, a parenthesis) and is text.
                let starts = rest
                    .first()
                    .is_some_and(|b| b.is_ascii_alphabetic() || matches!(b, b'(' | b'/' | b'-'));
                let text = rest
                    .iter()
                    .all(|&b| b >= 0x20 || b.is_ascii_whitespace() || b >= 0x80);
                if starts && text && data.len() == HEADER + len {
                    Confidence::Maybe
                } else {
                    Confidence::No
                }
            }
            _ => Confidence::No,
        }
    }

    fn parser(&self, _settings: &ParserSettings) -> Box<dyn Parser> {
        Box::new(MysqlParser::default())
    }
}
