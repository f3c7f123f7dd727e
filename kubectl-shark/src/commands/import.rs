//! `import`: read a capture file, dissect it, and add packets and entries to a store.

use std::io::IsTerminal;
use std::time::Instant;

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use shark_pipeline::{FileSource, Ingest, ReadAhead};

use super::shared::{identities, store_config};
use crate::cli::ImportArgs;

/// Runs `import`.
pub fn run(args: &ImportArgs) -> Result<()> {
    // Check the capture's framing before touching the store (record headers only; a classic
    // pcap's packet bytes are skipped): a file that is not a capture, or one cut off mid-record,
    // is refused whole and leaves the store as it was.
    let packets = FileSource::count_packets(&args.file)?;
    let started = Instant::now();
    let config = store_config(&args.retention)?;
    let identities = identities(args.identities.as_deref())?;
    let max_body = args.retention.max_body()?;
    let mut ingest = Ingest::open(
        &args.store.store,
        &args.node,
        config,
        identities,
        args.retention.index_body()?,
        max_body,
    )?
    .with_memory_limit(args.retention.memory_limit()?)?;
    let progress = progress_bar(packets);
    // The file is read on a thread of its own, ahead of the pipeline.
    let mut ahead = ReadAhead::start(FileSource::open(&args.file)?)?;
    while let Some(packet) = ahead.next_packet()? {
        ingest.push_packet(packet)?;
        progress.inc(1);
    }
    let stats = ingest.finish()?;
    progress.finish_and_clear();
    eprintln!(
        "imported {} packets, {} entries, {} bytes in {:.2} s into {} (node {})",
        stats.packets,
        stats.entries,
        stats.bytes,
        started.elapsed().as_secs_f64(),
        args.store.store.display(),
        args.node
    );
    Ok(())
}

/// A progress bar on a terminal; hidden when stderr is a pipe or a file.
fn progress_bar(total: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {pos}/{len} packets {per_sec} eta {eta}")
    {
        bar.set_style(style);
    }
    bar
}
