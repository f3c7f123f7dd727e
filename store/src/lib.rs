//! This crate provides kubectl-shark's store: the `Entry` model, rotating PCAP segments, the SQLite
//! index, queries, export and retention.

pub use entry::{Endpoint, Entry, Message, Node, PacketSpan, Protocol};

mod entry;
