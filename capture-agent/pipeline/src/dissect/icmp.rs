//! ICMP and ICMPv6 echo: requests paired with their replies by identifier and sequence number,
//! the latency between them the exchange's elapsed time. The pipeline hands each ICMP message
//! between two hosts to one parser of this kind (it is pinned by the IP protocol, never probed),
//! and the errors that quote one of their echo requests (time exceeded, unreachable): such an
//! error answers the request, with the error's text as the exchange's error. Errors about TCP
//! and UDP packets are tied to the flow they report by the pipeline itself.
//!
//! Fields: request `type` (`echo-request`), `id`, `seq`, `size` (the ICMP message's bytes);
//! response `type` (`echo-reply`, or the error's: `time-exceeded`, …; its code in the
//! exchange's error text), `from` (the host that sent an error), `size`. A request never
//! answered is reported when the flow ends or when more than a bound wait, with an error.

use serde_json::json;
use shark_store::Message;

use super::pending::{PendingQueue, Waiting};
use super::{
    ChunkMeta, Confidence, Direction, Dissector, Exchange, Parser, ParserSettings, Unfinished,
};
use crate::decode::{IcmpMessage, icmp_error_text, icmp_type_name, parse_icmp};

/// Echo requests waiting for their replies per pair of hosts.
const MAX_PENDING: usize = 256;

/// ICMP (`v6` false) or ICMPv6 echo.
pub struct IcmpDissector {
    /// ICMPv6 rather than ICMP.
    pub v6: bool,
}

/// ICMP over IPv4.
pub static ICMP4: IcmpDissector = IcmpDissector { v6: false };
/// ICMPv6.
pub static ICMP6: IcmpDissector = IcmpDissector { v6: true };

impl Dissector for IcmpDissector {
    fn name(&self) -> &'static str {
        "icmp"
    }

    fn ports(&self) -> &'static [u16] {
        &[]
    }

    /// Never claims a TCP or UDP flow: ICMP is chosen by the IP protocol number.
    fn probe(&self, _data: &[u8], _dir: Direction) -> Confidence {
        Confidence::No
    }

    fn parser(&self, _settings: &ParserSettings) -> Box<dyn Parser> {
        Box::new(IcmpParser::new(self.v6))
    }
}

/// Echo requests between two hosts, waiting for their replies.
pub struct IcmpParser {
    v6: bool,
    pending: PendingQueue<(u16, u16)>,
}

impl IcmpParser {
    /// A parser for ICMP (`v6` false) or ICMPv6 messages.
    pub fn new(v6: bool) -> Self {
        IcmpParser {
            v6,
            pending: PendingQueue::new(
                "icmp",
                MAX_PENDING,
                "no reply (too many echo requests outstanding)",
            ),
        }
    }

    fn version(&self) -> String {
        if self.v6 { "6" } else { "4" }.to_string()
    }
}

impl Parser for IcmpParser {
    /// `data` is one whole ICMP message.
    fn feed(&mut self, _dir: Direction, data: &[u8], meta: ChunkMeta, out: &mut Vec<Exchange>) {
        let (reply, id, seq, mut fields, error) = match parse_icmp(data, self.v6) {
            IcmpMessage::Echo { reply, id, seq } => {
                let mut fields = Message::new();
                let kind = if reply { "echo-reply" } else { "echo-request" };
                fields.insert("type".into(), json!(kind));
                (reply, id, seq, fields, None)
            }
            IcmpMessage::Error {
                kind,
                code,
                echo: Some((id, seq)),
                ..
            } => {
                let mut fields = Message::new();
                fields.insert("type".into(), json!(icmp_type_name(kind, self.v6)));
                let error = icmp_error_text(kind, code, self.v6);
                (true, id, seq, fields, Some(error))
            }
            _ => return,
        };
        fields.insert("size".into(), json!(data.len()));
        if !reply {
            fields.insert("id".into(), json!(id));
            fields.insert("seq".into(), json!(seq));
            let waiting = Waiting {
                request: fields,
                start: meta,
                end: meta,
                error: None,
                pairing: (id, seq),
            };
            let from = out.len();
            self.pending.push(waiting, out);
            let version = self.version();
            for given_up in out.iter_mut().skip(from) {
                given_up.version = version.clone();
            }
            return;
        }
        let version = self.version();
        let index = self.pending.iter().position(|w| w.pairing == (id, seq));
        match index {
            Some(index) => {
                if let Some(request) = self.pending.remove(index) {
                    out.push(Exchange {
                        protocol: "icmp",
                        version,
                        request: request.request,
                        response: fields,
                        error,
                        start: Some(request.start),
                        end: Some(meta),
                    });
                }
            }
            None => {
                let mut request = Message::new();
                request.insert("id".into(), json!(id));
                request.insert("seq".into(), json!(seq));
                out.push(Exchange {
                    protocol: "icmp",
                    version,
                    request,
                    response: fields,
                    error: Some(error.unwrap_or_else(|| "echo reply without a request".into())),
                    start: Some(meta),
                    end: Some(meta),
                })
            }
        }
    }

    fn gap(&mut self, _dir: Direction, _out: &mut Vec<Exchange>) {}

    fn close(&mut self, reason: &str, out: &mut Vec<Exchange>) {
        let from = out.len();
        self.pending.close(reason, out);
        for exchange in out.iter_mut().skip(from) {
            exchange.version = self.version();
        }
    }

    fn unfinished(&self) -> Unfinished {
        Unfinished::earliest(self.pending.starts())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn meta(packet: u64) -> ChunkMeta {
        ChunkMeta {
            ts_ns: packet as i64 * 1000,
            packet,
        }
    }

    /// An ICMP echo message of type `kind`.
    fn echo(kind: u8, id: u16, seq: u16) -> Vec<u8> {
        let mut m = vec![kind, 0, 0, 0];
        m.extend_from_slice(&id.to_be_bytes());
        m.extend_from_slice(&seq.to_be_bytes());
        m.extend_from_slice(&[0xAB; 56]);
        m
    }

    /// A time-exceeded error quoting the IPv4 echo request `quoted`.
    fn time_exceeded(quoted: &[u8]) -> Vec<u8> {
        let mut ip = vec![
            0x45, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 10, 0, 0, 2, 10, 0, 1, 2,
        ];
        let total = (ip.len() + quoted.len()) as u16;
        ip[2..4].copy_from_slice(&total.to_be_bytes());
        [&[11, 0, 0, 0, 0, 0, 0, 0][..], &ip, quoted].concat()
    }

    #[test]
    fn replies_pair_with_their_requests_by_id_and_sequence_whatever_the_order() {
        let mut parser = IcmpParser::new(false);
        let mut out = Vec::new();
        parser.feed(Direction::ToServer, &echo(8, 7, 1), meta(1), &mut out);
        parser.feed(Direction::ToServer, &echo(8, 7, 2), meta(2), &mut out);
        assert_eq!(parser.unfinished(), Unfinished::Since(1000));
        parser.feed(Direction::ToClient, &echo(0, 7, 2), meta(3), &mut out);
        parser.feed(Direction::ToClient, &echo(0, 9, 1), meta(4), &mut out);
        parser.close("idle timeout", &mut out);
        let got: Vec<_> = out
            .iter()
            .map(|e| {
                (
                    e.request.get("seq").cloned(),
                    e.response.get("type").cloned(),
                    e.start.map(|m| m.packet),
                    e.end.map(|m| m.packet),
                    e.error.clone(),
                    e.version.clone(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    Some(json!(2)),
                    Some(json!("echo-reply")),
                    Some(2),
                    Some(3),
                    None,
                    "4".into()
                ),
                (
                    Some(json!(1)),
                    Some(json!("echo-reply")),
                    Some(4),
                    Some(4),
                    Some("echo reply without a request".into()),
                    "4".into()
                ),
                (
                    Some(json!(1)),
                    None,
                    Some(1),
                    Some(1),
                    Some("no response before the flow ended (idle timeout)".into()),
                    "4".into()
                ),
            ]
        );
    }

    #[test]
    fn an_error_quoting_a_request_answers_it() {
        let mut parser = IcmpParser::new(false);
        let mut out = Vec::new();
        let request = echo(8, 7, 1);
        parser.feed(Direction::ToServer, &request, meta(1), &mut out);
        parser.feed(
            Direction::ToClient,
            &time_exceeded(&request[..8]),
            meta(2),
            &mut out,
        );
        parser.close("FIN", &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].response.get("type"), Some(&json!("time-exceeded")));
        assert_eq!(
            out[0].error.as_deref(),
            Some("time to live exceeded in transit")
        );
    }

    #[test]
    fn icmpv6_uses_its_own_type_numbers() {
        let mut parser = IcmpParser::new(true);
        let mut out = Vec::new();
        parser.feed(Direction::ToServer, &echo(128, 1, 1), meta(1), &mut out);
        parser.feed(Direction::ToClient, &echo(129, 1, 1), meta(2), &mut out);
        parser.feed(Direction::ToServer, &echo(8, 1, 2), meta(3), &mut out);
        parser.close("FIN", &mut out);
        assert_eq!(
            out.len(),
            1,
            "an ICMPv4 echo number means nothing in ICMPv6"
        );
        assert_eq!(out[0].version, "6");
        assert_eq!(out[0].error, None);
    }

    #[test]
    fn past_the_bound_the_oldest_request_is_given_up() {
        let mut parser = IcmpParser::new(false);
        let mut out = Vec::new();
        for seq in 0..=MAX_PENDING as u16 {
            parser.feed(Direction::ToServer, &echo(8, 1, seq), meta(1), &mut out);
        }
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].request.get("seq"), Some(&json!(0)));
        assert_eq!(out[0].version, "4");
    }
}
