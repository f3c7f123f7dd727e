//! What MySQL packets say: command names, the server greeting, the client's login (handshake
//! response or SSL request), OK, ERR, EOF and column definitions.

use super::framing::{le16, le32, lenenc, lenenc_str, nul_str};

/// Capability: the client speaks protocol 4.1 (every client since MySQL 4.1).
const CLIENT_PROTOCOL_41: u32 = 0x200;
/// Capability: the login names a database.
const CLIENT_CONNECT_WITH_DB: u32 = 0x8;
/// Capability: the connection is compressed after the login.
pub(super) const CLIENT_COMPRESS: u32 = 0x20;
/// Capability: the client asks for TLS.
const CLIENT_SSL: u32 = 0x800;
/// Capability: the auth response has a one-byte length.
const CLIENT_SECURE_CONNECTION: u32 = 0x8000;
/// Capability: the auth response has a length-encoded length.
const CLIENT_PLUGIN_AUTH_LENENC: u32 = 0x20_0000;
/// Capability: result sets end with an OK packet instead of EOF packets.
pub(super) const CLIENT_DEPRECATE_EOF: u32 = 0x100_0000;
/// Server status: another result set follows this one.
pub(super) const SERVER_MORE_RESULTS_EXISTS: u16 = 0x8;
/// Length of an SSL request's payload (the first 32 bytes of a handshake response).
const SSL_REQUEST_LEN: usize = 32;

/// COM_QUIT.
pub(super) const COM_QUIT: u8 = 0x01;
/// COM_INIT_DB.
pub(super) const COM_INIT_DB: u8 = 0x02;
/// COM_QUERY.
pub(super) const COM_QUERY: u8 = 0x03;
/// COM_FIELD_LIST.
pub(super) const COM_FIELD_LIST: u8 = 0x04;
/// COM_STATISTICS.
pub(super) const COM_STATISTICS: u8 = 0x09;
/// COM_CHANGE_USER.
pub(super) const COM_CHANGE_USER: u8 = 0x11;
/// COM_STMT_PREPARE.
pub(super) const COM_STMT_PREPARE: u8 = 0x16;
/// COM_STMT_EXECUTE.
pub(super) const COM_STMT_EXECUTE: u8 = 0x17;
/// COM_STMT_SEND_LONG_DATA.
pub(super) const COM_STMT_SEND_LONG_DATA: u8 = 0x18;
/// COM_STMT_CLOSE.
pub(super) const COM_STMT_CLOSE: u8 = 0x19;
/// COM_STMT_FETCH.
pub(super) const COM_STMT_FETCH: u8 = 0x1C;

/// The name of a command byte (`COM_QUERY`, …), or `None` for a byte no command has.
pub(super) fn command_name(command: u8) -> Option<&'static str> {
    Some(match command {
        0x00 => "COM_SLEEP",
        COM_QUIT => "COM_QUIT",
        COM_INIT_DB => "COM_INIT_DB",
        COM_QUERY => "COM_QUERY",
        COM_FIELD_LIST => "COM_FIELD_LIST",
        0x05 => "COM_CREATE_DB",
        0x06 => "COM_DROP_DB",
        0x07 => "COM_REFRESH",
        0x08 => "COM_SHUTDOWN",
        COM_STATISTICS => "COM_STATISTICS",
        0x0A => "COM_PROCESS_INFO",
        0x0B => "COM_CONNECT",
        0x0C => "COM_PROCESS_KILL",
        0x0D => "COM_DEBUG",
        0x0E => "COM_PING",
        0x0F => "COM_TIME",
        0x10 => "COM_DELAYED_INSERT",
        COM_CHANGE_USER => "COM_CHANGE_USER",
        0x12 => "COM_BINLOG_DUMP",
        0x13 => "COM_TABLE_DUMP",
        0x14 => "COM_CONNECT_OUT",
        0x15 => "COM_REGISTER_SLAVE",
        COM_STMT_PREPARE => "COM_STMT_PREPARE",
        COM_STMT_EXECUTE => "COM_STMT_EXECUTE",
        COM_STMT_SEND_LONG_DATA => "COM_STMT_SEND_LONG_DATA",
        COM_STMT_CLOSE => "COM_STMT_CLOSE",
        0x1A => "COM_STMT_RESET",
        0x1B => "COM_SET_OPTION",
        COM_STMT_FETCH => "COM_STMT_FETCH",
        0x1D => "COM_DAEMON",
        0x1E => "COM_BINLOG_DUMP_GTID",
        0x1F => "COM_RESET_CONNECTION",
        0xFA => "COM_STMT_BULK_EXECUTE",
        _ => return None,
    })
}

/// Whether the server answers a command at all (COM_QUIT, COM_STMT_CLOSE and
/// COM_STMT_SEND_LONG_DATA get no reply).
pub(super) fn answered(command: u8) -> bool {
    !matches!(command, COM_QUIT | COM_STMT_CLOSE | COM_STMT_SEND_LONG_DATA)
}

/// Text of raw bytes, invalid UTF-8 replaced.
pub(super) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The server's greeting (Handshake v10).
#[derive(Debug, Default, Clone)]
pub(super) struct Greeting {
    /// The server version string, as sent (MariaDB prefixes `5.5.5-`).
    pub version: String,
    /// The server's capability flags.
    pub caps: u32,
}

/// The greeting in `payload` (protocol 10), if it is one.
pub(super) fn greeting(payload: &[u8]) -> Option<Greeting> {
    let (&protocol, rest) = payload.split_first()?;
    if protocol != 10 {
        return None;
    }
    let (version, used) = nul_str(rest);
    // Connection id (4), auth data part 1 (8), filler (1), then the capability flags' low half.
    let at = 1 + used + 4 + 8 + 1;
    let low = le16(payload, at).unwrap_or(0);
    // Character set (1), status (2), then the high half.
    let high = le16(payload, at + 5).unwrap_or(0);
    Some(Greeting {
        version: text(version),
        caps: u32::from(low) | u32::from(high) << 16,
    })
}

/// What the client's login packet says.
#[derive(Debug, Default, Clone, PartialEq)]
pub(super) struct Login {
    /// The client's capability flags.
    pub caps: u32,
    /// The user name (none in an SSL request, which comes before it).
    pub user: Option<String>,
    /// The database named, if any.
    pub database: Option<String>,
    /// The client asks for TLS: the rest of the connection is encrypted.
    pub tls: bool,
}

/// The login in a handshake response (or an SSL request) `payload`, if it is one.
pub(super) fn login(payload: &[u8]) -> Option<Login> {
    let caps = le32(payload, 0)?;
    if caps & CLIENT_PROTOCOL_41 == 0 {
        // Protocol 3.20: capabilities (2), max packet (3), then the user.
        let caps = u32::from(le16(payload, 0)?);
        let user = payload.get(5..).map(|rest| text(nul_str(rest).0));
        return Some(Login {
            caps,
            user,
            database: None,
            tls: caps & CLIENT_SSL != 0,
        });
    }
    let tls = caps & CLIENT_SSL != 0;
    let Some(rest) = payload.get(SSL_REQUEST_LEN..).filter(|r| !r.is_empty()) else {
        // Capabilities, max packet, character set and filler alone: an SSL request.
        return (payload.len() == SSL_REQUEST_LEN).then_some(Login {
            caps,
            user: None,
            database: None,
            tls,
        });
    };
    let (user, used) = nul_str(rest);
    let rest = rest.get(used..).unwrap_or_default();
    let auth_len = if caps & CLIENT_PLUGIN_AUTH_LENENC != 0 {
        lenenc_str(rest).map(|(_, used)| used)
    } else if caps & CLIENT_SECURE_CONNECTION != 0 {
        rest.first().map(|&len| 1 + usize::from(len))
    } else {
        Some(nul_str(rest).1)
    };
    let database = match auth_len.and_then(|used| rest.get(used..)) {
        Some(after) if caps & CLIENT_CONNECT_WITH_DB != 0 => Some(text(nul_str(after).0)),
        _ => None,
    };
    Some(Login {
        caps,
        user: Some(text(user)),
        database,
        tls,
    })
}

/// What an OK packet (or an OK-form EOF) says.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Ok {
    /// Rows changed by the statement.
    pub affected_rows: u64,
    /// The server status flags.
    pub status: u16,
}

/// The OK packet in `payload` (its first byte 0x00 or 0xFE).
pub(super) fn ok(payload: &[u8]) -> Ok {
    let rest = payload.get(1..).unwrap_or_default();
    let Some((affected_rows, used)) = lenenc(rest) else {
        return Ok::default();
    };
    let rest = rest.get(used..).unwrap_or_default();
    let status = lenenc(rest)
        .and_then(|(_, used)| le16(rest, used))
        .unwrap_or(0);
    Ok {
        affected_rows,
        status,
    }
}

/// The status flags of a classic EOF packet (0xFE, warnings, status).
pub(super) fn eof_status(payload: &[u8]) -> u16 {
    le16(payload, 3).unwrap_or(0)
}

/// Whether `payload` is an EOF packet, classic (5 bytes) or OK-form (less than a maximal packet;
/// a row starting 0xFE would be at least 16 MiB).
pub(super) fn is_eof(payload: &[u8], size: u64) -> bool {
    payload.first() == Some(&0xFE) && size < 0xFF_FFFF
}

/// An ERR packet: the error code, the SQLSTATE (protocol 4.1) and the message.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Err {
    /// The server's error number (1064, 1146, …).
    pub code: u16,
    /// The five-character SQLSTATE, if sent.
    pub sqlstate: Option<String>,
    /// The message.
    pub message: String,
}

/// The ERR packet in `payload` (its first byte 0xFF).
pub(super) fn err(payload: &[u8]) -> Err {
    let code = le16(payload, 1).unwrap_or(0);
    let rest = payload.get(3..).unwrap_or_default();
    let (sqlstate, message) = match rest.split_first() {
        Some((b'#', after)) if after.len() >= 5 => (
            Some(text(after.get(..5).unwrap_or_default())),
            after.get(5..).unwrap_or_default(),
        ),
        _ => (None, rest),
    };
    Err {
        code,
        sqlstate,
        message: text(message),
    }
}

/// Whether `payload` is MariaDB's progress report (an ERR packet with code 0xFFFF): not an error.
pub(super) fn is_progress(payload: &[u8]) -> bool {
    payload.first() == Some(&0xFF) && le16(payload, 1) == Some(0xFFFF)
}

/// The column name in a column definition (protocol 4.1: catalog, schema, table, original
/// table, then the name, each length-encoded).
pub(super) fn column_name(payload: &[u8]) -> Option<String> {
    let mut at = 0;
    for _ in 0..4 {
        at += lenenc_str(payload.get(at..)?)?.1;
    }
    lenenc_str(payload.get(at..)?).map(|(name, _)| text(name))
}

/// What COM_STMT_PREPARE_OK says: the statement id, its result columns and its parameters.
pub(super) fn prepare_ok(payload: &[u8]) -> Option<(u32, u16, u16)> {
    Some((le32(payload, 1)?, le16(payload, 5)?, le16(payload, 7)?))
}
