//! `kubectl-shark`: capture, index and query Kubernetes traffic.

fn main() {}
