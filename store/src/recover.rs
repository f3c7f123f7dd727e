//! Crash recovery when a node's store is opened for writing: a `.pcap.part` left by a killed writer
//! is cut to its last whole record, sealed and indexed; rows whose files are gone are dropped.

use std::collections::HashMap;
use std::path::Path;

use rusqlite::Connection;

use crate::error::{IoContext, StoreError};
use crate::index::segments::{self, SegmentRow};
use crate::layout::{self, NodeLayout, SegmentName};
use crate::segment_file::{self, SegmentData};

/// Brings the segment files and their rows back in step; returns the rows afterwards.
pub(crate) fn recover(
    conn: &Connection,
    layout: &NodeLayout,
) -> Result<Vec<SegmentRow>, StoreError> {
    let index = layout.index.as_path();
    let mut rows: HashMap<i64, SegmentRow> = segments::load(conn, index)?
        .into_iter()
        .map(|r| (r.seq, r))
        .collect();
    let files = layout::list_segments(&layout.segments).at(&layout.segments)?;
    let mut next_packet = 1u64;
    for (name, path) in &files {
        if let Some(row) = rows.get(&name.seq).filter(|r| r.sealed && name.sealed) {
            next_packet = next_packet.max(row.end_packet());
            continue;
        }
        let first_packet = rows.get(&name.seq).map_or(next_packet, |r| r.first_packet);
        match seal_file(layout, *name, path, first_packet)? {
            Some(row) => {
                next_packet = next_packet.max(row.end_packet());
                segments::upsert(conn, index, &row)?;
                rows.insert(row.seq, row);
            }
            None => {
                if rows.remove(&name.seq).is_some() {
                    segments::delete(conn, index, name.seq)?;
                }
            }
        }
    }
    let on_disk: Vec<i64> = files.iter().map(|(n, _)| n.seq).collect();
    let missing: Vec<i64> = rows
        .keys()
        .copied()
        .filter(|seq| !on_disk.contains(seq))
        .collect();
    for seq in missing {
        if let Some(row) = rows.remove(&seq) {
            tracing::warn!(
                "segment {} is missing; forgetting it",
                layout.segments.join(&row.file).display()
            );
            segments::delete(conn, index, seq)?;
        }
    }
    let mut rows: Vec<SegmentRow> = rows.into_values().collect();
    rows.sort_by_key(|r| r.seq);
    Ok(rows)
}

/// Cuts the segment at `path` to its whole records, renames a `.part` to sealed and describes it.
/// Returns `None` (after removing it) for a `.part` that holds no whole packet; a sealed file that
/// cannot be read is left alone with a warning.
pub(crate) fn seal_file(
    layout: &NodeLayout,
    name: SegmentName,
    path: &Path,
    first_packet: u64,
) -> Result<Option<SegmentRow>, StoreError> {
    let data = match SegmentData::read(path) {
        Ok(data) => data,
        Err(e) if name.sealed => {
            tracing::warn!(
                "segment {} cannot be read, skipping it: {e}",
                path.display()
            );
            return Ok(None);
        }
        Err(_) => {
            std::fs::remove_file(path).at(path)?;
            return Ok(None);
        }
    };
    let mut records = data.records();
    let (mut packets, mut first_ts, mut last_ts) = (0u64, name.start_ns, name.start_ns);
    for record in records.by_ref() {
        if packets == 0 {
            first_ts = record.ts_ns;
        }
        packets += 1;
        last_ts = record.ts_ns;
    }
    let whole = records.whole_len();
    let (linktype, file_len) = (data.linktype(), data.file_len());
    drop(data);
    if packets == 0 && !name.sealed {
        std::fs::remove_file(path).at(path)?;
        return Ok(None);
    }
    if whole < file_len {
        tracing::warn!(
            "segment {} ends in a partial record; cutting it to {whole} bytes",
            path.display()
        );
        segment_file::truncate(path, whole)?;
    }
    let sealed_path = layout.segment_path(name.start_ns, name.seq, true);
    if !name.sealed {
        std::fs::rename(path, &sealed_path).at(&sealed_path)?;
    }
    let file = sealed_path
        .file_name()
        .and_then(|f| f.to_str())
        .unwrap_or_default()
        .to_owned();
    Ok(Some(SegmentRow {
        seq: name.seq,
        file,
        linktype,
        first_packet,
        packets,
        first_ts,
        last_ts,
        bytes: whole,
        sealed: true,
    }))
}
