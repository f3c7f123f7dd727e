//! One module per subcommand (what they share is in `shared`); this one dispatches.

mod capture;
mod clean;
mod export;
mod fields;
mod follow;
mod import;
mod map;
mod query;
mod reindex;
mod replay;
mod shared;
mod status;
mod ui;

use anyhow::Result;

use crate::cli::Command;

/// Runs one subcommand.
pub fn run(command: Command) -> Result<()> {
    match command {
        Command::Capture(args) => capture::run(&args),
        Command::Import(args) => import::run(&args),
        Command::Query(args) => query::run(&args),
        Command::Export(args) => export::run(&args),
        Command::Status(args) => status::run(&args),
        Command::Clean(args) => clean::run(&args),
        Command::Reindex(args) => reindex::run(&args),
        Command::Map(args) => map::run(&args),
        Command::Replay(args) => replay::run(&args),
        Command::Fields => fields::run(),
        Command::Ui(args) => ui::run(&args),
    }
}
