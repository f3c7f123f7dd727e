//! How the pipeline is configured: what it keeps of bodies, its timeouts and its memory bounds;
//! and how a configuration is recorded in the store ([`WriteSettings`]) and rebuilt from it.

use std::time::Duration;

use shark_store::{Node, WriteSettings};

use crate::decode::DefragLimits;
use crate::dissect::{DEFAULT_MAX_BODY, MAX_BODY_LIMIT, ParserSettings};
use crate::reassembly::ReassemblyLimits;

/// Bytes of a body the index keeps inline unless told otherwise (the `--index-body` flags): enough
/// to recognise a body (a JSON object's first key, an XML declaration) in the index alone. Each
/// byte costs about as much in the index as in the packets when bodies do not compress: on the
/// benchmark's 100 MB HTTP corpus the index is 13.8 % of the PCAP with 0, 14.8 % with 32 and 15.6 %
/// with 64.
pub const DEFAULT_INDEX_BODY: usize = 32;

/// The pipeline's memory budget unless told otherwise (the `--memory-limit` flags): what its flow
/// state may take (flows, their parsers and out-of-order bytes). A quarter of it holds bytes
/// waiting out of order; the rest holds flows at [`FLOW_COST`] each, so 256 MiB tracks 157,286
/// flows at once (the agent's 100k-open-flows benchmark fits), of which at most a quarter may be
/// flows nobody answered (a flood's).
pub const DEFAULT_MEMORY_LIMIT: usize = 256 << 20;

/// What one tracked flow is reckoned to cost when the memory budget is turned into a number of
/// flows: the flow (456 bytes, 136 of them what its connection record counts), its table slot
/// and key (about 120 bytes with the table's spare room), and a pinned parser with its bounded
/// state. Measured before connection records: 100k open HTTP connections cost 186 MiB of agent
/// RSS, about 1.2 KiB each above the agent's own 60 MiB.
pub const FLOW_COST: usize = 1280;

/// How much of each body the entries of a pipeline built from [`WriteSettings`] keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bodies {
    /// What the index keeps: the first `--index-body` bytes, marked `bodyTruncated` when cut
    /// (what import, capture and reindex write).
    Indexed,
    /// Whole, up to `--max-body` (what a query with bodies shows: body read-back and replay).
    Whole,
}

/// What the pipeline needs to know and how far it may grow.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    /// The capturing node, stamped on every entry.
    pub node: Node,
    /// Most bytes of a request or response body an entry holds (`--max-body`): what a user sees
    /// of a body at most. Parsers keep this much of each body (and decode no more), so raising it
    /// shows more; see [`ParserSettings`].
    pub max_body: usize,
    /// Bytes of a body the index keeps inline (`--index-body`); a longer one keeps this prefix,
    /// is marked `bodyTruncated`, and is read back whole from its packets when shown. A Redis
    /// request's `args` are cut to this many bytes in all the same way (`argsTruncated`).
    pub index_body: usize,
    /// A TCP connection without packets for this long is closed (its pending requests become
    /// entries with an error).
    pub flow_timeout: Duration,
    /// A UDP conversation without packets for this long is closed.
    pub udp_timeout: Duration,
    /// Flows tracked at once; past this flows are closed early, those that never carried a packet
    /// both ways (half-open connections, unanswered queries: what a flood or a scan makes) first,
    /// the longest idle first within each kind. Set from the memory budget by
    /// [`PipelineConfig::with_memory_limit`].
    pub max_flows: usize,
    /// Per-direction out-of-order buffering bounds.
    pub reassembly: ReassemblyLimits,
    /// Bytes buffered out of order across all flows; past this a flow's holes become gaps at once.
    /// Set from the memory budget by [`PipelineConfig::with_memory_limit`].
    pub max_buffered_total: usize,
    /// IP fragment reassembly bounds.
    pub defrag: DefragLimits,
}

impl PipelineConfig {
    /// Defaults for `node`: 64 KiB bodies, whole in each entry (what writes an index sets
    /// `index_body`, e.g. to [`DEFAULT_INDEX_BODY`]), 10 min TCP and 2 min UDP idle timeouts, and
    /// flow state within [`DEFAULT_MEMORY_LIMIT`].
    pub fn new(node: Node) -> Self {
        PipelineConfig {
            node,
            max_body: DEFAULT_MAX_BODY,
            index_body: DEFAULT_MAX_BODY,
            flow_timeout: Duration::from_secs(600),
            udp_timeout: Duration::from_secs(120),
            max_flows: 0,
            reassembly: ReassemblyLimits::default(),
            max_buffered_total: 0,
            defrag: DefragLimits::default(),
        }
        .with_memory_limit(DEFAULT_MEMORY_LIMIT)
    }

    /// This configuration with its flow state bounded by `bytes` (the `--memory-limit` flags): a
    /// quarter for bytes held out of order, the rest for flows at [`FLOW_COST`] each (at least
    /// 1,024 flows).
    pub fn with_memory_limit(mut self, bytes: usize) -> Self {
        self.max_buffered_total = bytes / 4;
        self.max_flows = ((bytes - bytes / 4) / FLOW_COST).max(1024);
        self
    }

    /// The configuration a node's writer starts from: [`PipelineConfig::new`] with the index
    /// keeping [`DEFAULT_INDEX_BODY`] bytes of each body (the `--index-body` default).
    pub fn for_writing(node: Node) -> Self {
        PipelineConfig {
            index_body: DEFAULT_INDEX_BODY,
            ..PipelineConfig::new(node)
        }
    }

    /// What the store records of this configuration: every cap, timeout and bound that shapes
    /// the entries (all but the node).
    pub fn write_settings(&self) -> WriteSettings {
        WriteSettings {
            max_body: self.max_body,
            index_body: self.index_body,
            flow_timeout_ns: nanos(self.flow_timeout),
            udp_timeout_ns: nanos(self.udp_timeout),
            max_flows: self.max_flows,
            reassembly_bytes: self.reassembly.max_buffered_bytes,
            reassembly_segments: self.reassembly.max_buffered_segments,
            buffered_total: self.max_buffered_total,
            fragment_datagrams: self.defrag.max_datagrams,
            fragment_bytes: self.defrag.max_bytes,
            fragment_timeout_ns: u64::try_from(self.defrag.timeout_ns).unwrap_or(0),
        }
    }

    /// The configuration `settings` record, for `node`, keeping `bodies` of each body; a
    /// `max_body` above [`MAX_BODY_LIMIT`] (whatever a record says) is taken as the limit.
    pub fn from_settings(node: Node, settings: &WriteSettings, bodies: Bodies) -> Self {
        let max_body = settings.max_body.min(MAX_BODY_LIMIT);
        PipelineConfig {
            node,
            max_body,
            index_body: match bodies {
                Bodies::Indexed => settings.index_body,
                Bodies::Whole => max_body,
            },
            flow_timeout: Duration::from_nanos(settings.flow_timeout_ns),
            udp_timeout: Duration::from_nanos(settings.udp_timeout_ns),
            max_flows: settings.max_flows,
            reassembly: ReassemblyLimits {
                max_buffered_bytes: settings.reassembly_bytes,
                max_buffered_segments: settings.reassembly_segments,
            },
            max_buffered_total: settings.buffered_total,
            defrag: DefragLimits {
                max_datagrams: settings.fragment_datagrams,
                max_bytes: settings.fragment_bytes,
                timeout_ns: i64::try_from(settings.fragment_timeout_ns).unwrap_or(i64::MAX),
            },
        }
    }

    /// Flows that carried packets one way only (half-open connections, queries not answered
    /// yet) tracked at most: a quarter of [`PipelineConfig::max_flows`], so a flood of them
    /// takes a quarter of the budget, and the rest stays for the traffic that is answered.
    pub fn max_one_way_flows(&self) -> usize {
        self.max_flows / 4
    }

    /// How long a flow of `transport` may go without packets before it is closed, in ns.
    pub fn timeout_ns(&self, transport: crate::flow::Transport) -> i64 {
        let timeout = match transport {
            crate::flow::Transport::Tcp => self.flow_timeout,
            _ => self.udp_timeout,
        };
        i64::try_from(timeout.as_nanos()).unwrap_or(i64::MAX)
    }

    /// What every parser this pipeline makes keeps.
    pub fn parser_settings(&self) -> ParserSettings {
        ParserSettings {
            max_body: self.max_body,
        }
    }
}

/// `duration` in nanoseconds, saturating.
fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configuration_recorded_and_rebuilt_is_the_same() {
        let node = Node {
            name: "n".into(),
            ip: String::new(),
        };
        let mut config = PipelineConfig::for_writing(node.clone());
        config.max_body = 1000;
        config.index_body = 10;
        config.flow_timeout = Duration::from_millis(1500);
        config.defrag.max_datagrams = 3;
        let settings = config.write_settings();
        let indexed = PipelineConfig::from_settings(node.clone(), &settings, Bodies::Indexed);
        assert_eq!(indexed.write_settings(), settings);
        let whole = PipelineConfig::from_settings(node, &settings, Bodies::Whole);
        assert_eq!((whole.max_body, whole.index_body), (1000, 1000));
        let huge = WriteSettings {
            max_body: usize::MAX,
            ..settings
        };
        let capped = PipelineConfig::from_settings(config.node, &huge, Bodies::Whole);
        assert_eq!(capped.index_body, MAX_BODY_LIMIT);
    }
}
