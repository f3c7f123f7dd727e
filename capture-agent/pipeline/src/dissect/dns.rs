//! DNS over UDP (one message per datagram) and TCP (RFC 1035 §4.2.2: a 2-byte length before each
//! message, cut by the shared PDU framer). Queries and responses are paired by id and first
//! question; a query left unanswered becomes an exchange with an error when the flow ends.
//!
//! The 12-byte header is read here so that a message whose body `hickory-proto` rejects
//! (compression loops, bad labels, truncation) still yields its id and rcode, marked with the
//! decode error. Record counts are checked against the message size before decoding, so a
//! hostile header cannot make the decoder reserve memory for records that are not there.

use std::fmt::Write as _;

use hickory_proto::op::Message as DnsMessage;
use hickory_proto::rr::{Name, RecordType};
use serde_json::{Value, json};
use shark_store::Message;

use super::pdu::{PduFormat, PduFramer, PduHeader};
use super::pending::{PendingQueue, Waiting};
use super::{
    ChunkMeta, Confidence, Direction, Dissector, Exchange, Parser, ParserSettings, Unfinished,
};

/// Queries kept waiting for a response per flow; older ones are reported unanswered.
const MAX_PENDING: usize = 256;
/// Answers kept per response (the rest are counted only by the server's message).
const MAX_ANSWERS: usize = 64;
/// Questions kept per message.
const MAX_QUESTIONS: usize = 16;
/// Size of the fixed DNS header.
const HEADER_LEN: usize = 12;
/// Smallest possible question: root name (1) + type (2) + class (2).
const MIN_QUESTION_LEN: usize = 5;
/// Smallest possible resource record: root name (1) + type, class (4) + TTL (4) + rdlength (2).
const MIN_RECORD_LEN: usize = 11;

/// DNS over UDP and TCP: id, questions, qtype, answers, rcode.
pub struct DnsDissector;

impl Dissector for DnsDissector {
    fn name(&self) -> &'static str {
        "dns"
    }

    fn ports(&self) -> &'static [u16] {
        &[53]
    }

    fn probe(&self, data: &[u8], _dir: Direction) -> Confidence {
        if data.len() < HEADER_LEN {
            return Confidence::NeedMore;
        }
        let plausible = |msg: &[u8]| {
            // Id 0 is multicast DNS (RFC 6762 §18.1), whose answers go to a group, never back:
            // left to `udp` entries rather than reported as unanswered queries.
            Header::read(msg).is_some_and(|h| {
                h.id != 0 && plausible_header(&h) && (1..=4).contains(&h.questions)
            }) && decode(msg).error.is_none()
        };
        if plausible(data) || tcp_frame(data).is_some_and(plausible) {
            Confidence::Yes
        } else {
            Confidence::No
        }
    }

    fn parser(&self, _settings: &ParserSettings) -> Box<dyn Parser> {
        Box::new(DnsParser::default())
    }
}

/// How a flow carries its messages, decided from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// One message per datagram.
    Datagram,
    /// A 2-byte big-endian length before each message.
    LengthPrefixed,
}

/// Per-flow DNS state.
struct DnsParser {
    framing: Option<Framing>,
    /// The length-prefixed messages of each direction over TCP, by [`Direction::slot`].
    streams: [PduFramer<()>; 2],
    pending: PendingQueue<Question>,
}

impl Default for DnsParser {
    fn default() -> Self {
        DnsParser {
            framing: None,
            streams: Default::default(),
            pending: PendingQueue::new(
                "dns",
                MAX_PENDING,
                "no response (too many outstanding queries)",
            ),
        }
    }
}

/// What a response is paired with its query by: the id and the first question.
struct Question {
    id: u16,
    first: Option<(String, String)>,
}

/// DNS over TCP for the shared PDU framer: a 2-byte length before each message, kept whole (at
/// most 64 KiB). Every length is valid, so framing is never lost.
struct TcpLength;

impl PduFormat for TcpLength {
    type Head = ();

    fn header_len(&self) -> usize {
        2
    }

    fn read_header(&mut self, header: &[u8]) -> Option<PduHeader<()>> {
        let len = usize::from(u16::from_be_bytes([*header.first()?, *header.get(1)?]));
        Some(PduHeader {
            head: (),
            body_len: len,
            keep: len,
        })
    }

    fn plausible_start(&self, _bytes: &[u8]) -> bool {
        true
    }
}

impl Parser for DnsParser {
    fn feed(&mut self, dir: Direction, data: &[u8], meta: ChunkMeta, out: &mut Vec<Exchange>) {
        let framing = *self.framing.get_or_insert_with(|| detect_framing(data));
        match framing {
            Framing::Datagram => self.message(data, meta, meta, out),
            Framing::LengthPrefixed => self.stream(dir, data, meta, out),
        }
    }

    fn gap(&mut self, dir: Direction, _out: &mut Vec<Exchange>) {
        // Message boundaries are lost with the bytes: drop the partial message. A lost query
        // shows up as an unmatched response, a lost response as an unanswered query.
        self.streams[dir.slot()] = PduFramer::default();
    }

    fn close(&mut self, reason: &str, out: &mut Vec<Exchange>) {
        self.pending.close(reason, out);
    }

    /// Queries waiting for their answers, and messages half read over TCP.
    fn unfinished(&self) -> Unfinished {
        let open = self.streams.iter().map(PduFramer::started);
        Unfinished::earliest(self.pending.starts().chain(open))
    }
}

impl DnsParser {
    /// Frames TCP bytes and handles every complete length-prefixed message.
    fn stream(&mut self, dir: Direction, data: &[u8], meta: ChunkMeta, out: &mut Vec<Exchange>) {
        let mut messages = Vec::new();
        self.streams[dir.slot()].feed(&mut TcpLength, data, meta, &mut messages);
        for message in messages {
            // An empty frame carries nothing to report.
            if !message.body.is_empty() {
                self.message(&message.body, message.start, message.end, out);
            }
        }
    }

    /// Handles one whole DNS message: a query waits, a response finds its query.
    fn message(&mut self, bytes: &[u8], start: ChunkMeta, end: ChunkMeta, out: &mut Vec<Exchange>) {
        let decoded = decode(bytes);
        if decoded.header.is_some_and(|h| !h.is_response) {
            let first_question = decoded.first_question();
            let id = decoded.header.map_or(0, |h| h.id);
            let mut request = decoded.request_fields();
            request.insert("size".into(), json!(decoded.size));
            if let Some(error) = decoded.error {
                // A query we cannot read is reported at once rather than waiting for pairing.
                out.push(Exchange {
                    protocol: "dns",
                    request,
                    error: Some(error),
                    start: Some(start),
                    end: Some(end),
                    ..Exchange::default()
                });
                return;
            }
            let query = Waiting {
                request,
                start,
                end,
                error: None,
                pairing: Question {
                    id,
                    first: first_question,
                },
            };
            self.pending.push(query, out);
            return;
        }
        let id = decoded.header.map_or(0, |h| h.id);
        let question = decoded.first_question();
        let position = self.pending.iter().position(|q| {
            q.pairing.id == id
                && (question.is_none() || q.pairing.first.is_none() || q.pairing.first == question)
        });
        let mut error = decoded.error.clone();
        let (request, start) = match position.and_then(|i| self.pending.remove(i)) {
            Some(query) => (query.request, query.start),
            None => {
                error.get_or_insert_with(|| "response without a matching query".to_string());
                (decoded.request_fields(), start)
            }
        };
        out.push(Exchange {
            protocol: "dns",
            request,
            response: decoded.into_response(),
            error,
            start: Some(start),
            end: Some(end),
            ..Exchange::default()
        });
    }
}

/// Decides between datagram and length-prefixed framing from a flow's first bytes: a chunk that
/// is exactly one frame, or starts with a frame that decodes, is TCP; one that decodes as a whole,
/// or cannot be read either way, is a datagram (clients send a whole query in their first segment,
/// so a frame split across segments only ever starts with its 2-byte length alone).
fn detect_framing(data: &[u8]) -> Framing {
    let exact_frame = tcp_frame(data).is_some_and(|frame| frame.len() + 2 == data.len());
    if data.len() < HEADER_LEN || (exact_frame && data.len() >= HEADER_LEN + 2) {
        return Framing::LengthPrefixed;
    }
    if decode(data).error.is_none() {
        return Framing::Datagram;
    }
    if tcp_frame(data).is_some_and(|frame| decode(frame).error.is_none()) {
        Framing::LengthPrefixed
    } else {
        Framing::Datagram
    }
}

/// The first whole message of a length-prefixed chunk, if it holds one.
fn tcp_frame(data: &[u8]) -> Option<&[u8]> {
    let len = usize::from(u16::from_be_bytes([*data.first()?, *data.get(1)?]));
    data.get(2..2 + len)
}

/// The fixed header fields this dissector uses.
#[derive(Debug, Clone, Copy)]
struct Header {
    id: u16,
    opcode: u16,
    is_response: bool,
    rcode: u16,
    questions: u16,
    records: usize,
}

impl Header {
    /// Reads the 12-byte header; `None` when the message is shorter.
    fn read(msg: &[u8]) -> Option<Header> {
        let word = |at: usize| Some(u16::from_be_bytes([*msg.get(at)?, *msg.get(at + 1)?]));
        let flags = word(2)?;
        let records = [word(6)?, word(8)?, word(10)?]
            .iter()
            .map(|&n| usize::from(n))
            .sum();
        Some(Header {
            id: word(0)?,
            opcode: (flags >> 11) & 0xf,
            is_response: flags & 0x8000 != 0,
            rcode: flags & 0xf,
            questions: word(4)?,
            records,
        })
    }
}

/// Whether a header looks like the start of a DNS message: a defined opcode (RFC 6895 §2.2).
fn plausible_header(header: &Header) -> bool {
    matches!(header.opcode, 0..=2 | 4..=6)
}

/// What one message says, read as far as it could be.
#[derive(Debug, Default)]
struct Decoded {
    /// Bytes of the message (without TCP's length prefix): `size`, as HTTP gives its body's.
    size: usize,
    header: Option<Header>,
    questions: Vec<String>,
    qtype: Option<String>,
    answers: Vec<String>,
    /// The rcode including EDNS extended bits, when the body decoded.
    rcode: Option<u16>,
    error: Option<String>,
}

/// Decodes one DNS message without ever failing: problems land in `error`.
fn decode(msg: &[u8]) -> Decoded {
    let Some(header) = Header::read(msg) else {
        return Decoded {
            error: Some(format!(
                "malformed DNS message: {} bytes, not a DNS header",
                msg.len()
            )),
            size: msg.len(),
            ..Decoded::default()
        };
    };
    let mut decoded = Decoded {
        header: Some(header),
        size: msg.len(),
        ..Decoded::default()
    };
    let room = msg.len().saturating_sub(HEADER_LEN);
    let needed = usize::from(header.questions) * MIN_QUESTION_LEN + header.records * MIN_RECORD_LEN;
    if needed > room {
        decoded.error = Some("malformed DNS message: record counts exceed the message size".into());
        return decoded;
    }
    match DnsMessage::from_vec(msg) {
        Ok(message) => {
            decoded.questions = message
                .queries
                .iter()
                .take(MAX_QUESTIONS)
                .map(|q| name_text(&q.name))
                .collect();
            decoded.qtype = message.queries.first().map(|q| type_text(q.query_type));
            decoded.answers = message
                .answers
                .iter()
                .take(MAX_ANSWERS)
                .map(|r| rdata_text(&r.data))
                .collect();
            decoded.rcode = Some(u16::from(message.metadata.response_code));
        }
        Err(e) => decoded.error = Some(format!("malformed DNS message: {e}")),
    }
    decoded
}

impl Decoded {
    fn first_question(&self) -> Option<(String, String)> {
        Some((self.questions.first()?.clone(), self.qtype.clone()?))
    }

    /// The request fields (`id`, `questions`, `qtype`); a response carries its question too.
    fn request_fields(&self) -> Message {
        let mut request = Message::new();
        if let Some(header) = self.header {
            request.insert("id".into(), json!(header.id));
        }
        if !self.questions.is_empty() {
            request.insert("questions".into(), json!(self.questions));
        }
        if let Some(qtype) = &self.qtype {
            request.insert("qtype".into(), json!(qtype));
        }
        request
    }

    /// The response fields: `status` (rcode), `statusText`, `answers`, `size`.
    fn into_response(self) -> Message {
        let mut response = Message::new();
        response.insert("size".into(), json!(self.size));
        let Some(header) = self.header else {
            return response;
        };
        let rcode = self.rcode.unwrap_or(header.rcode);
        response.insert("status".into(), json!(rcode));
        response.insert("statusText".into(), json!(rcode_text(rcode)));
        response.insert(
            "answers".into(),
            Value::Array(self.answers.into_iter().map(Value::String).collect()),
        );
        response
    }
}

/// A name as users write it: without the trailing dot (the root stays `.`).
fn name_text(name: &Name) -> String {
    let mut text = String::new();
    if write!(text, "{name}").is_err() {
        return String::new();
    }
    if text.len() > 1 && text.ends_with('.') {
        text.pop();
    }
    text
}

/// A record type's mnemonic, or `TYPE<n>` (RFC 3597) for one without a name.
fn type_text(record_type: RecordType) -> String {
    match record_type {
        RecordType::Unknown(n) => format!("TYPE{n}"),
        known => known.to_string(),
    }
}

/// Record data as text (`1.2.3.4`, `cname.example.com`, `10 mail.example.com`).
fn rdata_text(data: &hickory_proto::rr::RData) -> String {
    let mut text = String::new();
    // Some record data (OPT) has no text form: an empty string then, never a panic.
    if write!(text, "{data}").is_err() {
        return String::new();
    }
    if text.len() > 1 && text.ends_with('.') {
        text.pop();
    }
    text
}

/// The IANA mnemonic of an rcode (RFC 6895 §2.3).
fn rcode_text(rcode: u16) -> String {
    let name = match rcode {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        11 => "DSOTYPENI",
        16 => "BADVERS",
        17 => "BADKEY",
        18 => "BADTIME",
        19 => "BADMODE",
        20 => "BADNAME",
        21 => "BADALG",
        22 => "BADTRUNC",
        23 => "BADCOOKIE",
        other => return format!("RCODE{other}"),
    };
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::test_support::META;

    /// A query for `example.com` A with the given id (RFC 1035 wire format).
    fn query(id: u16) -> Vec<u8> {
        let mut msg = id.to_be_bytes().to_vec();
        msg.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
        msg.extend_from_slice(b"\x07example\x03com\x00\x00\x01\x00\x01");
        msg
    }

    /// The response to `query(id)` carrying `rcode`: its low 4 bits in the header, the high 8 in
    /// an EDNS OPT record (RFC 6891 §6.1.3) when it has any.
    fn response(id: u16, rcode: u16) -> Vec<u8> {
        let extended = u8::try_from(rcode >> 4).unwrap_or(u8::MAX);
        let mut msg = id.to_be_bytes().to_vec();
        msg.extend_from_slice(&(0x8180 | (rcode & 0xf)).to_be_bytes());
        msg.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, u8::from(extended > 0)]);
        msg.extend_from_slice(b"\x07example\x03com\x00\x00\x01\x00\x01");
        if extended > 0 {
            // Root name, type OPT, class = UDP payload size, TTL = extended rcode, version and
            // flags, no data.
            msg.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, extended, 0, 0, 0, 0, 0]);
        }
        msg
    }

    fn feed_all(parser: &mut dyn Parser, messages: &[(Direction, Vec<u8>)]) -> Vec<Exchange> {
        let mut out = Vec::new();
        for (dir, bytes) in messages {
            parser.feed(*dir, bytes, META, &mut out);
        }
        out
    }

    #[test]
    fn compression_loop_from_dns_zlip_is_reported_not_followed() {
        // tcpdump's dns-zlip-1 payload: every name is a pointer chain that loops back on itself.
        let zlip = b"\xed\x69\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c\xc0\x07\xc0\x10\xc0\x17\xc0\x20\xc0\x27\xc0\x30\xc0\xff\xcf\x00\x00\x00\x01\x00\x01";
        let decoded = decode(zlip);
        assert!(
            decoded
                .error
                .is_some_and(|e| e.starts_with("malformed DNS message"))
        );
        let mut parser = DnsDissector.parser(&ParserSettings::default());
        let mut out = feed_all(parser.as_mut(), &[(Direction::ToServer, zlip.to_vec())]);
        parser.close("idle timeout", &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].request.get("id"), Some(&json!(0xed69)));
    }

    #[test]
    fn unanswered_query_becomes_an_exchange_with_error_on_close() {
        let mut parser = DnsDissector.parser(&ParserSettings::default());
        let mut out = feed_all(parser.as_mut(), &[(Direction::ToServer, query(7))]);
        assert!(out.is_empty());
        parser.close("idle timeout", &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].request.get("questions"),
            Some(&json!(["example.com"]))
        );
        assert!(
            out[0]
                .error
                .as_deref()
                .is_some_and(|e| e.contains("no response"))
        );
    }

    #[test]
    fn every_rcode_is_reported_with_its_iana_name() {
        // The IANA "DNS RCODEs" registry (RFC 6895 §2.3): every assigned value, and unassigned
        // ones between and past them.
        let registry = [
            (0, "NOERROR"),
            (1, "FORMERR"),
            (2, "SERVFAIL"),
            (3, "NXDOMAIN"),
            (4, "NOTIMP"),
            (5, "REFUSED"),
            (6, "YXDOMAIN"),
            (7, "YXRRSET"),
            (8, "NXRRSET"),
            (9, "NOTAUTH"),
            (10, "NOTZONE"),
            (11, "DSOTYPENI"),
            (12, "RCODE12"),
            (15, "RCODE15"),
            (16, "BADVERS"),
            (17, "BADKEY"),
            (18, "BADTIME"),
            (19, "BADMODE"),
            (20, "BADNAME"),
            (21, "BADALG"),
            (22, "BADTRUNC"),
            (23, "BADCOOKIE"),
            (24, "RCODE24"),
            (4095, "RCODE4095"),
        ];
        for (id, (rcode, name)) in (1..).zip(registry) {
            let mut parser = DnsDissector.parser(&ParserSettings::default());
            let out = feed_all(
                parser.as_mut(),
                &[
                    (Direction::ToServer, query(id)),
                    (Direction::ToClient, response(id, rcode)),
                ],
            );
            let got: Vec<_> = out
                .iter()
                .map(|e| {
                    (
                        e.response.get("status").cloned(),
                        e.response.get("statusText").cloned(),
                        e.error.clone(),
                    )
                })
                .collect();
            assert_eq!(
                got,
                [(Some(json!(rcode)), Some(json!(name)), None)],
                "rcode {rcode}"
            );
        }
    }

    #[test]
    fn a_response_whose_body_does_not_decode_is_named_by_its_header_rcode() {
        for (id, (rcode, name)) in (1..).zip([(2, "SERVFAIL"), (4, "NOTIMP"), (5, "REFUSED")]) {
            let mut cut = response(id, rcode);
            cut.truncate(cut.len() - 3); // inside the question
            let mut parser = DnsDissector.parser(&ParserSettings::default());
            let out = feed_all(
                parser.as_mut(),
                &[(Direction::ToServer, query(id)), (Direction::ToClient, cut)],
            );
            assert_eq!(out.len(), 1, "rcode {rcode}");
            assert_eq!(out[0].response.get("status"), Some(&json!(rcode)));
            assert_eq!(out[0].response.get("statusText"), Some(&json!(name)));
            assert!(
                out[0]
                    .error
                    .as_deref()
                    .is_some_and(|e| e.starts_with("malformed DNS message")),
                "{:?}",
                out[0].error
            );
        }
    }

    #[test]
    fn counts_larger_than_the_message_are_rejected_before_decoding() {
        let mut msg = query(1);
        msg[4] = 0xff; // 65 281 questions in a 29-byte message
        assert!(
            decode(&msg)
                .error
                .is_some_and(|e| e.contains("record counts"))
        );
    }

    #[test]
    fn probe_accepts_udp_and_tcp_queries_and_rejects_text() {
        let udp = query(3);
        let mut tcp = (udp.len() as u16).to_be_bytes().to_vec();
        tcp.extend_from_slice(&udp);
        assert_eq!(
            DnsDissector.probe(&udp, Direction::ToServer),
            Confidence::Yes
        );
        assert_eq!(
            DnsDissector.probe(&tcp, Direction::ToServer),
            Confidence::Yes
        );
        assert_eq!(
            DnsDissector.probe(b"GET / HTTP/1.1\r\n\r\n", Direction::ToServer),
            Confidence::No
        );
        assert_eq!(
            DnsDissector.probe(b"\x00\x1d", Direction::ToServer),
            Confidence::NeedMore
        );
    }

    #[test]
    fn gap_drops_the_partial_frame_and_later_frames_still_parse() {
        let mut parser = DnsDissector.parser(&ParserSettings::default());
        let framed = |id| {
            let msg = query(id);
            let mut tcp = (msg.len() as u16).to_be_bytes().to_vec();
            tcp.extend_from_slice(&msg);
            tcp
        };
        let mut out = Vec::new();
        parser.feed(Direction::ToServer, &framed(1), META, &mut out);
        parser.feed(Direction::ToServer, &framed(2)[..10], META, &mut out);
        parser.gap(Direction::ToServer, &mut out);
        parser.feed(Direction::ToServer, &framed(3), META, &mut out);
        parser.close("FIN", &mut out);
        let ids: Vec<_> = out.iter().map(|e| e.request.get("id").cloned()).collect();
        assert_eq!(ids, [Some(json!(1)), Some(json!(3))]);
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut seed = 0x2545_f491_u32;
        for len in 0..300 {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 17;
                    seed ^= seed << 5;
                    (seed >> 24) as u8
                })
                .collect();
            let _ = DnsDissector.probe(&bytes, Direction::ToServer);
            let mut parser = DnsDissector.parser(&ParserSettings::default());
            let mut out = Vec::new();
            parser.feed(Direction::ToServer, &bytes, META, &mut out);
            parser.feed(Direction::ToClient, &bytes, META, &mut out);
            parser.close("end", &mut out);
        }
    }
}
