//! How the pipeline is configured: what it keeps of bodies, its timeouts and its memory bounds.

use std::time::Duration;

use shark_store::Node;

use crate::decode::DefragLimits;
use crate::dissect::{DEFAULT_MAX_BODY, ParserSettings};
use crate::reassembly::ReassemblyLimits;

/// Bytes of a body the index keeps inline unless told otherwise (the `--index-body` flags): enough
/// to recognise a body (a JSON object's first key, an XML declaration) in the index alone. Each
/// byte costs about as much in the index as in the packets when bodies do not compress: on the
/// benchmark's 100 MB HTTP corpus the index is 13.8 % of the PCAP with 0, 14.8 % with 32 and 15.6 %
/// with 64.
pub const DEFAULT_INDEX_BODY: usize = 32;

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
    /// is marked `bodyTruncated`, and is read back whole from its packets when shown.
    pub index_body: usize,
    /// A TCP connection without packets for this long is closed (its pending requests become
    /// entries with an error).
    pub flow_timeout: Duration,
    /// A UDP conversation without packets for this long is closed.
    pub udp_timeout: Duration,
    /// Flows tracked at once; past this the longest-idle ones are closed.
    pub max_flows: usize,
    /// Per-direction out-of-order buffering bounds.
    pub reassembly: ReassemblyLimits,
    /// Bytes buffered out of order across all flows; past this a flow's holes become gaps at once.
    pub max_buffered_total: usize,
    /// IP fragment reassembly bounds.
    pub defrag: DefragLimits,
}

impl PipelineConfig {
    /// Defaults for `node`: 64 KiB bodies, whole in each entry (what writes an index sets
    /// `index_body`, e.g. to [`DEFAULT_INDEX_BODY`]), 10 min TCP and 2 min UDP idle timeouts, 1M flows,
    /// 256 MiB of out-of-order data.
    pub fn new(node: Node) -> Self {
        PipelineConfig {
            node,
            max_body: DEFAULT_MAX_BODY,
            index_body: DEFAULT_MAX_BODY,
            flow_timeout: Duration::from_secs(600),
            udp_timeout: Duration::from_secs(120),
            max_flows: 1 << 20,
            reassembly: ReassemblyLimits::default(),
            max_buffered_total: 256 << 20,
            defrag: DefragLimits::default(),
        }
    }

    /// What every parser this pipeline makes keeps.
    pub fn parser_settings(&self) -> ParserSettings {
        ParserSettings {
            max_body: self.max_body,
        }
    }
}
