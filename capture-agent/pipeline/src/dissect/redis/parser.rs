//! One Redis connection: commands queued until answered in order, replies paired with them
//! (a multi-channel SUBSCRIBE taking one confirmation per channel), pushes and pub/sub messages
//! reported on their own.

use super::fields::{request_fields, response_fields, subscription_replies};
use super::reader::{Reader, Role};
use super::value::RespValue;
use crate::dissect::pending::{PendingQueue, Waiting};
use crate::dissect::{ChunkMeta, Direction, Exchange, Parser, Unfinished};

/// Requests waiting for their response; beyond this the oldest is reported unanswered.
const MAX_PENDING: usize = 4096;

/// Per-flow Redis state: one reader per direction and the requests waiting for a response.
pub(super) struct RedisParser {
    requests: Reader,
    responses: Reader,
    pending: PendingQueue<Replies>,
}

impl Default for RedisParser {
    fn default() -> Self {
        RedisParser {
            requests: Reader::default(),
            responses: Reader::default(),
            pending: PendingQueue::new(
                "redis",
                MAX_PENDING,
                "no response (too many pipelined requests)",
            ),
        }
    }
}

/// The replies a waiting command still gets.
struct Replies {
    /// Further replies that belong to this request (one per channel of SUBSCRIBE-like commands).
    extra: usize,
    /// The first reply was reported; the rest are only counted.
    reported: bool,
}

impl Parser for RedisParser {
    fn feed(&mut self, dir: Direction, data: &[u8], meta: ChunkMeta, out: &mut Vec<Exchange>) {
        let mut values = Vec::new();
        match dir {
            Direction::ToServer => {
                self.requests.feed(Role::Request, data, meta, &mut values);
                for value in values {
                    self.request(value, out);
                }
            }
            Direction::ToClient => {
                self.responses.feed(Role::Response, data, meta, &mut values);
                for value in values {
                    self.response(value, out);
                }
            }
        }
    }

    fn gap(&mut self, dir: Direction, out: &mut Vec<Exchange>) {
        match dir {
            Direction::ToServer => {
                // A command cut by the gap still gets its reply: keep its place in the queue.
                if let Some(partial) = self.requests.partial() {
                    let waiting = Waiting {
                        request: partial.fields,
                        start: partial.start,
                        end: partial.end,
                        error: Some("request partly lost in a capture gap".into()),
                        pairing: Replies {
                            extra: 0,
                            reported: false,
                        },
                    };
                    self.pending.push(waiting, out);
                }
                self.requests.lose_sync();
            }
            Direction::ToClient => {
                // Which responses were lost is unknown: report every waiting request.
                self.responses.lose_sync();
                self.pending
                    .give_up_all("response lost in a capture gap", out);
            }
        }
    }

    fn close(&mut self, reason: &str, out: &mut Vec<Exchange>) {
        if let Some(partial) = self.requests.partial() {
            out.push(Exchange {
                protocol: "redis",
                request: partial.fields,
                error: Some(format!(
                    "incomplete request before the flow ended ({reason})"
                )),
                start: Some(partial.start),
                end: Some(partial.end),
                ..Exchange::default()
            });
        }
        if let Some(partial) = self.responses.take_partial()
            && let Some(front) = self.pending.pop_front()
        {
            // The reply had begun (e.g. a large value cut off by the end of the capture).
            out.push(Exchange {
                protocol: "redis",
                request: front.request,
                response: response_fields(&partial),
                error: Some(format!(
                    "incomplete response before the flow ended ({reason})"
                )),
                start: Some(front.start),
                end: Some(partial.end),
                ..Exchange::default()
            });
        }
        self.pending.close(reason, out);
    }

    /// Commands waiting for their replies, and a command or reply half read.
    fn unfinished(&self) -> Unfinished {
        let open = [self.requests.started(), self.responses.started()];
        Unfinished::earliest(self.pending.starts().chain(open))
    }
}

impl RedisParser {
    fn request(&mut self, value: RespValue, out: &mut Vec<Exchange>) {
        let Some(fields) = request_fields(&value) else {
            return;
        };
        if value.no_reply {
            out.push(Exchange {
                protocol: "redis",
                request: fields,
                error: value.error,
                start: Some(value.start),
                end: Some(value.end),
                ..Exchange::default()
            });
            return;
        }
        let waiting = Waiting {
            request: fields,
            start: value.start,
            end: value.end,
            pairing: Replies {
                extra: subscription_replies(&value).saturating_sub(1),
                reported: false,
            },
            error: value.error,
        };
        self.pending.push(waiting, out);
    }

    fn response(&mut self, value: RespValue, out: &mut Vec<Exchange>) {
        if value.is_push() {
            out.push(Exchange {
                protocol: "redis",
                response: response_fields(&value),
                start: Some(value.start),
                end: Some(value.end),
                ..Exchange::default()
            });
            return;
        }
        if let Some(front) = self.pending.front_mut()
            && front.pairing.reported
        {
            // A further confirmation of a multi-channel SUBSCRIBE already reported.
            front.pairing.extra = front.pairing.extra.saturating_sub(1);
            if front.pairing.extra == 0 {
                self.pending.pop_front();
            }
            return;
        }
        let response = response_fields(&value);
        let Some(front) = self.pending.front_mut() else {
            out.push(Exchange {
                protocol: "redis",
                response,
                error: Some(value.error.unwrap_or_else(|| {
                    "response without a request (capture started mid-connection?)".into()
                })),
                start: Some(value.start),
                end: Some(value.end),
                ..Exchange::default()
            });
            return;
        };
        // Only a multi-channel SUBSCRIBE stays waiting after its first reply, so only it is cloned.
        let (request, error, start) = if front.pairing.extra > 0 {
            front.pairing.reported = true;
            (front.request.clone(), front.error.clone(), front.start)
        } else {
            match self.pending.pop_front() {
                Some(done) => (done.request, done.error, done.start),
                None => return,
            }
        };
        out.push(Exchange {
            protocol: "redis",
            request,
            response,
            error: error.or(value.error),
            start: Some(start),
            end: Some(value.end),
            ..Exchange::default()
        });
    }
}
