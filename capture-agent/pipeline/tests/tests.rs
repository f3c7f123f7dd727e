//! The pipeline's integration tests, one binary: dissectors over payloads extracted from real
//! captures, the whole pipeline over the public captures (`tests/fixtures/public` at the
//! repository's top) checked against tshark's reading, the packet sources, and re-dissection
//! of stored packets (reindex, body read-back, replay) against what import wrote.

mod common;
mod conn;
mod replay;
#[path = "data/segments.rs"]
mod segments;

mod dissect_dns;
mod dissect_http2;
mod dissect_kafka;
mod dissect_mysql;
mod dissect_postgres;
mod dissect_redis;
mod dissect_tls;
mod fixtures;
mod flood;
mod ingest;
mod pipeline;
mod redissect;
mod source;
mod unfinished;
