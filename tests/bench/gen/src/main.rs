//! `shark-bench-gen`: writes a synthetic PCAP corpus for the benchmark suite and prints what it holds.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Parser;
use shark_bench_gen::{Config, Mix, generate, parse_duration_ns, parse_size};

/// Write a deterministic synthetic PCAP (HTTP/1.1, DNS, Redis, PostgreSQL) that tshark dissects cleanly.
#[derive(Debug, Parser)]
#[command(name = "shark-bench-gen", version, about, max_term_width = 110)]
struct Args {
    /// Output PCAP file, or `-` for stdout.
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
    /// Approximate file size: exchanges stop at this size, then open flows are closed (e.g. 64MB, 5GiB).
    #[arg(long, value_name = "SIZE", default_value = "64MB")]
    size: String,
    /// Seed; the same seed and flags give a byte-identical file.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Protocol mix by exchanges: http, dns, redis, postgres with weights.
    #[arg(
        long,
        value_name = "NAME=W,…",
        default_value = "http=60,dns=15,redis=15,postgres=10"
    )]
    mix: Mix,
    /// Concurrent flows (client slots talking in parallel), up to 4194304.
    #[arg(long, value_name = "N", default_value_t = 1_000)]
    flows: u64,
    /// Time the corpus spans (e.g. 90s, 6h, 2d).
    #[arg(long, value_name = "DURATION", default_value = "1h")]
    duration: String,
    /// Timestamp of the first frame (RFC 3339).
    #[arg(long, value_name = "TIME", default_value = "2026-11-26T00:00:00Z")]
    start: String,
    /// Mean exchanges per flow (keep-alive requests per connection).
    #[arg(long, value_name = "N", default_value_t = 8)]
    exchanges: u64,
    /// Also write the counts of what was generated as JSON to this file.
    #[arg(long, value_name = "FILE")]
    summary: Option<PathBuf>,
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            if error.chain().any(|cause| {
                cause
                    .downcast_ref::<io::Error>()
                    .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            eprintln!("shark-bench-gen: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let args = Args::parse();
    let start = chrono::DateTime::parse_from_rfc3339(&args.start).with_context(|| {
        format!(
            "--start `{}` is not an RFC 3339 time like 2026-11-26T00:00:00Z",
            args.start
        )
    })?;
    let start_ns = u64::try_from(start.timestamp())
        .ok()
        .and_then(|s| s.checked_mul(1_000_000_000))
        .context("--start must be after 1970 (classic PCAP timestamps are unsigned)")?;
    let config = Config {
        seed: args.seed,
        size: parse_size(&args.size).context("--size")?,
        flows: args.flows,
        mix: args.mix,
        start_ns,
        duration_ns: parse_duration_ns(&args.duration).context("--duration")?,
        exchanges_per_flow: args.exchanges,
    };
    let out: Box<dyn Write> = if args.output.as_os_str() == "-" {
        Box::new(io::stdout().lock())
    } else {
        Box::new(
            File::create(&args.output)
                .with_context(|| format!("cannot create {}", args.output.display()))?,
        )
    };
    let started = Instant::now();
    let summary = generate(&config, BufWriter::with_capacity(1 << 20, out))?;
    let seconds = started.elapsed().as_secs_f64();
    if let Some(path) = &args.summary {
        let json = serde_json::to_string_pretty(&summary)?;
        std::fs::write(path, json + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    eprintln!(
        "wrote {} packets, {} bytes, {} exchanges, {} TCP connections in {seconds:.2} s ({:.0} MB/s)",
        summary.packets,
        summary.bytes,
        summary.exchanges(),
        summary.tcp_connections,
        summary.bytes as f64 / 1e6 / seconds.max(1e-9),
    );
    Ok(())
}
