//! `kubectl-shark`: capture, index and query Kubernetes traffic, and answer any past window with KFL.
//!
//! Installed on `PATH` (or with krew) it runs as `kubectl shark …`. Every error is one line on
//! stderr and exit status 2; an answer printed without some cluster asked (it could not be
//! reached) ends with status 3; a closed pipe (`| head`) ends quietly with status 0.

use std::process::ExitCode;

use clap::Parser;

mod cli;
mod cluster;
mod commands;
mod render;
mod timefmt;
mod ui;

/// mimalloc rather than the system allocator: import, reading bodies back, decoding the index and
/// printing JSON make and drop millions of small strings and maps, and glibc's malloc and free
/// (with its consolidation of freed chunks) were a sixth to a quarter of that CPU. Built without
/// transparent huge pages (`no_thp`): with them an import's RSS reached 81 MiB, without 31–38.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    init_logging();
    match commands::run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) if err.downcast_ref::<cluster::failures::Partial>().is_some() => {
            eprintln!("{err}");
            ExitCode::from(3)
        }
        Err(err) => {
            let message = shark_store::error_line(err.as_ref());
            if message.starts_with("error[") {
                // A rendered KFL diagnostic: its own code, source line and caret.
                eprintln!("{message}");
            } else {
                eprintln!("error: {}", message.replace('\n', " "));
            }
            ExitCode::from(2)
        }
    }
}

/// Whether the error is stdout closing under us (`kubectl shark query | head`).
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain()
        .filter_map(|cause| cause.downcast_ref::<std::io::Error>())
        .any(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}

/// Warnings (a damaged segment skipped, a node's watch retried) go to stderr; `SHARK_LOG=debug` shows more.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SHARK_LOG")
        // kube's client logs each failed request itself; the commands already say which node
        // failed and why, in one line.
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,kube_client=off"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .without_time()
        .with_target(false)
        .init();
}
