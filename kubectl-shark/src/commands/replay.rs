//! `replay`: re-read a window's stored packets, re-dissect them (the index is not consulted) and
//! stream the matching entries in time order, paced like the original traffic.
//!
//! Each node's packets go through the same pipeline as capture, read from the segments that can
//! hold the window's flows: from one flow timeout before the window (the pipeline closes a flow
//! idle that long, so nothing older pairs with the window), not from the node's first segment.
//! The pipeline emits an exchange when it completes, so entries wait in a time-ordered buffer
//! (as the lines that will show them, far smaller than entries) until no earlier one can still
//! come: none starts before the earliest exchange a flow's parser holds unfinished (a request
//! not yet answered, a message half read; for a flow no parser can speak for, its first packet),
//! nor (for exchanges yet to begin) before the newest packet. An idle keep-alive connection, a
//! connection pool or a TLS connection past its handshake holds nothing back, so the buffer holds
//! the entries since the oldest unanswered request, not since the oldest open connection; and
//! never more than a flow timeout's worth (only an exchange left pending that long could then
//! come out of order). Reading stops once no entry of the window can still come; nodes are
//! merged by timestamp.
//!
//! Starting late has one cost: a name learned from a DNS answer seen more than a flow timeout
//! before the window is not known to the replay (the index has it); `--identities` names are.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use shark_pipeline::identities::{DnsLearningSink, SharedIdentities};
use shark_pipeline::{Packet, Pipeline, PipelineConfig, Sink};
use shark_store::{Entry, Node, PacketWalk, Query, Store};

use super::follow::{EntryStream, render};
use super::{identities, window_query};
use crate::cli::{OutputFormat, ReplayArgs};

/// Runs `replay`.
pub fn run(args: &ReplayArgs) -> Result<()> {
    let speed = parse_speed(&args.speed)?;
    let query = window_query(&args.window, None)?;
    let store = Store::open(&args.store.store)?;
    let identities = identities(args.identities.as_deref())?;
    let mut nodes = Vec::new();
    for node in store.nodes() {
        let mut replay = NodeReplay::new(&store, node, &query, identities.clone(), args.output)?;
        let head = replay.next()?;
        nodes.push((head, replay));
    }
    let mut out = EntryStream::new(args.output);
    let mut pacer = Pacer { speed, start: None };
    let mut shown = 0u64;
    // Merge: the node whose next entry is earliest goes first.
    loop {
        let earliest = nodes
            .iter()
            .enumerate()
            .filter_map(|(i, (head, _))| head.as_ref().map(|(ts, _)| (*ts, i)))
            .min();
        let Some((head, replay)) = earliest.and_then(|(_, i)| nodes.get_mut(i)) else {
            break;
        };
        if let Some((ts, line)) = std::mem::replace(head, replay.next()?) {
            pacer.wait(ts);
            out.push_line(&line)?;
            shown += 1;
        }
    }
    if shown == 0 {
        eprintln!("no entries match in the stored packets of that window");
    }
    Ok(())
}

/// `1`, `10`, any positive factor, or `max` (no waiting: `None`).
fn parse_speed(speed: &str) -> Result<Option<f64>> {
    if speed == "max" {
        return Ok(None);
    }
    let factor: f64 = speed.parse().ok().filter(|f: &f64| f.is_finite() && *f > 0.0).with_context(|| {
        format!("--speed {speed} is not a speed: use 1 (real time), 10 (ten times faster), any positive factor, or max")
    })?;
    Ok(Some(factor))
}

/// Sleeps so entries come out at their original spacing divided by the speed.
struct Pacer {
    speed: Option<f64>,
    start: Option<(i64, Instant)>,
}

impl Pacer {
    fn wait(&mut self, ts: i64) {
        let Some(speed) = self.speed else { return };
        let (first_ts, started) = *self.start.get_or_insert((ts, Instant::now()));
        let offset =
            Duration::from_secs_f64(ts.saturating_sub(first_ts).max(0) as f64 / 1e9 / speed);
        std::thread::sleep((started + offset).saturating_duration_since(Instant::now()));
    }
}

/// Packets pushed between two reckonings of which entries are settled (each is a pass over the
/// open flows).
const SETTLE_EVERY: u32 = 1024;
/// Leeway for packets captured slightly out of time order (from several interfaces).
const DISORDER_NS: i64 = 1_000_000_000;

/// One node's re-dissected entries of the window, in time order.
struct NodeReplay {
    walk: PacketWalk,
    pipeline: Option<Pipeline>,
    sink: ReplaySink,
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

impl NodeReplay {
    fn new(
        store: &Store,
        node: &str,
        query: &Query,
        identities: SharedIdentities,
        format: OutputFormat,
    ) -> Result<Self> {
        let config = PipelineConfig::new(Node {
            name: node.to_string(),
            ip: String::new(),
        });
        let timeout = config.flow_timeout.max(config.udp_timeout);
        let timeout_ns = i64::try_from(timeout.as_nanos()).unwrap_or(i64::MAX);
        let pipeline = Pipeline::new(config).with_identity(Box::new(identities.clone()));
        let walk = match query.from {
            Some(from) => store.packets_between(node, from.saturating_sub(timeout_ns), i64::MAX)?,
            None => store.packets(node)?,
        };
        Ok(NodeReplay {
            walk,
            pipeline: Some(pipeline),
            sink: ReplaySink {
                query: query.clone(),
                format,
                number: 0,
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
    /// entry's timestamp and printed line.
    fn next(&mut self) -> std::io::Result<Option<(i64, String)>> {
        loop {
            match self.sink.ready.peek() {
                Some(Reverse((ts, _, _))) if self.pipeline.is_none() || *ts < self.settled_ns => {
                    return Ok(self
                        .sink
                        .ready
                        .pop()
                        .map(|Reverse((ts, _, line))| (ts, line)));
                }
                None if self.pipeline.is_none() => return Ok(None),
                _ => {}
            }
            // Once every entry still to come starts past the window, the rest is not read.
            let packet = if self.settled_ns >= self.to_ns {
                None
            } else {
                self.walk.next()
            };
            if let Some(stored) = &packet {
                self.newest_ns = self.newest_ns.max(stored.ts_ns);
                self.sink.number = stored.number;
            }
            let mut sink = DnsLearningSink::new(&mut self.sink, self.identities.clone());
            if let (Some(stored), Some(pipeline)) = (&packet, self.pipeline.as_mut()) {
                let packet = Packet {
                    ts_ns: stored.ts_ns,
                    orig_len: stored.orig_len,
                    linktype: stored.linktype,
                    data: &stored.data,
                };
                pipeline.push(&packet, &mut sink)?;
                self.unsettled_packets += 1;
                if self.unsettled_packets >= SETTLE_EVERY {
                    self.settle();
                }
            } else if let Some(pipeline) = self.pipeline.take() {
                pipeline.finish(&mut sink)?;
            }
        }
    }

    /// Works out the time before which no entry can still come: the start of the earliest
    /// unfinished exchange or the newest packet, whichever is earlier, but at most a flow timeout
    /// behind.
    fn settle(&mut self) {
        self.unsettled_packets = 0;
        let unfinished = self
            .pipeline
            .as_ref()
            .and_then(Pipeline::earliest_unfinished)
            .unwrap_or(i64::MAX);
        let coming = unfinished.min(self.newest_ns).saturating_sub(DISORDER_NS);
        self.settled_ns = coming.max(self.newest_ns.saturating_sub(self.timeout_ns));
    }
}

/// Takes the pipeline's output without storing it: packets keep their stored numbers, and the
/// entries of the window that match the filter wait, as the lines that show them, ordered by
/// (timestamp, arrival).
struct ReplaySink {
    query: Query,
    format: OutputFormat,
    number: u64,
    streams: u64,
    arrived: u64,
    ready: BinaryHeap<Reverse<(i64, u64, String)>>,
}

impl Sink for &mut ReplaySink {
    type Error = std::io::Error;

    fn packet(&mut self, _: &Packet<'_>, _: Option<u64>) -> std::io::Result<u64> {
        Ok(self.number)
    }

    fn alloc_stream(&mut self) -> u64 {
        self.streams += 1;
        self.streams
    }

    fn entry(&mut self, entry: Entry) -> std::io::Result<()> {
        let in_window = self.query.from.is_none_or(|f| entry.timestamp >= f)
            && self.query.to.is_none_or(|t| entry.timestamp < t);
        if in_window && self.query.filter.as_ref().is_none_or(|f| f.matches(&entry)) {
            self.arrived += 1;
            let mut line = render(self.format, &entry)?;
            // It may wait long: drop the spare capacity rendering left.
            line.shrink_to_fit();
            self.ready
                .push(Reverse((entry.timestamp, self.arrived, line)));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::parse_speed;

    #[test]
    fn speeds() {
        assert_eq!(parse_speed("max").ok(), Some(None));
        assert_eq!(parse_speed("10").ok(), Some(Some(10.0)));
        let err = parse_speed("fast")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("use 1 (real time)"), "{err}");
        assert!(parse_speed("0").is_err() && parse_speed("-1").is_err());
    }
}
