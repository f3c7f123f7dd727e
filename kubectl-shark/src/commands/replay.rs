//! `replay`: re-read a window's stored packets, re-dissect them (the index is not consulted) and
//! stream the matching entries in time order, paced like the original traffic.
//!
//! Each node's packets go through the same pipeline as capture. The pipeline emits an exchange when
//! it completes, so entries wait in a small time-ordered buffer until no earlier one can still come
//! (the pipeline's flow timeout behind the newest packet); nodes are then merged by timestamp.
//! Packets are read from the node's first segment (flows that began earlier need their start) up to
//! the flow timeout past the window's end (so late answers still pair).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::convert::Infallible;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use shark_agent::identities::{DnsLearningSink, SharedIdentities};
use shark_agent::{Packet, Pipeline, PipelineConfig, Sink};
use shark_store::{Entry, Node, PacketWalk, Query, Store};

use super::follow::EntryStream;
use super::{identities, window_query};
use crate::cli::ReplayArgs;

/// Runs `replay`.
pub fn run(args: &ReplayArgs) -> Result<()> {
    let speed = parse_speed(&args.speed)?;
    let query = window_query(&args.window, None)?;
    let store = Store::open(&args.store.store)?;
    let identities = identities(args.identities.as_deref())?;
    let mut nodes = Vec::new();
    for node in store.nodes() {
        let mut replay = NodeReplay::new(&store, node, &query, identities.clone())?;
        let head = replay.next();
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
            .filter_map(|(i, (head, _))| head.as_ref().map(|e| (e.timestamp, i)))
            .min();
        let Some((head, replay)) = earliest.and_then(|(_, i)| nodes.get_mut(i)) else {
            break;
        };
        if let Some(entry) = std::mem::replace(head, replay.next()) {
            pacer.wait(entry.timestamp);
            out.push(&entry)?;
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

/// One node's re-dissected entries of the window, in time order.
struct NodeReplay {
    walk: PacketWalk,
    pipeline: Option<Pipeline>,
    sink: ReplaySink,
    identities: SharedIdentities,
    /// Entries this far behind the newest packet can no longer be preceded by another.
    settle_ns: i64,
    /// Packets at or after this time cannot complete an exchange that started in the window.
    stop_ns: i64,
    newest_ns: i64,
}

impl NodeReplay {
    fn new(store: &Store, node: &str, query: &Query, identities: SharedIdentities) -> Result<Self> {
        let config = PipelineConfig::new(Node {
            name: node.to_string(),
            ip: String::new(),
        });
        let settle = config.flow_timeout.max(config.udp_timeout);
        let settle_ns = i64::try_from(settle.as_nanos()).unwrap_or(i64::MAX);
        let pipeline = Pipeline::new(config).with_identity(Box::new(identities.clone()));
        Ok(NodeReplay {
            walk: store.packets(node)?,
            pipeline: Some(pipeline),
            sink: ReplaySink {
                query: query.clone(),
                ..ReplaySink::default()
            },
            identities,
            settle_ns,
            stop_ns: query.to.map_or(i64::MAX, |to| to.saturating_add(settle_ns)),
            newest_ns: i64::MIN,
        })
    }

    /// Feeds packets until the earliest buffered entry is settled, or the walk ends.
    fn next(&mut self) -> Option<Entry> {
        loop {
            let settled = self.newest_ns.saturating_sub(self.settle_ns);
            match self.sink.ready.peek() {
                Some(Reverse((ts, _, _))) if self.pipeline.is_none() || *ts < settled => {
                    return self
                        .sink
                        .ready
                        .pop()
                        .map(|Reverse((_, _, Timed(entry)))| entry);
                }
                None if self.pipeline.is_none() => return None,
                _ => {}
            }
            let packet = self.walk.next().filter(|p| p.ts_ns < self.stop_ns);
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
                let Ok(()) = pipeline.push(&packet, &mut sink);
            } else if let Some(pipeline) = self.pipeline.take() {
                let Ok(_) = pipeline.finish(&mut sink);
            }
        }
    }
}

/// An entry ordered by nothing but the key it sits under in the heap.
struct Timed(Entry);

impl PartialEq for Timed {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl Eq for Timed {}
impl PartialOrd for Timed {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Timed {
    fn cmp(&self, _: &Self) -> std::cmp::Ordering {
        std::cmp::Ordering::Equal
    }
}

/// Takes the pipeline's output without storing it: packets keep their stored numbers, and the
/// entries of the window that match the filter wait, ordered by (timestamp, arrival), to be shown.
#[derive(Default)]
struct ReplaySink {
    query: Query,
    number: u64,
    streams: u64,
    arrived: u64,
    ready: BinaryHeap<Reverse<(i64, u64, Timed)>>,
}

impl Sink for &mut ReplaySink {
    type Error = Infallible;

    fn packet(&mut self, _: &Packet<'_>, _: Option<u64>) -> Result<u64, Infallible> {
        Ok(self.number)
    }

    fn alloc_stream(&mut self) -> u64 {
        self.streams += 1;
        self.streams
    }

    fn entry(&mut self, entry: Entry) -> Result<(), Infallible> {
        let in_window = self.query.from.is_none_or(|f| entry.timestamp >= f)
            && self.query.to.is_none_or(|t| entry.timestamp < t);
        if in_window && self.query.filter.as_ref().is_none_or(|f| f.matches(&entry)) {
            self.arrived += 1;
            self.ready
                .push(Reverse((entry.timestamp, self.arrived, Timed(entry))));
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
