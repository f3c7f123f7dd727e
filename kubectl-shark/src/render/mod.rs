//! Output rendering: tables for people, NDJSON for programs, DOT and Mermaid for maps.

mod columns;
mod dot;
mod json;
mod map_table;
mod mermaid;
mod outcome;
mod paint;
mod redact;
mod table;
mod text;
mod units;

pub use dot::map_dot;
pub use json::{EntryJson, entry_json_in, show_named};
pub use map_table::{left_out, map_table};
pub use mermaid::map_mermaid;
pub use paint::{colour, red};
pub use redact::{RedactPath, redact};
pub use table::{CLUSTER_COLUMN, COLUMNS, EntryTable, STATUS_COLUMN, entry_cells};
pub use units::bytes;
