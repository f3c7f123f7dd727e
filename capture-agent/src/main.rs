//! `shark-agent`: the node capture agent.

fn main() {}
