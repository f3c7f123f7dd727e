//! One Kafka connection: requests framed and queued until answered, responses paired with them by
//! correlation id, and the wire size of each.

use serde_json::json;
use shark_store::Message;

use super::apis::api;
use super::framing::{Requests, Responses};
use super::messages::{error_code, request_header, topics};
use super::reader::Reader;
use crate::dissect::pdu::{Pdu, PduFramer};
use crate::dissect::pending::{PendingQueue, Waiting};
use crate::dissect::{ChunkMeta, Direction, Exchange, Parser, Unfinished};

/// Requests waiting for a response per connection.
const MAX_PENDING: usize = 1024;

/// What a response is paired and read by: its request's correlation id, api and version.
struct Pairing {
    correlation_id: i32,
    api_key: i16,
    api_version: i16,
}

/// A response whose first bytes were read but not yet its last: its exchange waits for them.
struct Answering {
    exchange: Exchange,
    /// Bytes of the response frame on the wire, as its size field gives them.
    size: u64,
}

impl Answering {
    /// The exchange, with the response's `size` less the `unseen` bytes that never passed.
    fn finish(mut self, unseen: usize) -> Exchange {
        let size = self.size.saturating_sub(unseen as u64);
        self.exchange.response.insert("size".into(), json!(size));
        self.exchange
    }
}

/// Per-connection Kafka state.
pub(super) struct KafkaParser {
    requests: PduFramer<()>,
    responses: PduFramer<()>,
    pending: PendingQueue<Pairing>,
    /// The response whose frame is still passing.
    answering: Option<Answering>,
}

impl Default for KafkaParser {
    fn default() -> Self {
        KafkaParser {
            requests: PduFramer::default(),
            responses: PduFramer::default(),
            pending: PendingQueue::new(
                "kafka",
                MAX_PENDING,
                "no response (too many outstanding requests)",
            ),
            answering: None,
        }
    }
}

impl Parser for KafkaParser {
    fn feed(&mut self, dir: Direction, data: &[u8], meta: ChunkMeta, out: &mut Vec<Exchange>) {
        let mut frames = Vec::new();
        match dir {
            Direction::ToServer => {
                self.requests.feed(&mut Requests, data, meta, &mut frames);
                for frame in frames {
                    self.request(frame, out);
                }
            }
            Direction::ToClient => {
                if let Some(open) = self.answering.as_mut() {
                    // These bytes carry more of the response still passing, if not its end.
                    open.exchange.end = Some(meta);
                }
                let pending = &self.pending;
                let mut responses = Responses {
                    waiting: |id| pending.iter().any(|p| p.pairing.correlation_id == id),
                };
                self.responses.feed(&mut responses, data, meta, &mut frames);
                // The response still passing has ended if another began or no bytes remain.
                if (!frames.is_empty() || !self.responses.passing())
                    && let Some(open) = self.answering.take()
                {
                    out.push(open.finish(0));
                }
                let count = frames.len();
                for (i, frame) in frames.into_iter().enumerate() {
                    let answer = self.response(frame, out);
                    if i + 1 == count && self.responses.passing() {
                        self.answering = Some(answer);
                    } else {
                        out.push(answer.finish(0));
                    }
                }
            }
        }
    }

    fn gap(&mut self, dir: Direction, out: &mut Vec<Exchange>) {
        // Requests lost with the gap show up as unmatched responses; responses lost show up as
        // requests passed over by a later answer (or unanswered at close).
        self.cut_short(dir, out);
        match dir {
            Direction::ToServer => self.requests.lose_sync(),
            Direction::ToClient => self.responses.lose_sync(),
        }
    }

    fn close(&mut self, reason: &str, out: &mut Vec<Exchange>) {
        self.cut_short(Direction::ToServer, out);
        self.cut_short(Direction::ToClient, out);
        self.pending.close(reason, out);
    }

    /// Requests waiting for their responses, a response still passing, and frames half read.
    fn unfinished(&self) -> Unfinished {
        let open = [
            self.answering.as_ref().and_then(|a| a.exchange.start),
            self.requests.started(),
            self.responses.started(),
        ];
        Unfinished::earliest(self.pending.starts().chain(open))
    }
}

impl KafkaParser {
    /// The frame passing in direction `dir` will not pass whole (a gap, or the flow ended): its
    /// exchange counts only the bytes that did.
    fn cut_short(&mut self, dir: Direction, out: &mut Vec<Exchange>) {
        match dir {
            Direction::ToServer => {
                // A request still passing is the last one queued, unless already answered.
                let unseen = self.requests.take_unseen();
                if unseen > 0
                    && let Some(last) = self.pending.back_mut()
                {
                    last.set_size(last.size().saturating_sub(unseen as u64));
                }
            }
            Direction::ToClient => {
                let unseen = self.responses.take_unseen();
                if let Some(open) = self.answering.take() {
                    out.push(open.finish(unseen));
                }
            }
        }
    }

    fn request(&mut self, frame: Pdu<()>, out: &mut Vec<Exchange>) {
        let mut request = Message::new();
        request.insert("size".into(), json!(frame.size));
        let Some(header) = request_header(&frame.body) else {
            // Framing is likely off: look for the next plausible request instead of trusting sizes.
            self.requests.lose_sync();
            out.push(Exchange {
                protocol: "kafka",
                request,
                error: Some("malformed Kafka request header".into()),
                start: Some(frame.start),
                end: Some(frame.end),
                ..Exchange::default()
            });
            return;
        };
        request.insert("apiKey".into(), json!(header.api_key));
        request.insert(
            "apiName".into(),
            json!(api(header.api_key).map_or("", |a| a.name)),
        );
        request.insert("apiVersion".into(), json!(header.api_version));
        request.insert("correlationId".into(), json!(header.correlation_id));
        if let Some(client_id) = &header.client_id {
            request.insert("clientId".into(), json!(client_id));
        }
        let topics = topics(
            header.api_key,
            header.api_version,
            frame.body.get(header.body_at..).unwrap_or_default(),
        );
        if let Some(first) = topics.first() {
            request.insert("topic".into(), json!(first));
        }
        if matches!(header.api_key, 0 | 1) {
            request.insert("topics".into(), json!(topics));
        }
        let waiting = Waiting {
            request,
            start: frame.start,
            end: frame.end,
            error: None,
            pairing: Pairing {
                correlation_id: header.correlation_id,
                api_key: header.api_key,
                api_version: header.api_version,
            },
        };
        self.pending.push(waiting, out);
    }

    /// Pairs a response with its request; requests it passed over are reported to `out`.
    fn response(&mut self, frame: Pdu<()>, out: &mut Vec<Exchange>) -> Answering {
        let mut reader = Reader::new(&frame.body);
        let correlation_id = reader.i32().unwrap_or(-1);
        // The broker answers in order: requests before this one will get no response now.
        let index = self
            .pending
            .iter()
            .position(|p| p.pairing.correlation_id == correlation_id);
        let request = index.and_then(|index| {
            self.pending
                .answer_at(index, "no response (a later request was answered)", out)
        });
        let Some(pending) = request else {
            let mut response = Message::new();
            response.insert("correlationId".into(), json!(correlation_id));
            return Answering {
                exchange: Exchange {
                    protocol: "kafka",
                    response,
                    error: Some(
                        "response without a request (capture started mid-connection?)".into(),
                    ),
                    start: Some(frame.start),
                    end: Some(frame.end),
                    ..Exchange::default()
                },
                size: frame.size,
            };
        };
        let mut response = Message::new();
        let Pairing {
            api_key,
            api_version,
            ..
        } = pending.pairing;
        if let Some(code) = error_code(&mut reader, api_key, api_version) {
            response.insert("status".into(), json!(code));
        }
        Answering {
            exchange: Exchange {
                protocol: "kafka",
                start: Some(pending.start),
                request: pending.request,
                response,
                end: Some(frame.end),
                ..Exchange::default()
            },
            size: frame.size,
        }
    }
}
