//! This crate provides kubectl-shark's node agent: live capture with libpcap, the Kubernetes
//! watchers that name endpoints, and the HTTP API that serves the node's store to `kubectl shark`.
//!
//! The packet pipeline itself (decode, flows, reassembly, dissectors, entries, re-dissection) is
//! `shark-pipeline`; this crate feeds it live packets and serves what it stored. [`live`] captures
//! with libpcap (one thread per interface, a bounded queue, every drop counted);
//! [`capture_loop`] runs the pipeline and store on those packets until stopped;
//! [`kube_identities`] watches pods, services, nodes and endpointslices into the identity history;
//! [`api`] serves status, query, export, map, follow and metrics behind a bearer token, and
//! [`server`] runs it with header timeouts and a connection cap fair between addresses;
//! [`own_traffic`] leaves the API's own traffic (it carries the token) out of capture.
//!
//! What this crate must not know: the command line's rendering, or the deployment of agents (that
//! is `kubectl-shark`).

pub mod api;
pub mod capture_loop;
pub mod kube_identities;
pub mod live;
pub mod own_traffic;
pub mod server;
