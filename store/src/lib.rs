//! This crate provides kubectl-shark's store: the [`Entry`] model, rotating PCAP segments, the
//! SQLite index, queries, export, retention, crash recovery and reindexing.
//!
//! # Layout
//! One directory per node under the store root:
//! `<root>/<node>/segments/<start-ns>-<seq>.pcap` (classic PCAP, nanosecond timestamps, the
//! source's link type; `.pcap.part` while written), `<root>/<node>/index.sqlite` (WAL) and
//! `<root>/<node>/settings.json`, the [`WriteSettings`] the node's entries were written with (what
//! dissecting its packets again must use to give the same entries back). Every
//! packet gets a number in its node's packet series; an [`Entry`] names its flow (`stream`) and the
//! numbers of its first and last packets, and the index records where each flow's packets lie in
//! each segment, so export reads exactly the records it needs.
//!
//! # The design decision that matters most
//! The PCAP is the source of truth and the index is a cache of it. Writers never block capture on
//! the index or the disk: [`NodeWriter`] packs entries into blocks of 128 and hands them to one
//! writer thread that compresses them (zstd, so repeated identities and field names cost little),
//! inserts their pushdown columns (texts interned, and who talks to whom interned once per distinct
//! node, endpoints, server port and protocol as a peer) and commits large transactions; segments are
//! written through a buffer, and syncing a sealed segment happens on that thread too. A crash loses
//! at most the unsynced tail; reopening cuts the `.part` to its last whole record and indexes it,
//! and [`NodeWriter::reindex`] can always rebuild the index from the segments alone.
//!
//! # Retention
//! With [`StoreConfig::storage_limit`] or [`StoreConfig::retention`], each sealed segment triggers
//! a pass that deletes the oldest segments (files first, so a full disk gets space back) and the
//! entries that started in them; opening a writer runs a pass before anything else is written.
//! The index counts against the limit, but a limit never deletes the segment being written or the
//! newest sealed one. The identities and names that no kept entry uses any more go in the same
//! pass (each row records when it was last used), and the index gives the freed pages back
//! (incremental vacuum), so a flood that has aged out leaves nothing behind. A writer remembers a
//! bounded number of identities and names and reads none of them when it opens.
//!
//! # One writer per node, names that stay inside the root
//! A [`NodeWriter`] (or a reindex) holds an exclusive lock on `<root>/<node>/writer.lock` while it
//! lives, with its pid and host written in it; a second writer is refused with a
//! [`StoreError::Locked`] naming them, and the lock dies with its process. Readers never take it.
//! Node names are RFC 1123 subdomains ([`check_node_name`]), as Kubernetes node names are, so none
//! leads out of the root; store files are opened without following symbolic links.
//!
//! # Queries
//! [`Store::query`] plans the KFL filter against [`INDEXED_COLUMNS`], the one table of the columns
//! the index keeps (time, identity, protocol, method, status and port), which kfl knows only as
//! declared [`kfl::IndexedField`]s: those predicates become SQL; the residual filter runs on
//! decoded entries. Rows are read in pages and merged across nodes by timestamp, so memory stays
//! bounded.
//!
//! # Following
//! [`Store::tail`] hands out each matching entry once as it is indexed, whatever its timestamp: a
//! per-node cursor on entry ids (the index numbers entries in write order), read block by block
//! through the query's pushdown condition and residual filter.
//!
//! # Bodies
//! The index keeps at most a prefix of each request and response body ([`keep_body_prefix`]; the
//! pipeline's `--index-body`) and marks a cut one [`BODY_TRUNCATED`], and as much of a Redis
//! request's arguments ([`keep_args_prefix`], [`ARGS_TRUNCATED`]); the PCAP holds the rest.
//! [`Store::with_body_loader`] takes a [`BodyLoader`] (the capture pipeline, dissecting an exchange's
//! stored packets again): a residual filter that reads a cut body then sees it whole, and
//! [`Store::query_with_bodies`] returns every entry with whole bodies. Entries of older stores,
//! which kept whole bodies inline, read as before.
//!
//! # Reindex
//! ```no_run
//! # fn dissect(_: &shark_store::StoredPacket, _: &mut shark_store::NodeWriter) -> Result<(), shark_store::StoreError> { Ok(()) }
//! use shark_store::{NodeWriter, Store};
//! # fn main() -> Result<(), shark_store::StoreError> {
//! let root = std::path::Path::new("/var/lib/shark");
//! let store = Store::open(root)?;
//! let mut rebuild = NodeWriter::reindex(root, "worker-1")?;
//! for packet in store.packets("worker-1")? {
//!     // The pipeline calls rebuild.write_packet(&packet.as_raw(), stream) for each packet, in
//!     // order (it only locates it), alloc_stream() per flow and write_entry() per exchange.
//!     dissect(&packet, &mut rebuild)?;
//! }
//! rebuild.finish()?; // swaps the rebuilt index in; until then the old one stays
//! # Ok(()) }
//! ```
//!
//! # Example
//! ```
//! use shark_store::{Entry, NodeWriter, Query, RawPacket, Store, StoreConfig};
//! # fn main() -> Result<(), shark_store::StoreError> {
//! let dir = tempfile::tempdir().map_err(|e| shark_store::StoreError::Output(e))?;
//! let mut writer = NodeWriter::open(dir.path(), "node-a", StoreConfig::default())?;
//! let stream = writer.alloc_stream();
//! let frame = [0u8; 60];
//! let ts = 1_700_000_000_000_000_000;
//! let first = writer.write_packet(&RawPacket { ts_ns: ts, orig_len: 60, linktype: 1, data: &frame }, Some(stream))?;
//! let mut entry = Entry { timestamp: ts, stream, ..Entry::default() };
//! entry.packets.first = first;
//! entry.packets.last = first;
//! writer.write_entry(entry)?;
//! writer.finish()?;
//!
//! let store = Store::open(dir.path())?;
//! let found: Vec<Entry> = store.query(&Query::default())?.collect::<Result<_, _>>()?;
//! assert_eq!(found.len(), 1);
//! # Ok(()) }
//! ```

pub use bodies::{
    ARGS_TRUNCATED, BODY_ENCODING, BODY_TRUNCATED, BodyLoader, LentPackets, cut_inline,
    keep_args_prefix, keep_body_prefix,
};
pub use capture_stats::CaptureStats;
pub use config::StoreConfig;
pub use entry::{Endpoint, Entry, Message, Node, PacketSpan, Protocol};
pub use error::{StoreError, error_line};
pub use export::ExportSummary;
pub use histogram::Histogram;
pub use index::columns::{INDEXED_COLUMNS, IndexedColumn};
pub use map::{
    Edge, GroupBy, LatencySketch, MAP_EDGES, MapBuilder, OtherEdges, Peer, PeerTotals,
    RELATIVE_ERROR, ServiceMap, UnknownGroupBy, failed,
};
pub use node_name::{check_node_name, parse_node_name};
pub use order::Order;
pub use packets::{PacketWalk, RawPacket, StoredPacket};
pub use page::{BadCursor, Page, PageKey};
pub use page_workers::set_query_threads;
pub use plan::Query;
pub use query::Entries;
pub use schema::entry_schema;
pub use settings::WriteSettings;
pub use status::grpc_status_name;
pub use store::{NodeStatus, Store};
pub use tail::{FOLLOW_POLL, Tail, index_generation};
pub use writer::{NodeWriter, WriteSummary};

mod bodies;
mod capture_stats;
mod config;
mod entry;
mod error;
mod export;
mod histogram;
mod index;
mod kfl2;
#[cfg(test)]
mod kfl2_test;
mod layout;
mod lock;
mod lookup;
mod map;
mod no_follow;
mod node_name;
mod order;
mod packets;
mod page;
mod page_reader;
mod page_workers;
mod plan;
mod query;
mod readback;
mod rebuild;
mod record;
mod recover;
mod reindex;
mod retention;
mod schema;
mod segment_file;
mod settings;
mod status;
mod store;
mod tail;
mod text_eq;
mod writer;
