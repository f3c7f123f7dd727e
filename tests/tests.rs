//! End-to-end tests: the real binaries, as a user runs them.

mod util;

mod agent_api;
mod agent_limits;
mod amqp;
mod bad_input;
mod bodies;
mod cluster_e2e;
mod connections;
mod container;
mod demo;
mod export;
mod fanout;
mod fields;
mod graphql;
mod icmp;
mod image;
mod import_http;
mod index_migration;
mod kfl_compat;
mod krew;
mod kubernetes;
mod layout;
pub mod live_capture;
mod map_follow_replay;
mod mongo;
mod mysql;
mod one_writer;
mod pair;
mod plugin;
mod tables;
mod ui;
mod websocket;
mod wire_sizes;
