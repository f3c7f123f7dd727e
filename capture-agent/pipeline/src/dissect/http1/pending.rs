//! Requests read and waiting for their responses (keep-alive and pipelining), bounded in count
//! and in bytes.
//!
//! A connection holds at most [`MAX_PENDING`] waiting requests and at most
//! [`pending_budget`]`(max_body)` bytes of them (their header blocks and the body bytes kept).
//! Over the byte budget, the kept body bytes of the oldest waiting requests go first: each keeps
//! its method, path, headers and wire size, is marked `bodyTruncated` (its packets still hold
//! the body), and still pairs with its response. Only when header blocks alone exceed the budget,
//! or past [`MAX_PENDING`], is the oldest request given up: reported at once without a response.
//! Its response, when it comes, is reported on its own, so every later response still pairs with
//! its own request.

use std::collections::VecDeque;

use super::message::Msg;

/// Requests waiting for responses; past this the oldest is given up (a hostile or one-sided flow).
pub(super) const MAX_PENDING: usize = 1024;

/// The byte budget of one connection's waiting requests when bodies are kept up to `max_body`
/// bytes: four whole bodies, and never less than 1 MiB, so that ordinary pipelining keeps every
/// body and no flow holds more than 256 MiB even at the 64 MiB `--max-body` limit.
pub(super) fn pending_budget(max_body: usize) -> usize {
    max_body.saturating_mul(4).max(1 << 20)
}

/// What the next response answers.
#[derive(Debug)]
pub(super) enum Answered {
    /// This waiting request.
    Request(Box<Msg>),
    /// A request already reported without a response (given up over the caps).
    GivenUp,
    /// No request seen.
    Nothing,
}

/// The waiting requests of one connection, oldest first, and the bytes they hold.
#[derive(Debug)]
pub(super) struct Pending {
    queue: VecDeque<Box<Msg>>,
    /// What `queue` holds in memory: header blocks and body allocations.
    held: usize,
    /// Most bytes `queue` may hold.
    budget: usize,
    /// Requests given up ahead of `queue` whose responses have not come yet.
    given_up: u64,
    /// The oldest requests of `queue` whose bodies were dropped: bodies go oldest first.
    bodies_dropped: usize,
}

impl Pending {
    /// No requests waiting; bodies are kept up to `max_body` bytes each.
    pub fn new(max_body: usize) -> Self {
        Pending {
            queue: VecDeque::new(),
            held: 0,
            budget: pending_budget(max_body),
            given_up: 0,
            bodies_dropped: 0,
        }
    }

    /// Whether no request waits (given-up ones aside).
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Adds a request whose header block was read; the caller then reports what
    /// [`give_up_oldest`](Self::give_up_oldest) returns.
    pub fn push(&mut self, request: Box<Msg>) {
        self.held = self.held.saturating_add(request.held_bytes());
        self.queue.push_back(request);
        self.drop_oldest_bodies();
    }

    /// The oldest waiting request, given up to keep the caps, if one must be; call until `None`.
    /// The newest request is never given up.
    pub fn give_up_oldest(&mut self) -> Option<Box<Msg>> {
        let over = self.queue.len() > MAX_PENDING || self.held > self.budget;
        if !over || self.queue.len() < 2 {
            return None;
        }
        let oldest = self.pop_oldest()?;
        self.given_up += 1;
        Some(oldest)
    }

    /// The request the next response answers, when it is one still waiting.
    pub fn next_to_answer(&self) -> Option<&Msg> {
        if self.given_up > 0 {
            return None;
        }
        self.queue.front().map(|request| &**request)
    }

    /// Takes what the response just read answers.
    pub fn answer(&mut self) -> Answered {
        if self.given_up > 0 {
            self.given_up -= 1;
            return Answered::GivenUp;
        }
        match self.pop_oldest() {
            Some(request) => Answered::Request(request),
            None => Answered::Nothing,
        }
    }

    /// The newest request, to note an error on (its size in memory must not change).
    pub fn newest_mut(&mut self) -> Option<&mut Msg> {
        self.queue.back_mut().map(|request| &mut **request)
    }

    /// Lets `read` add body bytes to the newest request, then keeps the byte budget.
    pub fn grow_newest<R>(&mut self, read: impl FnOnce(&mut Msg) -> R) -> Option<R> {
        let newest = self.queue.back_mut()?;
        let before = newest.held_bytes();
        let result = read(newest);
        let after = newest.held_bytes();
        self.held = self.held.saturating_sub(before).saturating_add(after);
        self.drop_oldest_bodies();
        Some(result)
    }

    /// Every waiting request, oldest first, leaving none.
    pub fn take_all(&mut self) -> VecDeque<Box<Msg>> {
        self.held = 0;
        self.given_up = 0;
        self.bodies_dropped = 0;
        std::mem::take(&mut self.queue)
    }

    /// Bytes the waiting requests hold, as counted.
    #[cfg(test)]
    pub fn held_bytes(&self) -> usize {
        self.held
    }

    /// The waiting requests, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &Msg> {
        self.queue.iter().map(|request| &**request)
    }

    /// Removes the oldest waiting request from the queue and its count.
    fn pop_oldest(&mut self) -> Option<Box<Msg>> {
        let oldest = self.queue.pop_front()?;
        self.held = self.held.saturating_sub(oldest.held_bytes());
        self.bodies_dropped = self.bodies_dropped.saturating_sub(1);
        Some(oldest)
    }

    /// While over the budget, drops the bodies of the oldest requests that still keep theirs.
    fn drop_oldest_bodies(&mut self) {
        while self.held > self.budget {
            let Some(request) = self.queue.get_mut(self.bodies_dropped) else {
                return;
            };
            let before = request.held_bytes();
            request.drop_body();
            let released = before.saturating_sub(request.held_bytes());
            self.held = self.held.saturating_sub(released);
            self.bodies_dropped += 1;
        }
    }
}
