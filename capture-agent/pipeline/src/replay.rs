//! Replay: a window's stored packets dissected again (the index is not consulted), the matching
//! entries handed out in time order across nodes, each as its caller shapes it.
//!
//! Each node's packets go through [`Redissection`] (bodies whole, as a query with bodies shows
//! them, every cap and timeout as the node was written), read from the segments that can hold the
//! window's flows: from one flow timeout before the window (the pipeline closes a flow idle that
//! long, so nothing older pairs with the window), not from the node's first segment.
//! The pipeline emits an exchange when it completes, so entries wait in a time-ordered buffer (as
//! the caller's shape of them, e.g. the lines that will show them, far smaller than entries) until
//! no earlier one can still come: none starts before the earliest exchange a flow's parser holds
//! unfinished (a request not yet answered, a message half read; for a flow no parser can speak
//! for, its first packet), nor (for exchanges yet to begin) before the newest packet. An idle
//! keep-alive connection, a connection pool or a TLS connection past its handshake holds nothing
//! back, so the buffer holds the entries since the oldest unanswered request, not since the oldest
//! open connection; and never more than a flow timeout's worth (only an exchange left pending that
//! long could then come out of order). Reading stops once no entry of the window can still come;
//! nodes are merged by timestamp.
//!
//! Starting late has one cost: a name learned from a DNS answer seen more than a flow timeout
//! before the window is not known to the replay (the index has it); identities given are.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io;

use shark_store::{Entry, PacketWalk, Query, Store, StoreError};

use crate::config::Bodies;
use crate::identities::{DnsLearningSink, SharedIdentities};
use crate::redissect::Redissection;
use crate::{Packet, Sink};

/// Packets pushed between two reckonings of which entries are settled (each is a pass over the
/// open flows).
const SETTLE_EVERY: u32 = 1024;
/// Leeway for packets captured slightly out of time order (from several interfaces).
const DISORDER_NS: i64 = 1_000_000_000;

/// The entries of a window, re-dissected from every node's stored packets, in time order, each
/// as `show` shapes it.
pub struct Replay<T, F> {
    /// Each node's replay.
    nodes: Vec<NodeReplay<T, F>>,
    /// Whether each node's first entry has been worked out.
    started: bool,
}

impl<T, F> Replay<T, F>
where
    F: FnMut(&Entry) -> io::Result<T> + Clone,
{
    /// The entries of `query`'s window matching its filter, in every node of `store`, naming
    /// endpoints from `identities` (and the DNS answers seen); each entry is kept as `show(entry)`
    /// while it waits.
    pub fn new(
        store: &Store,
        query: &Query,
        identities: SharedIdentities,
        show: F,
    ) -> Result<Self, StoreError> {
        let nodes = store
            .nodes()
            .map(|node| NodeReplay::new(store, node, query, identities.clone(), show.clone()))
            .collect::<Result<_, StoreError>>()?;
        Ok(Replay {
            nodes,
            started: false,
        })
    }

    /// The next entry of the window (the earliest of every node's next one), with its timestamp;
    /// `None` at the end.
    pub fn next_entry(&mut self) -> io::Result<Option<(i64, T)>> {
        if !self.started {
            self.started = true;
            for node in &mut self.nodes {
                node.head = node.next()?;
            }
        }
        let earliest = self
            .nodes
            .iter()
            .enumerate()
            .filter_map(|(i, node)| node.head.as_ref().map(|(ts, _)| (*ts, i)))
            .min();
        let Some(node) = earliest.and_then(|(_, i)| self.nodes.get_mut(i)) else {
            return Ok(None);
        };
        let next = node.next()?;
        Ok(std::mem::replace(&mut node.head, next))
    }
}

/// One node's re-dissected entries of the window, in time order.
struct NodeReplay<T, F> {
    /// Its next entry, once worked out.
    head: Option<(i64, T)>,
    walk: PacketWalk,
    redissection: Option<Redissection>,
    sink: ReplaySink<T, F>,
    identities: SharedIdentities,
    /// The longest the pipeline keeps an idle flow: how far back a flow can begin.
    timeout_ns: i64,
    /// Entries starting at or after this are past the window.
    to_ns: i64,
    newest_ns: i64,
    /// Every entry still to come starts at or after this.
    settled_ns: i64,
    /// Packets pushed since `settled_ns` was worked out.
    unsettled_packets: u32,
}

impl<T, F> NodeReplay<T, F>
where
    F: FnMut(&Entry) -> io::Result<T>,
{
    fn new(
        store: &Store,
        node: &str,
        query: &Query,
        identities: SharedIdentities,
        show: F,
    ) -> Result<Self, StoreError> {
        let redissection = Redissection::new(store.root(), node, Bodies::Whole)
            .with_identity(Box::new(identities.clone()));
        let config = redissection.config();
        let timeout = config.flow_timeout.max(config.udp_timeout);
        let timeout_ns = i64::try_from(timeout.as_nanos()).unwrap_or(i64::MAX);
        let walk = match query.from {
            Some(from) => store.packets_between(node, from.saturating_sub(timeout_ns), i64::MAX)?,
            None => store.packets(node)?,
        };
        Ok(NodeReplay {
            head: None,
            walk,
            redissection: Some(redissection),
            sink: ReplaySink {
                query: query.clone(),
                show,
                streams: 0,
                arrived: 0,
                ready: BinaryHeap::new(),
            },
            identities,
            timeout_ns,
            to_ns: query.to.unwrap_or(i64::MAX),
            newest_ns: i64::MIN,
            settled_ns: i64::MIN,
            unsettled_packets: 0,
        })
    }

    /// Feeds packets until the earliest buffered entry is settled, or the walk ends; returns that
    /// entry's timestamp and shape.
    fn next(&mut self) -> io::Result<Option<(i64, T)>> {
        loop {
            match self.sink.ready.peek() {
                Some(Reverse(waiting))
                    if self.redissection.is_none() || waiting.ts < self.settled_ns =>
                {
                    return Ok(self.sink.ready.pop().map(|Reverse(w)| (w.ts, w.shown)));
                }
                None if self.redissection.is_none() => return Ok(None),
                _ => {}
            }
            // Once every entry still to come starts past the window, the rest is not read.
            let packet = if self.settled_ns >= self.to_ns {
                None
            } else {
                self.walk.next()
            };
            let mut sink = DnsLearningSink::new(&mut self.sink, self.identities.clone());
            if let (Some(stored), Some(redissection)) = (&packet, self.redissection.as_mut()) {
                self.newest_ns = self.newest_ns.max(stored.ts_ns);
                redissection.push(stored, &mut sink)?;
                self.unsettled_packets += 1;
                if self.unsettled_packets >= SETTLE_EVERY {
                    self.settle();
                }
            } else if let Some(redissection) = self.redissection.take() {
                redissection.finish(&mut sink)?;
            }
        }
    }

    /// Works out the time before which no entry can still come: the start of the earliest
    /// unfinished exchange or the newest packet, whichever is earlier, but at most a flow timeout
    /// behind.
    fn settle(&mut self) {
        self.unsettled_packets = 0;
        let unfinished = self
            .redissection
            .as_ref()
            .and_then(Redissection::earliest_unfinished)
            .unwrap_or(i64::MAX);
        let coming = unfinished.min(self.newest_ns).saturating_sub(DISORDER_NS);
        self.settled_ns = coming.max(self.newest_ns.saturating_sub(self.timeout_ns));
    }
}

/// An entry of the window waiting for its turn, ordered by (timestamp, arrival).
struct Waiting<T> {
    ts: i64,
    arrived: u64,
    shown: T,
}

impl<T> PartialEq for Waiting<T> {
    fn eq(&self, other: &Self) -> bool {
        (self.ts, self.arrived) == (other.ts, other.arrived)
    }
}

impl<T> Eq for Waiting<T> {}

impl<T> PartialOrd for Waiting<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl<T> Ord for Waiting<T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.ts, self.arrived).cmp(&(other.ts, other.arrived))
    }
}

/// Takes the pipeline's output without storing it: the entries of the window that match the
/// filter wait, as `show` shapes them, ordered by (timestamp, arrival).
struct ReplaySink<T, F> {
    query: Query,
    show: F,
    streams: u64,
    arrived: u64,
    ready: BinaryHeap<Reverse<Waiting<T>>>,
}

impl<T, F> Sink for &mut ReplaySink<T, F>
where
    F: FnMut(&Entry) -> io::Result<T>,
{
    type Error = io::Error;

    fn packet(&mut self, _: &Packet<'_>, _: Option<u64>) -> io::Result<u64> {
        // Redissection numbers the packets as the store did.
        Ok(0)
    }

    fn alloc_stream(&mut self) -> u64 {
        self.streams += 1;
        self.streams
    }

    // Replay shows entries, never exports: the spans are not needed.
    fn handshake(&mut self, _: u64, _: u64, _: u64) -> Result<(), io::Error> {
        Ok(())
    }

    fn state_packets(&mut self, _: u64, _: u64, _: u64) -> Result<(), io::Error> {
        Ok(())
    }

    fn entry(&mut self, entry: Entry) -> io::Result<()> {
        let in_window = self.query.from.is_none_or(|f| entry.timestamp >= f)
            && self.query.to.is_none_or(|t| entry.timestamp < t);
        if in_window && self.query.filter.as_ref().is_none_or(|f| f.matches(&entry)) {
            self.arrived += 1;
            let shown = (self.show)(&entry)?;
            self.ready.push(Reverse(Waiting {
                ts: entry.timestamp,
                arrived: self.arrived,
                shown,
            }));
        }
        Ok(())
    }
}
