//! The query table: TIME, SRC, DST, PROTO, METHOD, PATH, STATUS, ELAPSED.

use comfy_table::{Cell, Color, ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use shark_store::Entry;

use super::columns::{Summary, endpoint};
use super::paint::colour;
use super::units::duration_ms;
use crate::timefmt::format_timestamp;

/// The columns of an entry row.
pub const COLUMNS: [&str; 8] = [
    "TIME", "SRC", "DST", "PROTO", "METHOD", "PATH", "STATUS", "ELAPSED",
];

/// Where STATUS is in [`COLUMNS`]: the cell coloured red when the exchange failed.
pub const STATUS_COLUMN: usize = 6;

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
        duration_ms(entry.elapsed_time),
    ]
}

/// The column put first when entries come from several clusters.
pub const CLUSTER_COLUMN: &str = "CLUSTER";

/// A table of entries, filled row by row and printed at the end.
pub struct EntryTable {
    table: Table,
    rows: usize,
    clusters: bool,
}

impl EntryTable {
    /// An empty table with the column headers (a [`CLUSTER_COLUMN`] first when `clusters`),
    /// coloured when stdout takes [`colour`].
    pub fn new(clusters: bool) -> Self {
        let mut table = Table::new();
        let header = clusters
            .then_some(CLUSTER_COLUMN)
            .into_iter()
            .chain(COLUMNS);
        table
            .load_preset(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Disabled)
            .set_header(header);
        if colour() {
            table.enforce_styling();
        } else {
            table.force_no_tty();
        }
        EntryTable {
            table,
            rows: 0,
            clusters,
        }
    }

    /// Adds one entry of `cluster` as a row, its STATUS in red when it failed ([`Entry::failed`]).
    pub fn push(&mut self, cluster: &str, entry: &Entry) {
        let failed = entry.failed();
        let cluster = self.clusters.then(|| Cell::new(cluster));
        self.table.add_row(
            cluster
                .into_iter()
                .chain(
                    entry_cells(entry)
                        .into_iter()
                        .enumerate()
                        .map(|(index, text)| {
                            let cell = Cell::new(text);
                            if failed && index == STATUS_COLUMN {
                                cell.fg(Color::Red)
                            } else {
                                cell
                            }
                        }),
                ),
        );
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
