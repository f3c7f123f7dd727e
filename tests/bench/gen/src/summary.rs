//! What a generated corpus holds, so a benchmark can check every tool saw the same traffic.

use serde::Serialize;

use crate::app::dns::DnsCounts;
use crate::app::http::HttpCounts;
use crate::app::postgres::PostgresCounts;
use crate::app::redis::RedisCounts;

/// Counts of everything written, per protocol; serialized as the generator's `--summary` JSON.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Summary {
    /// Seed the corpus was generated from.
    pub seed: u64,
    /// Protocol mix, as `--mix` writes it.
    pub mix: String,
    /// Concurrent flow slots.
    pub concurrent_flows: u64,
    /// Frames written.
    pub packets: u64,
    /// Bytes of the PCAP file, headers included.
    pub bytes: u64,
    /// Timestamp of the first frame, nanoseconds since the Unix epoch (0 when nothing was written).
    pub first_ns: u64,
    /// Timestamp of the last frame, nanoseconds since the Unix epoch (0 when nothing was written).
    pub last_ns: u64,
    /// TCP connections opened (and closed: every one ends with FINs).
    pub tcp_connections: u64,
    /// Most TCP connections open at the same time.
    pub peak_open_connections: u64,
    /// HTTP/1.1 exchanges.
    pub http: HttpCounts,
    /// DNS exchanges.
    pub dns: DnsCounts,
    /// Redis exchanges.
    pub redis: RedisCounts,
    /// PostgreSQL sessions and queries.
    pub postgres: PostgresCounts,
}

impl Summary {
    /// Request/response exchanges of every protocol (PostgreSQL startups not counted).
    pub fn exchanges(&self) -> u64 {
        self.http.requests + self.dns.queries + self.redis.commands + self.postgres.queries
    }
}
