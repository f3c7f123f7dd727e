//! This crate provides kubectl-shark's capture pipeline: packet sources, decoding, flows and TCP
//! reassembly, protocol dissectors, identity, and the node agent.

pub mod api;
pub mod capture_loop;
pub mod dissect;
pub mod identities;
pub mod live;
pub mod spec;

mod ingest;
mod reindex;
mod store_sink;

pub use ingest::Ingest;
pub use reindex::reindex_node;
