//! The `segments` table: one row per PCAP segment file.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

use crate::error::{SqlContext, StoreError};

/// A segment as the index records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SegmentRow {
    /// Sequence number within the node (also in the file name).
    pub seq: i64,
    /// File name inside `segments/` (`.pcap.part` while being written).
    pub file: String,
    /// PCAP link type.
    pub linktype: u32,
    /// Number of its first packet in the node's packet series.
    pub first_packet: u64,
    /// Packets it holds.
    pub packets: u64,
    /// Timestamp of its first packet (ns).
    pub first_ts: i64,
    /// Timestamp of its last packet (ns).
    pub last_ts: i64,
    /// File size in bytes.
    pub bytes: u64,
    /// Whether the file is sealed.
    pub sealed: bool,
}

impl SegmentRow {
    /// One past the number of its last packet.
    pub fn end_packet(&self) -> u64 {
        self.first_packet + self.packets
    }
}

/// Every segment row, by sequence number.
pub(crate) fn load(conn: &Connection, path: &Path) -> Result<Vec<SegmentRow>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT seq, file, linktype, first_packet, packets, first_ts, last_ts, bytes, sealed
             FROM segments ORDER BY seq",
        )
        .at(path)?;
    let rows = stmt
        .query_map([], |r| {
            Ok(SegmentRow {
                seq: r.get(0)?,
                file: r.get(1)?,
                linktype: r.get(2)?,
                first_packet: r.get::<_, i64>(3)? as u64,
                packets: r.get::<_, i64>(4)? as u64,
                first_ts: r.get(5)?,
                last_ts: r.get(6)?,
                bytes: r.get::<_, i64>(7)? as u64,
                sealed: r.get(8)?,
            })
        })
        .at(path)?;
    rows.collect::<Result<Vec<_>, _>>().at(path)
}

/// Inserts or replaces the row of `row.seq`.
pub(crate) fn upsert(conn: &Connection, path: &Path, row: &SegmentRow) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO segments
         (seq, file, linktype, first_packet, packets, first_ts, last_ts, bytes, sealed)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )
    .at(path)?
    .execute(params![
        row.seq,
        row.file,
        row.linktype,
        row.first_packet as i64,
        row.packets as i64,
        row.first_ts,
        row.last_ts,
        row.bytes as i64,
        row.sealed
    ])
    .at(path)?;
    Ok(())
}

/// Deletes segment `seq`, the flow locations in it and the handshakes and state packets that
/// began in it or before.
pub(crate) fn delete(conn: &Connection, path: &Path, seq: i64) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM flows WHERE seq = ?1")
        .at(path)?
        .execute([seq])
        .at(path)?;
    for table in ["handshakes", "state_packets"] {
        conn.prepare_cached(&format!(
            "DELETE FROM {table} WHERE first_packet < (SELECT first_packet + packets FROM segments WHERE seq = ?1)"
        ))
        .at(path)?
        .execute([seq])
        .at(path)?;
    }
    conn.prepare_cached("DELETE FROM segments WHERE seq = ?1")
        .at(path)?
        .execute([seq])
        .at(path)?;
    Ok(())
}

/// Deletes the entries that started before `cutoff_ns`, and the blocks holding only such entries.
///
/// Those blocks are found by their key: none starts after the newest entry going (its entries
/// would all stay), so only the blocks up to it are read, not the whole table, whose rows hold
/// every block's data.
pub(crate) fn delete_entries_before(
    conn: &Connection,
    path: &Path,
    cutoff_ns: i64,
) -> Result<(), StoreError> {
    let last_going: Option<i64> = conn
        .prepare_cached("SELECT max(id) FROM entries WHERE ts < ?1")
        .at(path)?
        .query_row([cutoff_ns], |row| row.get(0))
        .at(path)?;
    let deleted = conn
        .prepare_cached("DELETE FROM entries WHERE ts < ?1")
        .at(path)?
        .execute([cutoff_ns])
        .at(path)?;
    add_entries(conn, path, -(deleted as i64))?;
    conn.prepare_cached("DELETE FROM failures WHERE ts < ?1")
        .at(path)?
        .execute([cutoff_ns])
        .at(path)?;
    if let Some(last_going) = last_going {
        conn.prepare_cached("DELETE FROM blocks WHERE first_id <= ?2 AND max_ts < ?1")
            .at(path)?
            .execute([cutoff_ns, last_going])
            .at(path)?;
    }
    Ok(())
}

/// Adds `n` (negative to subtract) to the count of entries kept, so status never counts rows.
pub(crate) fn add_entries(conn: &Connection, path: &Path, n: i64) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO counters (name, value) VALUES ('entries', ?1)
         ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
    )
    .at(path)?
    .execute([n])
    .at(path)?;
    Ok(())
}

/// Entries kept, as counted by [`add_entries`].
pub(crate) fn entry_count(conn: &Connection, path: &Path) -> Result<u64, StoreError> {
    let n: Option<i64> = conn
        .query_row(
            "SELECT value FROM counters WHERE name = 'entries'",
            [],
            |r| r.get(0),
        )
        .optional()
        .at(path)?;
    Ok(n.unwrap_or(0).max(0) as u64)
}
