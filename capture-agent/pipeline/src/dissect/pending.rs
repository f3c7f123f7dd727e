//! Requests waiting for their responses, and what becomes of those that get none.
//!
//! Every request-response protocol without its own streams (DNS, Redis, PostgreSQL, Kafka) keeps
//! the requests it has read in a [`PendingQueue`], oldest first and bounded in count: past the
//! bound the oldest is given up, reported at once without a response. A request that never gets
//! one (given up, lost with a gap, passed over by a later answer, or still waiting when the flow
//! ends) becomes an exchange with an error, built in one place ([`Waiting::unanswered`]).

use std::collections::VecDeque;

use serde_json::json;
use shark_store::Message;

use super::{ChunkMeta, Exchange};

/// A request waiting for its response.
pub(super) struct Waiting<P> {
    /// Its fields, `size` (its bytes on the wire) among them.
    pub request: Message,
    /// The chunk that carried its first byte.
    pub start: ChunkMeta,
    /// The chunk that carried its last byte.
    pub end: ChunkMeta,
    /// What was wrong with the request itself (part of it lost in a gap): reported whether or
    /// not a response comes.
    pub error: Option<String>,
    /// What the protocol pairs a response with it by (an id, a version, replies still owed).
    pub pairing: P,
}

impl<P> Waiting<P> {
    /// The request's wire `size`, as counted so far.
    pub fn size(&self) -> u64 {
        self.request
            .get("size")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0)
    }

    /// Sets the request's wire `size` (more of it passed, or part of it never will).
    pub fn set_size(&mut self, size: u64) {
        self.request.insert("size".into(), json!(size));
    }

    /// The exchange of a request of `protocol` that got no response: its own error, else `why`.
    fn unanswered(self, protocol: &'static str, why: &str) -> Exchange {
        Exchange {
            protocol,
            request: self.request,
            error: Some(self.error.unwrap_or_else(|| why.to_string())),
            start: Some(self.start),
            end: Some(self.end),
            ..Exchange::default()
        }
    }
}

/// The requests of one connection waiting for their responses, oldest first.
pub(super) struct PendingQueue<P> {
    queue: VecDeque<Waiting<P>>,
    /// `protocol.name` of the exchanges it reports.
    protocol: &'static str,
    /// Most requests kept waiting.
    limit: usize,
    /// The error of a request given up to keep `limit`.
    overflow: &'static str,
}

impl<P> PendingQueue<P> {
    /// No requests waiting; past `limit` the oldest is reported with the error `overflow`.
    pub fn new(protocol: &'static str, limit: usize, overflow: &'static str) -> Self {
        PendingQueue {
            queue: VecDeque::new(),
            protocol,
            limit,
            overflow,
        }
    }

    /// Queues `request`, first giving up the oldest when `limit` are waiting; says whether one
    /// was given up.
    pub fn push(&mut self, request: Waiting<P>, out: &mut Vec<Exchange>) -> bool {
        let oldest = if self.queue.len() >= self.limit {
            self.queue.pop_front()
        } else {
            None
        };
        let given_up = oldest.is_some();
        if let Some(oldest) = oldest {
            out.push(oldest.unanswered(self.protocol, self.overflow));
        }
        self.queue.push_back(request);
        given_up
    }

    /// The request at `index`, once answered: those before it will get no response now and are
    /// reported with the error `skipped` (a protocol whose server answers in order).
    pub fn answer_at(
        &mut self,
        index: usize,
        skipped: &str,
        out: &mut Vec<Exchange>,
    ) -> Option<Waiting<P>> {
        if index >= self.queue.len() {
            return None;
        }
        for passed_over in self.queue.drain(..index) {
            out.push(passed_over.unanswered(self.protocol, skipped));
        }
        self.queue.pop_front()
    }

    /// Removes the request at `index`, answered out of order (DNS over UDP).
    pub fn remove(&mut self, index: usize) -> Option<Waiting<P>> {
        self.queue.remove(index)
    }

    /// Reports every waiting request without a response, with the error `why` (their responses
    /// were lost).
    pub fn give_up_all(&mut self, why: &str, out: &mut Vec<Exchange>) {
        for waiting in self.queue.drain(..) {
            out.push(waiting.unanswered(self.protocol, why));
        }
    }

    /// Takes the waiting requests `pick` chooses, oldest first; the others keep waiting, in order.
    pub fn take_where(&mut self, pick: impl Fn(&Waiting<P>) -> bool) -> Vec<Waiting<P>> {
        let mut taken = Vec::new();
        let mut kept = VecDeque::with_capacity(self.queue.len());
        for waiting in self.queue.drain(..) {
            if pick(&waiting) {
                taken.push(waiting);
            } else {
                kept.push_back(waiting);
            }
        }
        self.queue = kept;
        taken
    }

    /// Reports the waiting requests `lost` picks without a response, with the error `why` (a
    /// gap took the direction their responses come from); the others keep waiting, in order.
    pub fn give_up_where(
        &mut self,
        lost: impl Fn(&Waiting<P>) -> bool,
        why: &str,
        out: &mut Vec<Exchange>,
    ) {
        for waiting in self.take_where(lost) {
            out.push(waiting.unanswered(self.protocol, why));
        }
    }

    /// The flow ended (`reason`): every request still waiting is reported without a response.
    pub fn close(&mut self, reason: &str, out: &mut Vec<Exchange>) {
        self.give_up_all(
            &format!("no response before the flow ended ({reason})"),
            out,
        );
    }

    /// The oldest waiting request, the one the next in-order response answers.
    pub fn front_mut(&mut self) -> Option<&mut Waiting<P>> {
        self.queue.front_mut()
    }

    /// Takes the oldest waiting request.
    pub fn pop_front(&mut self) -> Option<Waiting<P>> {
        self.queue.pop_front()
    }

    /// The newest waiting request.
    pub fn back_mut(&mut self) -> Option<&mut Waiting<P>> {
        self.queue.back_mut()
    }

    /// The waiting requests, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &Waiting<P>> {
        self.queue.iter()
    }

    /// Where each waiting request began, for [`Parser::unfinished`](super::Parser::unfinished).
    pub fn starts(&self) -> impl Iterator<Item = Option<ChunkMeta>> + '_ {
        self.queue.iter().map(|waiting| Some(waiting.start))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Request `n`, its own error if any.
    fn request(n: u64, error: Option<&str>) -> Waiting<u64> {
        let mut fields = Message::new();
        fields.insert("n".into(), json!(n));
        fields.insert("size".into(), json!(10 * n));
        let meta = ChunkMeta {
            ts_ns: n as i64,
            packet: n,
        };
        Waiting {
            request: fields,
            start: meta,
            end: meta,
            error: error.map(str::to_string),
            pairing: n,
        }
    }

    /// Each reported exchange's request number and error.
    fn reported(out: &[Exchange]) -> Vec<(Option<serde_json::Value>, Option<String>)> {
        out.iter()
            .map(|e| (e.request.get("n").cloned(), e.error.clone()))
            .collect()
    }

    fn queue(limit: usize) -> PendingQueue<u64> {
        PendingQueue::new("test", limit, "no response (too many)")
    }

    #[test]
    fn past_the_limit_the_oldest_is_given_up() {
        let mut pending = queue(2);
        let mut out = Vec::new();
        assert!(!pending.push(request(1, None), &mut out));
        assert!(!pending.push(request(2, None), &mut out));
        assert!(out.is_empty(), "two fit");
        assert!(pending.push(request(3, None), &mut out));
        assert_eq!(
            reported(&out),
            [(Some(json!(1)), Some("no response (too many)".into()))]
        );
        assert_eq!(out[0].protocol, "test");
        let waiting: Vec<_> = pending.iter().map(|w| w.pairing).collect();
        assert_eq!(waiting, [2, 3]);
    }

    #[test]
    fn an_answer_reports_the_requests_it_passed_over() {
        let mut pending = queue(8);
        let mut out = Vec::new();
        for n in 1..=4 {
            pending.push(request(n, None), &mut out);
        }
        assert!(pending.answer_at(9, "skipped", &mut out).is_none());
        assert!(out.is_empty(), "no answer, nothing passed over");
        let answered = pending.answer_at(2, "skipped", &mut out);
        assert_eq!(answered.map(|w| w.pairing), Some(3));
        assert_eq!(
            reported(&out),
            [
                (Some(json!(1)), Some("skipped".into())),
                (Some(json!(2)), Some("skipped".into()))
            ]
        );
        assert_eq!(pending.pop_front().map(|w| w.pairing), Some(4));
    }

    #[test]
    fn at_close_every_request_is_reported_and_its_own_error_wins() {
        let mut pending = queue(8);
        let mut out = Vec::new();
        pending.push(request(1, None), &mut out);
        pending.push(request(2, Some("request partly lost")), &mut out);
        pending.close("FIN", &mut out);
        assert_eq!(
            reported(&out),
            [
                (
                    Some(json!(1)),
                    Some("no response before the flow ended (FIN)".into())
                ),
                (Some(json!(2)), Some("request partly lost".into()))
            ]
        );
        assert_eq!(
            out.iter()
                .map(|e| e.start.map(|m| m.packet))
                .collect::<Vec<_>>(),
            [Some(1), Some(2)]
        );
        assert!(pending.iter().next().is_none());
    }

    #[test]
    fn a_waiting_request_size_can_change_until_it_is_reported() {
        let mut pending = queue(8);
        let mut out = Vec::new();
        pending.push(request(3, None), &mut out);
        if let Some(last) = pending.back_mut() {
            last.set_size(last.size() - 7);
        }
        pending.give_up_all("gap", &mut out);
        assert_eq!(out[0].request.get("size"), Some(&json!(23)));
    }
}
