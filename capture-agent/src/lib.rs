//! This crate provides kubectl-shark's capture pipeline: packet sources, decoding, flows and TCP
//! reassembly, protocol dissectors, identity, and the node agent.

pub mod dissect;
