//! TLS handshakes: one exchange per connection, from the ClientHello (SNI, ALPN, offered versions,
//! cipher count) and the ServerHello (negotiated version, cipher suite, chosen ALPN).
//!
//! Only the plaintext part of the handshake is read. The exchange is complete once both sides
//! have switched to encrypted records after the final ServerHello (up to TLS 1.2: ChangeCipherSpec
//! then the encrypted Finished; in TLS 1.3: encrypted records); an alert before that ends it with
//! an `error`.
//!
//! `size` on each side is the bytes of the handshake records that side sent before the exchange
//! completed, record headers included (TLS 1.2's encrypted Finished is one). Application data,
//! ChangeCipherSpec and alerts are not handshake records, and TLS 1.3 hides its handshake after
//! the ServerHello in application-data records, so they are not counted.

mod hello;
mod records;

use serde_json::json;
use shark_store::Message;

use super::{
    ChunkMeta, Confidence, Direction, Dissector, Exchange, Parser, ParserSettings, Unfinished,
};
use hello::{ClientHello, Hello, ServerHello};
use records::{
    HandshakeEvent, HandshakeReader, Record, RecordReader, content, handshake, plausible_header,
};

/// TLS on any TCP port (found by a ClientHello or ServerHello record), 443 and friends by port.
#[derive(Debug, Clone, Copy, Default)]
pub struct TlsDissector;

impl Dissector for TlsDissector {
    fn name(&self) -> &'static str {
        "tls"
    }

    /// HTTPS, and the Kubernetes API server, kubelet and webhook ports.
    fn ports(&self) -> &'static [u16] {
        &[443, 6443, 8443, 10250]
    }

    /// `Yes` for a handshake record holding a hello, `Maybe` for any other well-formed record
    /// (a connection joined after its handshake).
    fn probe(&self, data: &[u8], _dir: Direction) -> Confidence {
        let Some(header) = data.get(..records::RECORD_HEADER) else {
            let prefix_ok = match data {
                [] => true,
                [kind] => (content::CHANGE_CIPHER_SPEC..=content::APPLICATION_DATA).contains(kind),
                [kind, major, ..] => {
                    (content::CHANGE_CIPHER_SPEC..=content::APPLICATION_DATA).contains(kind)
                        && *major == 3
                }
            };
            return if prefix_ok {
                Confidence::NeedMore
            } else {
                Confidence::No
            };
        };
        if !plausible_header(header) {
            return Confidence::No;
        }
        match (data.first(), data.get(records::RECORD_HEADER)) {
            (
                Some(&content::HANDSHAKE),
                Some(&(handshake::CLIENT_HELLO | handshake::SERVER_HELLO)),
            ) => Confidence::Yes,
            (Some(&content::HANDSHAKE), None) => Confidence::NeedMore,
            _ => Confidence::Maybe,
        }
    }

    fn parser(&self, _settings: &ParserSettings) -> Box<dyn Parser> {
        Box::new(TlsParser::default())
    }
}

/// Per-connection TLS state.
#[derive(Debug, Default)]
struct TlsParser {
    /// Record readers, client side first.
    records: [RecordReader; 2],
    state: Handshake,
}

/// What is known about the connection's handshake.
#[derive(Debug, Default)]
struct Handshake {
    /// Handshake message readers, client side first.
    messages: [HandshakeReader; 2],
    client: Option<ClientHello>,
    server: Option<ServerHello>,
    /// The server asked for a second ClientHello (TLS 1.3 HelloRetryRequest).
    retried: bool,
    /// Which sides have switched to encrypted records.
    encrypted: [bool; 2],
    /// Which sides sent encrypted records after the final ServerHello.
    switched: [bool; 2],
    /// Which sides stopped being readable (not TLS, or bytes lost); reported once.
    unreadable: [bool; 2],
    /// Bytes of the handshake records each side sent, headers included, client side first.
    handshake_bytes: [u64; 2],
    errors: Vec<String>,
    start: Option<ChunkMeta>,
    end: Option<ChunkMeta>,
    /// The exchange went out; the rest of the connection is ignored.
    done: bool,
}

impl Parser for TlsParser {
    fn feed(&mut self, dir: Direction, data: &[u8], meta: ChunkMeta, out: &mut Vec<Exchange>) {
        let state = &mut self.state;
        if state.done || data.is_empty() {
            return;
        }
        state.start.get_or_insert(meta);
        let i = dir.slot();
        let Some(reader) = self.records.get_mut(i) else {
            return;
        };
        reader.feed(data, meta, &mut |record| state.on_record(dir, record, out));
        if reader.broken && !state.done && state.unreadable.get(i) == Some(&false) {
            state.fail(format!(
                "{} sent bytes that are not TLS records",
                dir.sender()
            ));
            if let Some(flag) = state.unreadable.get_mut(i) {
                *flag = true;
            }
        }
    }

    fn gap(&mut self, dir: Direction, _out: &mut Vec<Exchange>) {
        let i = dir.slot();
        if let Some(reader) = self.records.get_mut(i) {
            reader.lose_sync();
        }
        if let Some(flag) = self.state.unreadable.get_mut(i) {
            *flag = true;
        }
        if !self.state.done {
            self.state.fail(format!(
                "bytes from the {} lost before the handshake completed",
                dir.sender()
            ));
        }
    }

    fn close(&mut self, reason: &str, out: &mut Vec<Exchange>) {
        let state = &mut self.state;
        if state.done || state.start.is_none() {
            return;
        }
        match (&state.client, &state.server) {
            (None, None) if state.errors.is_empty() => {
                state.fail("handshake not captured (connection joined mid-way)")
            }
            (Some(_), None) => state.fail(format!(
                "no ServerHello before connection closed ({reason})"
            )),
            (None, Some(_)) => state.fail("ClientHello not captured"),
            _ => {}
        }
        state.emit(out);
    }

    /// The handshake until its exchange went out; after it, the connection is ignored.
    fn unfinished(&self) -> Unfinished {
        if self.state.done {
            Unfinished::Nothing
        } else {
            Unfinished::earliest([self.state.start])
        }
    }
}

impl Handshake {
    fn on_record(&mut self, dir: Direction, record: Record<'_>, out: &mut Vec<Exchange>) {
        if self.done {
            return;
        }
        self.end = Some(record.end);
        let i = dir.slot();
        let tls13 = self.server.as_ref().is_some_and(|s| s.version == "1.3");
        let final_hello = self.server.as_ref().is_some_and(|s| !s.retry);
        if record.kind == content::HANDSHAKE
            && let Some(bytes) = self.handshake_bytes.get_mut(i)
        {
            *bytes += (records::RECORD_HEADER + record.body.len()) as u64;
        }
        match record.kind {
            content::HANDSHAKE if self.encrypted.get(i) == Some(&false) => {
                let mut hellos = Vec::new();
                let mut oversized = false;
                if let Some(reader) = self.messages.get_mut(i) {
                    reader.feed(record.body, &mut |event| match event {
                        HandshakeEvent::Hello(message) => hellos.push(hello::parse(message)),
                        HandshakeEvent::Oversized => oversized = true,
                    });
                }
                if oversized {
                    self.fail(format!("{} hello too large to dissect", dir.sender()));
                }
                for parsed in hellos {
                    match parsed {
                        Some(Hello::Client(client)) => {
                            // a second ClientHello answers a HelloRetryRequest; the first one is kept
                            self.client.get_or_insert(client);
                        }
                        Some(Hello::Server(server)) => {
                            self.retried |= server.retry;
                            self.server = Some(server);
                            self.switched = [false, false];
                        }
                        None => self.fail(format!("malformed hello from {}", dir.sender())),
                    }
                }
            }
            // The encrypted Finished that follows ChangeCipherSpec (up to TLS 1.2).
            content::HANDSHAKE => self.switch(i, final_hello),
            content::CHANGE_CIPHER_SPEC if !tls13 => {
                if let Some(flag) = self.encrypted.get_mut(i) {
                    *flag = true;
                }
            }
            content::APPLICATION_DATA => self.switch(i, final_hello),
            content::ALERT => {
                let alert = match record.body {
                    [level, description] if self.encrypted.get(i) == Some(&false) => format!(
                        "{} alert from {}: {}",
                        tls_parser::TlsAlertSeverity(*level),
                        dir.sender(),
                        tls_parser::TlsAlertDescription(*description)
                    ),
                    _ => format!("encrypted alert from {}", dir.sender()),
                };
                self.fail(alert);
                self.emit(out);
                return;
            }
            _ => {}
        }
        if final_hello && self.switched == [true, true] {
            self.emit(out);
        }
    }

    /// A side sent encrypted records (its Finished, or application data).
    fn switch(&mut self, side: usize, after_final_hello: bool) {
        if let Some(flag) = self.encrypted.get_mut(side) {
            *flag = true;
        }
        if after_final_hello && let Some(flag) = self.switched.get_mut(side) {
            *flag = true;
        }
    }

    fn fail(&mut self, error: impl Into<String>) {
        let error = error.into();
        if !self.errors.contains(&error) {
            self.errors.push(error);
        }
    }

    fn emit(&mut self, out: &mut Vec<Exchange>) {
        if self.done {
            return;
        }
        self.done = true;
        let [client_bytes, server_bytes] = self.handshake_bytes;
        let mut request = Message::new();
        if self.client.is_some() || client_bytes > 0 {
            request.insert("size".into(), json!(client_bytes));
        }
        if let Some(client) = &self.client {
            if let Some(sni) = &client.sni {
                request.insert("sni".into(), json!(sni));
            }
            request.insert("alpn".into(), json!(client.alpn));
            request.insert("versions".into(), json!(client.versions));
            request.insert("ciphers".into(), json!(client.ciphers));
        }
        let mut response = Message::new();
        if self.server.is_some() || server_bytes > 0 {
            response.insert("size".into(), json!(server_bytes));
        }
        if let Some(server) = &self.server {
            response.insert("version".into(), json!(server.version));
            response.insert("cipher".into(), json!(server.cipher));
            if let Some(alpn) = &server.alpn {
                response.insert("alpn".into(), json!(alpn));
            }
        }
        if self.retried {
            response.insert("helloRetry".into(), json!(true));
        }
        out.push(Exchange {
            protocol: "tls",
            version: self
                .server
                .as_ref()
                .map(|s| s.version.clone())
                .unwrap_or_default(),
            request,
            response,
            error: (!self.errors.is_empty()).then(|| self.errors.join("; ")),
            start: self.start,
            end: self.end,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::test_support::feed_in_pieces;

    /// A record: content type, version 1.2, length, body.
    fn record(kind: u8, body: &[u8]) -> Vec<u8> {
        let len = u16::try_from(body.len()).unwrap_or(u16::MAX).to_be_bytes();
        [&[kind, 3, 3, len[0], len[1]], body].concat()
    }

    /// A handshake message: type, 24-bit length, body.
    fn message(kind: u8, body: &[u8]) -> Vec<u8> {
        let len = u32::try_from(body.len()).unwrap_or(0).to_be_bytes();
        [&[kind, len[1], len[2], len[3]], body].concat()
    }

    /// Hello body: version 1.2, random, empty session id, then what follows (suites, compression).
    fn hello(rest: &[u8]) -> Vec<u8> {
        [&[3, 3][..], &[7; 32], &[0], rest].concat()
    }

    #[test]
    fn each_side_counts_its_handshake_records_with_headers_however_fragmented() {
        // The ClientHello spans two records; the server's flight shares one segment.
        let client_hello = message(handshake::CLIENT_HELLO, &hello(&[0, 2, 0xc0, 0x2f, 1, 0]));
        let (first, second) = client_hello.split_at(10);
        let client_flight = [
            record(content::HANDSHAKE, first),
            record(content::HANDSHAKE, second),
        ];
        let server_flight = [
            record(
                content::HANDSHAKE,
                &[
                    message(handshake::SERVER_HELLO, &hello(&[0xc0, 0x2f, 0])),
                    message(11, &[0, 0, 3, 0, 0, 0]),
                ]
                .concat(),
            ),
            record(content::HANDSHAKE, &message(14, &[])),
        ];
        let client_finish = [
            record(content::HANDSHAKE, &message(16, &[9; 33])),
            record(content::CHANGE_CIPHER_SPEC, &[1]),
            record(content::HANDSHAKE, &[5; 40]),
        ];
        let server_finish = [
            record(content::CHANGE_CIPHER_SPEC, &[1]),
            record(content::HANDSHAKE, &[6; 40]),
        ];
        let after = record(content::APPLICATION_DATA, &[8; 100]);
        let handshake_bytes = |records: &[Vec<u8>]| {
            records
                .iter()
                .filter(|r| r.first() == Some(&content::HANDSHAKE))
                .map(Vec::len)
                .sum::<usize>()
        };
        let client_bytes = handshake_bytes(&client_flight) + handshake_bytes(&client_finish);
        let server_bytes = handshake_bytes(&server_flight) + handshake_bytes(&server_finish);
        let steps = [
            (Direction::ToServer, client_flight.concat()),
            (Direction::ToClient, server_flight.concat()),
            (
                Direction::ToServer,
                [client_finish.concat(), after.clone()].concat(),
            ),
            (
                Direction::ToClient,
                [server_finish.concat(), after].concat(),
            ),
        ];
        for piece in [1, 4, 9, usize::MAX] {
            let mut parser = TlsDissector.parser(&ParserSettings::default());
            let mut out = Vec::new();
            for (dir, bytes) in &steps {
                feed_in_pieces(parser.as_mut(), *dir, bytes, piece, &mut out);
            }
            let sizes: Vec<_> = out
                .iter()
                .map(|e| {
                    (
                        e.version.clone(),
                        e.request.get("size").cloned(),
                        e.response.get("size").cloned(),
                    )
                })
                .collect();
            assert_eq!(
                sizes,
                [(
                    "1.2".to_string(),
                    Some(json!(client_bytes)),
                    Some(json!(server_bytes))
                )],
                "pieces of {piece} bytes"
            );
        }
    }
}
