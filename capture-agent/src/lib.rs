//! This crate provides kubectl-shark's capture pipeline: packet sources, decoding, flows and TCP
//! reassembly, protocol dissectors, identity, and the node agent.
//!
//! Packets flow through stages with one job each: a [`FileSource`] (or a live source) yields
//! [`Packet`]s; the [`Pipeline`] decodes them (link layer, IP with fragment reassembly, TCP/UDP),
//! tracks flows, reassembles TCP, picks a dissector per flow (port table, then content probes;
//! pinned once chosen) and turns each request/response exchange into a [`shark_store::Entry`].
//! Every packet, decodable or not, goes to the [`Sink`] first, with its flow id, so the store
//! keeps all packets and entries can point at them.
//!
//! Around the pipeline: [`live`] captures with libpcap (one thread per interface, a bounded queue,
//! every drop counted), [`identities`] names endpoints as they were at each moment (from a file,
//! the Kubernetes API, and DNS answers), [`Ingest`] ties pipeline and store together for import,
//! capture and the agent, and [`api`] serves the store to `kubectl shark` behind a bearer token.
//! The index keeps only a prefix of long bodies (`--index-body`); [`Redissect`] is the store's
//! loader that gives them back whole by dissecting the exchange's stored packets again.
//!
//! The design decision that matters most: the pipeline is push-driven and single-threaded per
//! source, owning all flow state — no locks on the per-packet path, and memory bounded per flow
//! and in total (out-of-order buffers, flows tracked, IP fragments).
//!
//! ```no_run
//! use shark_agent::{FileSource, Packet, Pipeline, PipelineConfig, Sink};
//! use shark_store::{Entry, Node};
//!
//! #[derive(Default)]
//! struct Collect { packets: u64, streams: u64, entries: Vec<Entry> }
//! impl Sink for Collect {
//!     type Error = std::convert::Infallible;
//!     fn packet(&mut self, _: &Packet<'_>, _: Option<u64>) -> Result<u64, Self::Error> { self.packets += 1; Ok(self.packets) }
//!     fn alloc_stream(&mut self) -> u64 { self.streams += 1; self.streams }
//!     fn entry(&mut self, entry: Entry) -> Result<(), Self::Error> { self.entries.push(entry); Ok(()) }
//! }
//!
//! let mut pipeline = Pipeline::new(PipelineConfig::new(Node { name: "local".into(), ip: String::new() }));
//! let mut sink = Collect::default();
//! for packet in FileSource::open("capture.pcap")? {
//!     pipeline.push(&packet?.as_packet(), &mut sink).unwrap();
//! }
//! pipeline.finish(&mut sink).unwrap();
//! for entry in &sink.entries {
//!     println!("{}", shark_agent::summary_line(entry));
//! }
//! # Ok::<(), shark_agent::SourceError>(())
//! ```

pub use bodies::{Redissect, open_store};
pub use decode::DecodeError;
pub use identity::{Identity, IdentityResolver, NoIdentity};
pub use ingest::Ingest;
pub use packet::{OwnedPacket, Packet};
pub use pipeline::{DEFAULT_INDEX_BODY, Pipeline, PipelineConfig, PipelineStats};
pub use reassembly::{Chunk, ReassemblyLimits, SegmentIn, TcpReassembler};
pub use reindex::reindex_node;
pub use scope::{CaptureScope, ScopeError};
pub use sink::Sink;
pub use source::{FileSource, SourceError};
pub use summary::summary_line;

pub mod api;
pub mod capture_loop;
pub mod decode;
pub mod dissect;
pub mod identities;
pub mod live;
pub mod spec;

mod bodies;
mod dispatch;
mod entry;
mod flow;
mod identity;
mod ingest;
mod packet;
mod pipeline;
mod reassembly;
mod reindex;
mod scope;
mod sink;
mod source;
mod store_sink;
mod summary;
