//! The index schema, versioned with SQLite's `user_version` and upgraded in place. Some versions
//! change no table, only what new blocks hold (see `codec` for the block formats): an older build
//! then refuses the store as too new rather than reading those blocks as damaged.

use std::path::Path;

use rusqlite::Connection;

use crate::error::{SqlContext, StoreError};

/// Each step upgrades the schema by one version; step `i` produces version `i + 1`.
const MIGRATIONS: &[&str] = &[
    // Version 1.
    "CREATE TABLE names (id INTEGER PRIMARY KEY, s TEXT NOT NULL UNIQUE);
     CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
     CREATE TABLE segments (
        seq INTEGER PRIMARY KEY, file TEXT NOT NULL, linktype INTEGER NOT NULL,
        first_packet INTEGER NOT NULL, packets INTEGER NOT NULL,
        first_ts INTEGER NOT NULL, last_ts INTEGER NOT NULL, bytes INTEGER NOT NULL, sealed INTEGER NOT NULL);
     CREATE TABLE entries (
        ts INTEGER NOT NULL, id INTEGER NOT NULL, node INTEGER NOT NULL,
        src_ip INTEGER NOT NULL, src_port INTEGER NOT NULL, src_name INTEGER NOT NULL, src_ns INTEGER NOT NULL,
        src_pod INTEGER NOT NULL, src_svc INTEGER NOT NULL,
        dst_ip INTEGER NOT NULL, dst_port INTEGER NOT NULL, dst_name INTEGER NOT NULL, dst_ns INTEGER NOT NULL,
        dst_pod INTEGER NOT NULL, dst_svc INTEGER NOT NULL,
        proto INTEGER NOT NULL, proto_ver INTEGER NOT NULL, method INTEGER, status INTEGER,
        block INTEGER NOT NULL,
        PRIMARY KEY (ts, id)) WITHOUT ROWID;
     CREATE TABLE blocks (id INTEGER PRIMARY KEY, first_id INTEGER NOT NULL, max_ts INTEGER NOT NULL,
        data BLOB NOT NULL);
     CREATE TABLE flows (stream INTEGER NOT NULL, seq INTEGER NOT NULL,
        first_packet INTEGER NOT NULL, last_packet INTEGER NOT NULL, locations BLOB NOT NULL);
     CREATE INDEX flows_by_stream ON flows (stream, first_packet);
     CREATE INDEX flows_by_segment ON flows (seq);",
    // Version 2: node and endpoint identities stored once, referenced by id from stored entries.
    "CREATE TABLE parts (id INTEGER PRIMARY KEY, json TEXT NOT NULL);",
    // Version 3: new blocks hold their entries in a binary encoding (see `codec`), which older
    // builds cannot read; blocks written before stay JSON and are still read. No table changes.
    "-- blocks in format 2",
    // Version 4: the packets of each flow's TCP handshake (SYN to the last packet before data), so
    // an export of some of its exchanges can include them.
    "CREATE TABLE handshakes (stream INTEGER PRIMARY KEY, first_packet INTEGER NOT NULL,
        last_packet INTEGER NOT NULL);",
    // Version 5: when each identity and name was last used (at least the newest timestamp of the
    // blocks or entries referring to it), so retention frees those nothing kept refers to. Rows
    // made before count as used by the newest data then: they go once all of it has aged out.
    "ALTER TABLE parts ADD COLUMN last_ts INTEGER NOT NULL DEFAULT 0;
     UPDATE parts SET last_ts = (SELECT coalesce(max(max_ts), 0) FROM blocks);
     CREATE INDEX parts_by_last_ts ON parts (last_ts);
     ALTER TABLE names ADD COLUMN last_ts INTEGER NOT NULL DEFAULT 0;
     UPDATE names SET last_ts = (SELECT coalesce(max(ts), 0) FROM entries);
     CREATE INDEX names_by_last_ts ON names (last_ts);",
    // Version 6: packets of a flow that carry state later exchanges need to be decoded (HTTP/2's
    // preface, SETTINGS and header blocks, which HPACK reads), so an export of one exchange
    // includes those before it.
    "CREATE TABLE state_packets (stream INTEGER NOT NULL, first_packet INTEGER NOT NULL,
        last_packet INTEGER NOT NULL);
     CREATE INDEX state_packets_by_stream ON state_packets (stream, first_packet);",
    // Version 7: who talks to whom (node, both endpoints' identities, the server's port and the
    // protocol) interned in `peers`, one row per distinct combination, and each entry holding its
    // id: an `entries` row shrinks from 20 columns to 7 (62 to about 30 bytes on real traffic).
    // Existing rows are carried over; each peer counts as used by its newest entry.
    "CREATE TABLE peers (id INTEGER PRIMARY KEY, node INTEGER NOT NULL,
        src_ip INTEGER NOT NULL, src_name INTEGER NOT NULL, src_ns INTEGER NOT NULL,
        src_pod INTEGER NOT NULL, src_svc INTEGER NOT NULL,
        dst_ip INTEGER NOT NULL, dst_port INTEGER NOT NULL, dst_name INTEGER NOT NULL,
        dst_ns INTEGER NOT NULL, dst_pod INTEGER NOT NULL, dst_svc INTEGER NOT NULL,
        proto INTEGER NOT NULL, proto_ver INTEGER NOT NULL, last_ts INTEGER NOT NULL);
     CREATE UNIQUE INDEX peers_by_value ON peers (node, src_ip, src_name, src_ns, src_pod, src_svc,
        dst_ip, dst_port, dst_name, dst_ns, dst_pod, dst_svc, proto, proto_ver);
     CREATE INDEX peers_by_last_ts ON peers (last_ts);
     INSERT INTO peers (node, src_ip, src_name, src_ns, src_pod, src_svc, dst_ip, dst_port, dst_name,
        dst_ns, dst_pod, dst_svc, proto, proto_ver, last_ts)
        SELECT node, src_ip, src_name, src_ns, src_pod, src_svc, dst_ip, dst_port, dst_name, dst_ns,
            dst_pod, dst_svc, proto, proto_ver, max(ts) + 1000000000
        FROM entries GROUP BY node, src_ip, src_name, src_ns, src_pod, src_svc, dst_ip, dst_port,
            dst_name, dst_ns, dst_pod, dst_svc, proto, proto_ver;
     CREATE TABLE entries_v7 (ts INTEGER NOT NULL, id INTEGER NOT NULL, peer INTEGER NOT NULL,
        src_port INTEGER NOT NULL, method INTEGER, status INTEGER, block INTEGER NOT NULL,
        PRIMARY KEY (ts, id)) WITHOUT ROWID;
     INSERT INTO entries_v7 (ts, id, peer, src_port, method, status, block)
        SELECT e.ts, e.id, p.id, e.src_port, e.method, e.status, e.block
        FROM entries e JOIN peers p ON p.node = e.node AND p.src_ip = e.src_ip
            AND p.src_name = e.src_name AND p.src_ns = e.src_ns AND p.src_pod = e.src_pod
            AND p.src_svc = e.src_svc AND p.dst_ip = e.dst_ip AND p.dst_port = e.dst_port
            AND p.dst_name = e.dst_name AND p.dst_ns = e.dst_ns AND p.dst_pod = e.dst_pod
            AND p.dst_svc = e.dst_svc AND p.proto = e.proto AND p.proto_ver = e.proto_ver;
     DROP TABLE entries;
     ALTER TABLE entries_v7 RENAME TO entries;",
    // Version 8: the key of every entry that failed (`Entry::failed`, decided when it is written),
    // so a histogram counts errors in SQL. Entries written before are not in it: `failures_from`
    // is the first id it covers, and a histogram over older ones decodes them.
    "CREATE TABLE failures (ts INTEGER NOT NULL, id INTEGER NOT NULL, PRIMARY KEY (ts, id)) WITHOUT ROWID;
     INSERT INTO counters (name, value) SELECT 'failures_from', coalesce(max(id) + 1, 0) FROM entries;",
    // Version 9: new blocks are compressed with deflate (format 4, see `codec`), which older builds
    // cannot read; blocks written before stay LZ4 and are still read. No table changes.
    "-- blocks in format 4",
    // Version 10: an entry's block is found by its id, since the ids in a block are consecutive:
    // `blocks` is keyed by its first entry's id and `entries` loses its `block` column (3.5 bytes
    // a row). New blocks store their entries column by column (format 5, see `block_columns`),
    // and new flow locations are deflated (see `locations`), which older builds cannot read. Existing blocks and rows are carried over as they are (blocks
    // in `rowid` order: their old `id`, or their first id in a table already keyed by it).
    "CREATE TABLE blocks_v10 (first_id INTEGER PRIMARY KEY, max_ts INTEGER NOT NULL,
        data BLOB NOT NULL);
     INSERT OR REPLACE INTO blocks_v10 (first_id, max_ts, data)
        SELECT first_id, max_ts, data FROM blocks ORDER BY rowid;
     DROP TABLE blocks;
     ALTER TABLE blocks_v10 RENAME TO blocks;
     CREATE TABLE entries_v10 (ts INTEGER NOT NULL, id INTEGER NOT NULL, peer INTEGER NOT NULL,
        src_port INTEGER NOT NULL, method INTEGER, status INTEGER,
        PRIMARY KEY (ts, id)) WITHOUT ROWID;
     INSERT INTO entries_v10 (ts, id, peer, src_port, method, status)
        SELECT ts, id, peer, src_port, method, status FROM entries ORDER BY ts, id;
     DROP TABLE entries;
     ALTER TABLE entries_v10 RENAME TO entries;",
    // Version 11: new blocks are format 5's columns compressed with zstd instead of deflate
    // (format 6, see `block_columns`), which older builds would take for damaged blocks; the
    // version makes them refuse the store as too new instead. Blocks written before stay deflated
    // and are still read. No table changes.
    "-- blocks in format 6",
];

/// The schema version this build writes.
pub(crate) const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the index at `path` up to [`SCHEMA_VERSION`], refusing one written by a newer build.
pub(crate) fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let found = schema_version(conn, path)?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            path: path.to_path_buf(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    if found == SCHEMA_VERSION {
        return Ok(());
    }
    let tx = conn.transaction().at(path)?;
    for step in MIGRATIONS.iter().skip(usize::try_from(found).unwrap_or(0)) {
        tx.execute_batch(step).at(path)?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)
        .at(path)?;
    tx.commit().at(path)
}

/// The schema version of the index at `path`.
pub(crate) fn schema_version(conn: &Connection, path: &Path) -> Result<i64, StoreError> {
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
        .at(path)
}
