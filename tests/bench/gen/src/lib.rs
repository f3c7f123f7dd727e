//! This crate provides the synthetic half of the kubectl-shark benchmark corpus: a deterministic, streaming
//! generator of classic PCAP files (nanosecond timestamps, Ethernet) carrying HTTP/1.1 keep-alive, DNS over
//! UDP, Redis and PostgreSQL traffic between many clients and a few services.
//!
//! It reaches what captured traffic on one machine cannot: hours of timestamps, a million concurrent
//! flows, files of many gigabytes, an exact protocol mix. Every frame is valid on the wire (IPv4, TCP and
//! UDP checksums, contiguous sequence numbers, handshakes and FINs), so tshark dissects the file without a
//! warning and its counts can be checked against the [`Summary`] the generator returns.
//!
//! The design decision that matters: time is a function of bytes written. Each step advances one of N flow
//! slots by one exchange (the first N steps open every slot, so N flows are open at once; later steps pick
//! slots at random); the clock first moves to `start + duration × bytes /
//! size`, so the corpus spans the requested duration whatever the mix, and frames stay in time order
//! without buffering (memory is the slots, about 50 bytes each).
//!
//! ```
//! use shark_bench_gen::{Config, generate};
//!
//! let config = Config { size: 200_000, flows: 50, ..Config::default() };
//! let mut pcap = Vec::new();
//! let summary = generate(&config, &mut pcap).unwrap();
//! assert_eq!(summary.bytes, pcap.len() as u64);
//! assert!(summary.http.requests > 0);
//! ```

pub use app::dns::DnsCounts;
pub use app::http::HttpCounts;
pub use app::postgres::PostgresCounts;
pub use app::redis::RedisCounts;
pub use error::GenError;
pub use generator::{Config, MAX_FLOWS, generate};
pub use mix::{Mix, Protocol};
pub use summary::Summary;
pub use units::{parse_duration_ns, parse_size};

mod app;
mod checksum;
mod emit;
mod error;
mod frame;
mod generator;
mod mix;
mod pcap;
mod rng;
mod summary;
mod tcp;
mod units;
