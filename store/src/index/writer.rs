//! The one thread that writes a node's index: it takes operations from a bounded channel and applies
//! them in large transactions, so callers never wait on SQLite or fsync.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::{Connection, params};

use super::batch::{EntryBatch, EntryRow};
use super::block_columns;
use super::columns::{Cell, INDEXED_COLUMNS, PEER_COLUMNS, Place};
use super::last_use::LastUse;
use super::locations;
use super::segments::{self, SegmentRow};
use crate::error::{SqlContext, StoreError};
use crate::retention::{self, Retention};
use crate::segment_file::SealJob;

/// Operations queued before the caller has to wait for the writer. A block of entries (128
/// entries' columns and index rows, not yet compressed) is the largest, so this bounds the queue
/// to 128 blocks: the pipeline can outrun this thread, and the queue must push back rather than
/// grow.
const QUEUE: usize = 128;
/// Most operations in one transaction.
const BATCH: usize = 50_000;
/// Longest a committed-soon operation waits in an open transaction.
const BATCH_AGE: Duration = Duration::from_millis(500);

/// Inserts one `entries` row: its id and peer, then each indexed column kept in `entries`,
/// in [`INDEXED_COLUMNS`] order.
static INSERT_ENTRY: LazyLock<String> = LazyLock::new(|| {
    let columns: Vec<&str> = INDEXED_COLUMNS
        .iter()
        .filter(|c| c.place == Place::Entry)
        .map(|c| c.sql)
        .collect();
    let placeholders: Vec<String> = (1..=columns.len() + 2).map(|i| format!("?{i}")).collect();
    format!(
        "INSERT OR REPLACE INTO entries (id, peer, {}) VALUES ({})",
        columns.join(", "),
        placeholders.join(", ")
    )
});

/// Where one flow's packets lie in one segment.
#[derive(Debug, Clone)]
pub(crate) struct FlowChunk {
    /// The flow id.
    pub stream: u64,
    /// The segment's sequence number.
    pub seq: i64,
    /// (packet number, byte offset) pairs, ascending.
    pub pairs: Vec<(u64, u64)>,
}

/// One thing for the writer thread to do.
pub(crate) enum Op {
    /// Insert a block of entries.
    Entries(Box<EntryBatch>),
    /// Insert or update a segment row.
    Segment(SegmentRow),
    /// Sync and rename a closed segment, then record it as sealed.
    Seal(SealJob, SegmentRow),
    /// Record flow locations.
    Flows(Vec<FlowChunk>),
    /// Record a flow's handshake: its stream and first and last packet numbers.
    Handshake(u64, u64, u64),
    /// Record packets of a flow that carry state its later exchanges need: stream, first, last.
    StatePackets(u64, u64, u64),
    /// Remember the next flow id.
    NextStream(u64),
    /// Apply retention (a failure is logged: it must not stop capture).
    Retain(Retention),
    /// Commit now and reply.
    Flush(SyncSender<()>),
}

/// Handle to a running writer thread.
pub(crate) struct IndexWriter {
    path: PathBuf,
    tx: Option<SyncSender<Op>>,
    thread: Option<JoinHandle<Result<(), StoreError>>>,
}

impl IndexWriter {
    /// Starts the writer thread over `conn`, the index at `path`.
    pub fn start(conn: Connection, path: &Path) -> Result<Self, StoreError> {
        let (tx, rx) = sync_channel(QUEUE);
        let thread_path = path.to_path_buf();
        let thread = std::thread::Builder::new()
            .name("shark-index".into())
            .spawn(move || {
                Worker {
                    conn,
                    path: thread_path,
                    last_use: LastUse::new(),
                    next_entry: None,
                    added: 0,
                }
                .run(rx)
            })
            .map_err(|e| StoreError::io(path, e))?;
        Ok(IndexWriter {
            path: path.to_path_buf(),
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    /// Queues `op`; if the thread has stopped, returns its error.
    pub fn send(&mut self, op: Op) -> Result<(), StoreError> {
        let sent = self
            .tx
            .as_ref()
            .map(|tx| tx.send(op).is_ok())
            .unwrap_or(false);
        if sent {
            Ok(())
        } else {
            Err(self
                .stop()
                .err()
                .unwrap_or_else(|| StoreError::WriterGone(self.path.clone())))
        }
    }

    /// Commits everything queued so far and waits for it.
    pub fn flush(&mut self) -> Result<(), StoreError> {
        let (reply, done) = sync_channel(1);
        self.send(Op::Flush(reply))?;
        match done.recv() {
            Ok(()) => Ok(()),
            Err(_) => Err(self
                .stop()
                .err()
                .unwrap_or_else(|| StoreError::WriterGone(self.path.clone()))),
        }
    }

    /// Commits what is queued, stops the thread and returns its outcome.
    pub fn stop(&mut self) -> Result<(), StoreError> {
        self.tx = None;
        match self.thread.take() {
            Some(thread) => thread
                .join()
                .unwrap_or_else(|_| Err(StoreError::WriterGone(self.path.clone()))),
            None => Ok(()),
        }
    }
}

impl Drop for IndexWriter {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            tracing::warn!("{e}");
        }
    }
}

struct Worker {
    conn: Connection,
    path: PathBuf,
    /// Names and identities lately used, and when.
    last_use: LastUse,
    /// One past the newest entry id written since the last commit.
    next_entry: Option<i64>,
    /// Entries inserted since the last commit.
    added: i64,
}

impl Worker {
    fn run(mut self, rx: Receiver<Op>) -> Result<(), StoreError> {
        while let Ok(first) = rx.recv() {
            self.conn.execute_batch("BEGIN").at(&self.path)?;
            let started = Instant::now();
            let mut replies = Vec::new();
            let mut next = Some(first);
            let mut applied = 0;
            while let Some(op) = next.take() {
                match op {
                    Op::Flush(reply) => {
                        replies.push(reply);
                        break;
                    }
                    Op::Retain(retention) => {
                        // Retention deletes files, so what precedes it is committed first.
                        self.commit()?;
                        if let Err(e) = retention::apply(&self.conn, &self.path, &retention) {
                            tracing::warn!("retention on {}: {e}", self.path.display());
                        }
                        // It may have freed names and identities this thread remembers.
                        self.last_use.forget();
                        self.conn.execute_batch("BEGIN").at(&self.path)?;
                    }
                    op => self.apply(op)?,
                }
                applied += 1;
                if applied >= BATCH {
                    break;
                }
                let left = BATCH_AGE.saturating_sub(started.elapsed());
                next = rx.recv_timeout(left).ok();
            }
            self.commit()?;
            for reply in replies {
                let _ = reply.send(());
            }
        }
        self.conn
            .pragma_update(None, "wal_checkpoint", "TRUNCATE")
            .at(&self.path)?;
        Ok(())
    }

    /// Records the next entry id, then commits.
    fn commit(&mut self) -> Result<(), StoreError> {
        if self.added > 0 {
            segments::add_entries(&self.conn, &self.path, self.added)?;
            self.added = 0;
        }
        if let Some(next_entry) = self.next_entry.take() {
            self.conn
                .prepare_cached(
                    "INSERT OR REPLACE INTO counters (name, value) VALUES ('next_entry', ?1)",
                )
                .at(&self.path)?
                .execute([next_entry])
                .at(&self.path)?;
        }
        self.conn.execute_batch("COMMIT").at(&self.path)
    }

    fn apply(&mut self, op: Op) -> Result<(), StoreError> {
        match op {
            Op::Entries(batch) => self.insert_batch(&batch),
            Op::Segment(row) => segments::upsert(&self.conn, &self.path, &row),
            Op::Seal(job, row) => {
                job.run()?;
                segments::upsert(&self.conn, &self.path, &row)
            }
            Op::Flows(chunks) => self.insert_flows(&chunks),
            Op::Handshake(stream, first, last) => {
                self.conn
                    .prepare_cached(
                        "INSERT OR REPLACE INTO handshakes (stream, first_packet, last_packet) VALUES (?1, ?2, ?3)",
                    )
                    .at(&self.path)?
                    .execute(params![stream as i64, first as i64, last as i64])
                    .at(&self.path)?;
                Ok(())
            }
            Op::StatePackets(stream, first, last) => {
                self.conn
                    .prepare_cached(
                        "INSERT INTO state_packets (stream, first_packet, last_packet) VALUES (?1, ?2, ?3)",
                    )
                    .at(&self.path)?
                    .execute(params![stream as i64, first as i64, last as i64])
                    .at(&self.path)?;
                Ok(())
            }
            Op::NextStream(next) => {
                self.conn
                    .prepare_cached(
                        "INSERT OR REPLACE INTO counters (name, value) VALUES ('next_stream', ?1)",
                    )
                    .at(&self.path)?
                    .execute([next as i64])
                    .at(&self.path)?;
                Ok(())
            }
            Op::Retain(_) | Op::Flush(_) => Ok(()),
        }
    }

    fn insert_batch(&mut self, batch: &EntryBatch) -> Result<(), StoreError> {
        self.last_use
            .parts(&self.conn, &self.path, &batch.parts, batch.max_ts)?;
        for row in &batch.rows {
            self.insert_row(row)?;
        }
        let data = block_columns::compress(&batch.raw).map_err(|source| StoreError::Io {
            path: self.path.clone(),
            source,
        })?;
        self.conn
            .prepare_cached(
                "INSERT OR REPLACE INTO blocks (first_id, max_ts, data) VALUES (?1, ?2, ?3)",
            )
            .at(&self.path)?
            .execute(params![batch.first_id, batch.max_ts, data])
            .at(&self.path)?;
        let last = batch.rows.iter().map(|r| r.id + 1).max();
        self.next_entry = self.next_entry.max(last);
        self.added += batch.rows.len() as i64;
        Ok(())
    }

    fn insert_row(&mut self, row: &EntryRow) -> Result<(), StoreError> {
        let mut values = [None; INDEXED_COLUMNS.len() - PEER_COLUMNS];
        let mut peer = [0; PEER_COLUMNS];
        let (mut value_slots, mut peer_slots) = (values.iter_mut(), peer.iter_mut());
        let (conn, path) = (&self.conn, self.path.as_path());
        for (column, cell) in INDEXED_COLUMNS.iter().zip(row.cells()) {
            let value = match cell {
                Cell::Int(n) => Some(n),
                Cell::Text(text) => Some(self.last_use.name(conn, path, text, row.ts)?),
                Cell::Null => None,
            };
            match column.place {
                Place::Entry => value_slots.next().map(|slot| *slot = value),
                // Peer columns are never NULL (their cells never are).
                Place::Peer => peer_slots.next().map(|slot| *slot = value.unwrap_or(0)),
            };
        }
        let peer = self.last_use.peer(conn, path, &peer, row.ts)?;
        let key = [Some(row.id), Some(peer)];
        self.conn
            .prepare_cached(&INSERT_ENTRY)
            .at(&self.path)?
            .execute(rusqlite::params_from_iter(key.into_iter().chain(values)))
            .at(&self.path)?;
        if row.failed {
            self.conn
                .prepare_cached("INSERT OR IGNORE INTO failures (ts, id) VALUES (?1, ?2)")
                .at(&self.path)?
                .execute([row.ts, row.id])
                .at(&self.path)?;
        }
        Ok(())
    }

    fn insert_flows(&mut self, chunks: &[FlowChunk]) -> Result<(), StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "INSERT INTO flows (stream, seq, first_packet, last_packet, locations) VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .at(&self.path)?;
        for chunk in chunks {
            let (Some(first), Some(last)) = (chunk.pairs.first(), chunk.pairs.last()) else {
                continue;
            };
            stmt.execute(params![
                chunk.stream as i64,
                chunk.seq,
                first.0 as i64,
                last.0 as i64,
                locations::encode(&chunk.pairs)
            ])
            .at(&self.path)?;
        }
        Ok(())
    }
}
