//! The map as tables: one row per edge (requests, errors, latency quantiles, bytes), then one per peer.

use comfy_table::{CellAlignment, ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use shark_store::ServiceMap;

use super::units::{bytes, duration_ms};

/// Both tables and a count line, or a sentence saying nothing matched.
pub fn map_table(map: &ServiceMap) -> String {
    if map.edges.is_empty() {
        return "no entries match: the map is empty\n".to_string();
    }
    let mut edges = table(&[
        "SRC",
        "DST",
        "PROTO",
        "REQUESTS",
        "ERRORS",
        "P50",
        "P95",
        "P99",
        "BYTES →",
        "BYTES ←",
    ]);
    for edge in &map.edges {
        edges.add_row([
            edge.src.to_string(),
            edge.dst.to_string(),
            edge.protocol.clone(),
            edge.requests.to_string(),
            edge.errors.to_string(),
            latency(edge.latency_ms(0.5)),
            latency(edge.latency_ms(0.95)),
            latency(edge.latency_ms(0.99)),
            bytes(edge.request_bytes),
            bytes(edge.response_bytes),
        ]);
    }
    right_align(&mut edges, 3..10);
    let peers = map.peers();
    let mut totals = table(&[
        "PEER",
        "KIND",
        "REQ IN",
        "REQ OUT",
        "ERR IN",
        "ERR OUT",
        "BYTES IN",
        "BYTES OUT",
    ]);
    for p in &peers {
        totals.add_row([
            p.peer.to_string(),
            p.peer.kind.clone(),
            p.requests_in.to_string(),
            p.requests_out.to_string(),
            p.errors_in.to_string(),
            p.errors_out.to_string(),
            bytes(p.bytes_in),
            bytes(p.bytes_out),
        ]);
    }
    right_align(&mut totals, 2..8);
    let left_out = left_out(map).map(|note| note + "\n").unwrap_or_default();
    format!(
        "{edges}\n{totals}\n{} edges, {} peers (by {})\n{left_out}",
        map.edges.len(),
        peers.len(),
        map.by
    )
}

/// The sentence saying what a bounded map left out, if it left out anything.
pub fn left_out(map: &ServiceMap) -> Option<String> {
    map.other.as_ref().map(|other| {
        format!(
            "not shown: {} quieter edges with {} requests ({} errors); narrow the filter to see them",
            other.edges, other.requests, other.errors
        )
    })
}

fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header);
    table
}

fn right_align(table: &mut Table, columns: std::ops::Range<usize>) {
    for index in columns {
        if let Some(column) = table.column_mut(index) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
}

/// A latency in milliseconds, or `-` when nothing was answered.
pub fn latency(ms: Option<f64>) -> String {
    ms.map_or_else(|| "-".to_string(), duration_ms)
}
