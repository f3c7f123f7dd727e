//! Integration tests of the store, through its public API, on real captures checked with tshark.

mod corrupt;
mod crash;
mod disk_full;
mod flood;
mod handshake;
mod histogram;
mod import;
mod kfl_filters;
mod long_query;
mod page;
mod paths;
mod reindex;
mod retention;
mod tail;
mod util;
