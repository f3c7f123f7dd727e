//! This crate provides kubectl-shark's packet pipeline: packet sources, decoding, flows and TCP
//! reassembly, protocol dissectors, identity, entry building and re-dissection of stored packets.
//!
//! Packets flow through stages with one job each: a [`FileSource`] (or the agent's live source)
//! yields [`Packet`]s; the [`Pipeline`] decodes them (link layer, IP with fragment reassembly,
//! TCP/UDP), tracks flows, reassembles TCP, picks a dissector per flow (port table, then content
//! probes; pinned once chosen) and turns each request/response exchange into a
//! [`shark_store::Entry`]. Every packet, decodable or not, goes to the [`Sink`] first, with its flow
//! id, so the store keeps all packets and entries can point at them.
//!
//! Around the pipeline: [`identities`] names endpoints as they were at each moment (from a file
//! and from DNS answers; the Kubernetes watchers live in `shark-agent` and feed the same history),
//! [`Ingest`] ties pipeline and store together for import, capture and the agent, recording in
//! the store how the node is written ([`shark_store::WriteSettings`]). Stored packets become
//! entries again through one path, [`Redissection`], configured from that record: [`Redissect`]
//! is the store's loader that gives long bodies back whole, [`reindex_node`] rebuilds an index
//! from the packets alone, and [`Replay`] streams a window's entries without the index.
//!
//! What this crate must not know: live capture (libpcap), the Kubernetes API, HTTP serving, the
//! command line. Reading a stored capture needs only this crate and the store.
//!
//! The design decision that matters most: the pipeline is push-driven and single-threaded per
//! source, owning all flow state — no locks on the per-packet path, and memory bounded per flow
//! and in total (out-of-order buffers, flows tracked, IP fragments). [`Ingest`] writes to the
//! store on the pipeline's thread too; the store's index compresses and commits on a second.
//!
//! ```no_run
//! use shark_pipeline::{FileSource, OnEntry, Pipeline, PipelineConfig};
//! use shark_store::Node;
//!
//! let mut pipeline = Pipeline::new(PipelineConfig::new(Node { name: "local".into(), ip: String::new() }));
//! let mut sink = OnEntry::new(|entry| println!("{}", shark_pipeline::summary_line(&entry)));
//! for packet in FileSource::open("capture.pcap")? {
//!     let Ok(()) = pipeline.push(&packet?.as_packet(), &mut sink);
//! }
//! let Ok(_stats) = pipeline.finish(&mut sink);
//! # Ok::<(), shark_pipeline::SourceError>(())
//! ```

pub use bodies::{Redissect, open_store, open_store_redacting};
pub use config::{Bodies, DEFAULT_INDEX_BODY, DEFAULT_MEMORY_LIMIT, FLOW_COST, PipelineConfig};
pub use decode::DecodeError;
pub use identity::{Identity, IdentityResolver, NoIdentity};
pub use ingest::Ingest;
pub use packet::{OwnedPacket, Packet};
pub use pipeline::{Pipeline, PipelineStats};
pub use read_ahead::ReadAhead;
pub use reassembly::{Chunk, ReassemblyLimits, SegmentIn, TcpReassembler};
pub use redact::{REDACTED, Redacting};
pub use redissect::{Redissection, written_config};
pub use reindex::reindex_node;
pub use replay::Replay;
pub use scope::{CaptureScope, ScopeError};
pub use sink::{OnEntry, Sink};
pub use source::{FileSource, SourceError};
pub use summary::summary_line;

pub mod decode;
pub mod dissect;
pub mod identities;
pub mod spec;

mod bodies;
mod config;
mod conn;
mod dispatch;
mod entry;
mod flow;
mod identity;
mod ingest;
mod packet;
mod pipeline;
mod read_ahead;
mod reassembly;
mod redact;
mod redissect;
mod reindex;
mod replay;
mod scope;
mod sink;
mod source;
mod store_sink;
mod summary;
