//! The fields a ClientHello and a ServerHello contribute, read with `tls-parser`.

use tls_parser::{
    TlsCipherSuite, TlsExtension, TlsMessage, TlsMessageHandshake,
    parse_tls_client_hello_extensions, parse_tls_message_handshake,
    parse_tls_server_hello_extensions,
};

/// What the client offered.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct ClientHello {
    /// Server name indication (first host name).
    pub sni: Option<String>,
    /// Offered application protocols.
    pub alpn: Vec<String>,
    /// Offered versions: supported_versions when present, else the legacy version (GREASE left out).
    pub versions: Vec<String>,
    /// Number of cipher suites offered, as on the wire.
    pub ciphers: usize,
}

/// What the server chose.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct ServerHello {
    /// Negotiated version: supported_versions (TLS 1.3), else the legacy version.
    pub version: String,
    /// Cipher suite name (IANA), or its number in hex when unknown.
    pub cipher: String,
    /// The application protocol chosen, if any.
    pub alpn: Option<String>,
    /// A TLS 1.3 HelloRetryRequest rather than the final ServerHello.
    pub retry: bool,
}

/// A parsed hello.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Hello {
    /// From the client.
    Client(ClientHello),
    /// From the server.
    Server(ServerHello),
}

/// The random value that marks a ServerHello as a HelloRetryRequest (RFC 8446 §4.1.3).
const HELLO_RETRY_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// Parses a whole handshake message (header included) that should be a hello.
pub(super) fn parse(message: &[u8]) -> Option<Hello> {
    let (_, TlsMessage::Handshake(handshake)) = parse_tls_message_handshake(message).ok()? else {
        return None;
    };
    match handshake {
        TlsMessageHandshake::ClientHello(ch) => {
            let mut hello = ClientHello {
                ciphers: ch.ciphers.len(),
                ..ClientHello::default()
            };
            let extensions = ch
                .ext
                .and_then(|e| parse_tls_client_hello_extensions(e).ok())
                .map(|(_, e)| e);
            for extension in extensions.unwrap_or_default() {
                match extension {
                    TlsExtension::SNI(names) => {
                        hello.sni = names
                            .first()
                            .map(|(_, name)| String::from_utf8_lossy(name).into_owned());
                    }
                    TlsExtension::ALPN(protocols) => {
                        hello.alpn = protocols
                            .iter()
                            .map(|p| String::from_utf8_lossy(p).into_owned())
                            .collect();
                    }
                    TlsExtension::SupportedVersions(versions) => {
                        hello.versions = versions
                            .iter()
                            .filter(|v| !is_grease(v.0))
                            .map(|v| version_name(v.0))
                            .collect();
                    }
                    _ => {}
                }
            }
            if hello.versions.is_empty() {
                hello.versions.push(version_name(ch.version.0));
            }
            Some(Hello::Client(hello))
        }
        TlsMessageHandshake::ServerHello(sh) => {
            let mut hello = ServerHello {
                version: version_name(sh.version.0),
                cipher: TlsCipherSuite::from_id(sh.cipher.0).map_or_else(
                    || format!("0x{:04x}", sh.cipher.0),
                    |suite| suite.name.to_owned(),
                ),
                alpn: None,
                retry: sh.random == HELLO_RETRY_RANDOM,
            };
            let extensions = sh
                .ext
                .and_then(|e| parse_tls_server_hello_extensions(e).ok())
                .map(|(_, e)| e);
            for extension in extensions.unwrap_or_default() {
                match extension {
                    TlsExtension::SupportedVersions(versions) => {
                        if let Some(chosen) = versions.first() {
                            hello.version = version_name(chosen.0);
                        }
                    }
                    TlsExtension::ALPN(protocols) => {
                        hello.alpn = protocols
                            .first()
                            .map(|p| String::from_utf8_lossy(p).into_owned());
                    }
                    _ => {}
                }
            }
            Some(Hello::Server(hello))
        }
        _ => None,
    }
}

/// GREASE values (RFC 8701) that clients sprinkle into version and cipher lists.
fn is_grease(value: u16) -> bool {
    value & 0x0f0f == 0x0a0a && value >> 8 == value & 0xff
}

/// `1.0` … `1.3` for TLS, `ssl3` for SSL 3.0, the number in hex otherwise.
pub(super) fn version_name(version: u16) -> String {
    match version {
        0x0300 => "ssl3".into(),
        0x0301 => "1.0".into(),
        0x0302 => "1.1".into(),
        0x0303 => "1.2".into(),
        0x0304 => "1.3".into(),
        other => format!("0x{other:04x}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grease_is_recognised() {
        assert!(is_grease(0x7a7a));
        assert!(is_grease(0x0a0a));
        assert!(!is_grease(0x0304));
        assert!(!is_grease(0x1a2a));
    }

    #[test]
    fn garbage_is_not_a_hello() {
        assert_eq!(parse(&[1, 0, 0, 3, 3, 3, 0]), None);
        assert_eq!(parse(&[]), None);
    }
}
