//! Scan benchmark: a query that decodes every entry of a store, as `kubectl-shark query --store
//! DIR 'response.body == "nope"'` does (the index cannot answer a body, so each entry is decoded
//! and the filter run on it), without printing anything.
//!
//! `cargo run --release -p shark-store --example bench_scan DIR ['KFL']` prints the entries
//! decoded, those matched and the time taken, opening the store included.

use std::path::Path;
use std::time::Instant;

use shark_store::{Query, Store, entry_schema};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().ok_or("usage: bench_scan DIR ['KFL']")?;
    let filter = args
        .next()
        .unwrap_or_else(|| "response.body == \"nope\"".into());
    let started = Instant::now();
    let store = Store::open(Path::new(&dir))?;
    let stored: u64 = store.status()?.iter().map(|n| n.entries).sum();
    let q = Query {
        filter: Some(kfl::compile(&filter, &entry_schema())?),
        ..Query::default()
    };
    let mut found = 0;
    for entry in store.query(&q)? {
        entry?;
        found += 1;
    }
    println!(
        "`{filter}` over {stored} entries: {found} matched in {:.0} ms",
        started.elapsed().as_secs_f64() * 1000.0
    );
    Ok(())
}
