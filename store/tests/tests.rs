//! Integration tests of the store, through its public API, on real captures checked with tshark.

mod corrupt;
mod crash;
mod disk_full;
mod import;
mod kfl_filters;
mod reindex;
mod retention;
mod tail;
mod util;
