//! Output rendering: tables for people, NDJSON for programs.

mod columns;
mod json;
mod table;

pub use json::entry_json;
pub use table::EntryTable;
