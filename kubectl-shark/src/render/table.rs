//! The query table: TIME, SRC, DST, PROTO, METHOD, PATH, STATUS, ELAPSED.

use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use shark_store::Entry;

use super::columns::{Summary, endpoint};
use crate::timefmt::format_timestamp;

/// The columns of an entry row.
pub const COLUMNS: [&str; 8] = [
    "TIME", "SRC", "DST", "PROTO", "METHOD", "PATH", "STATUS", "ELAPSED",
];

/// One entry as the cells of a row under [`COLUMNS`].
pub fn entry_cells(entry: &Entry) -> [String; 8] {
    let summary = Summary::of(entry);
    let proto = if entry.protocol.version.is_empty() {
        entry.protocol.name.clone()
    } else {
        format!("{}/{}", entry.protocol.name, entry.protocol.version)
    };
    [
        format_timestamp(entry.timestamp),
        endpoint(&entry.src),
        endpoint(&entry.dst),
        proto,
        summary.method,
        summary.path,
        summary.status,
        format!("{:.1}ms", entry.elapsed_time),
    ]
}

/// A table of entries, filled row by row and printed at the end.
pub struct EntryTable {
    table: Table,
    rows: usize,
}

impl EntryTable {
    /// An empty table with the column headers.
    pub fn new() -> Self {
        let mut table = Table::new();
        table
            .load_preset(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Disabled)
            .set_header(COLUMNS);
        EntryTable { table, rows: 0 }
    }

    /// Adds one entry as a row.
    pub fn push(&mut self, entry: &Entry) {
        self.table.add_row(entry_cells(entry));
        self.rows += 1;
    }

    /// How many rows the table has.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// The rendered table.
    pub fn render(&self) -> String {
        self.table.to_string()
    }
}
