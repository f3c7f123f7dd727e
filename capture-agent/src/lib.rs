//! This crate provides kubectl-shark's capture pipeline: packet sources, decoding, flows and TCP
//! reassembly, protocol dissectors, identity, and the node agent.

pub mod dissect;
pub mod identities;
pub mod live;

mod ingest;
mod reindex;
mod store_sink;

pub use ingest::Ingest;
pub use reindex::reindex_node;
