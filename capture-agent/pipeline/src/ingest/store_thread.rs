//! The store's half of an ingest on a thread of its own, so two cores share the work: the pipeline
//! thread decodes, reassembles and dissects; this thread appends packets to segments, encodes entries
//! into index blocks and feeds the index's SQLite thread.
//!
//! The pipeline thread numbers packets and flows itself, from where the writer's numbering
//! continues, so it never waits for an answer: what it hands over is a batch of operations (packet
//! bytes back to back in one buffer, entries in order) that the writer thread applies to the
//! [`NodeWriter`] in exactly the order, and with exactly the calls, a writer on the pipeline's own
//! thread would get. Segments and index come out the same; only when they are written differs.
//!
//! The channel holds at most [`IN_FLIGHT`] batches of at most about [`BATCH_BYTES`] of packets (or
//! [`BATCH_OPS`] operations): a slow disk makes the pipeline wait (back-pressure), never the queue
//! grow. Emptied batches come back to be filled again, so steady ingest allocates no buffers. A
//! store error stops the writer thread; the pipeline sees it at its next hand-over, or at
//! [`StoreThread::take_writer`].

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::thread::JoinHandle;

use shark_store::{Entry, NodeWriter, StoreError};

use crate::packet::PacketRun;
use crate::{Packet, Sink};

/// Packet bytes a batch holds before it is handed over.
pub(crate) const BATCH_BYTES: usize = 256 << 10;
/// Operations (packets, entries, spans) a batch holds before it is handed over.
pub(crate) const BATCH_OPS: usize = 1024;
/// Batches handed over and not yet applied before the pipeline waits.
pub(crate) const IN_FLIGHT: usize = 4;

/// One call to make on the writer, in order.
enum Op {
    /// [`NodeWriter::write_packet`] of the batch's next packet, on flow `stream`.
    Packet { stream: Option<u64> },
    /// [`NodeWriter::alloc_stream`], so the writer's count of flows (which it records) stays
    /// the pipeline's.
    AllocStream,
    /// [`NodeWriter::write_handshake`].
    Handshake(u64, u64, u64),
    /// [`NodeWriter::write_state_packets`].
    StatePackets(u64, u64, u64),
    /// [`NodeWriter::write_entry`] of the batch's next entry.
    Entry,
    /// [`NodeWriter::flush`]: commit what came before to the index.
    Flush,
}

/// Operations for the writer thread, with the packet bytes and entries they need.
#[derive(Default)]
struct Batch {
    packets: PacketRun,
    ops: Vec<Op>,
    entries: Vec<Entry>,
}

impl Batch {
    fn is_full(&self) -> bool {
        self.packets.bytes() >= BATCH_BYTES || self.ops.len() >= BATCH_OPS
    }

    /// Makes every call the batch holds on `writer`, in order, and leaves the batch empty.
    /// The entries stay (written) until the pipeline thread reuses the batch, so they are freed on
    /// the thread that allocated them.
    fn apply(&mut self, writer: &mut NodeWriter) -> Result<(), StoreError> {
        let mut entries = self.entries.iter_mut();
        let mut packets = 0;
        for op in self.ops.drain(..) {
            match op {
                Op::Packet { stream } => {
                    if let Some(packet) = self.packets.get(packets) {
                        writer.write_packet(&packet, stream)?;
                    }
                    packets += 1;
                }
                Op::AllocStream => {
                    writer.alloc_stream();
                }
                Op::Handshake(stream, first, last) => {
                    writer.write_handshake(stream, first, last)?
                }
                Op::StatePackets(stream, first, last) => {
                    writer.write_state_packets(stream, first, last)?
                }
                Op::Entry => {
                    if let Some(entry) = entries.next() {
                        writer.write_entry_in_place(entry)?;
                    }
                }
                Op::Flush => writer.flush()?,
            }
        }
        self.packets.clear();
        Ok(())
    }
}

/// The pipeline thread's handle on a [`NodeWriter`] running on its own thread: a [`Sink`] that
/// queues every call and answers packet numbers and flow ids itself.
pub(crate) struct StoreThread {
    batch: Batch,
    next_packet: u64,
    next_stream: u64,
    to_writer: Option<SyncSender<Batch>>,
    spare: Receiver<Batch>,
    thread: Option<JoinHandle<Result<NodeWriter, StoreError>>>,
    /// The node directory, to name in an error when the thread is gone without one.
    dir: PathBuf,
}

impl StoreThread {
    /// Moves `writer` to a new thread.
    pub(crate) fn start(writer: NodeWriter, dir: PathBuf) -> Result<Self, StoreError> {
        let (next_packet, next_stream) = writer.next_numbers();
        let (to_writer, from_pipeline) = sync_channel(IN_FLIGHT);
        let (give_back, spare) = channel();
        let thread = std::thread::Builder::new()
            .name("shark-store".into())
            .spawn(move || run(writer, &from_pipeline, &give_back))
            .map_err(|e| StoreError::Io {
                path: dir.clone(),
                source: e,
            })?;
        Ok(StoreThread {
            batch: Batch::default(),
            next_packet,
            next_stream,
            to_writer: Some(to_writer),
            spare,
            thread: Some(thread),
            dir,
        })
    }

    /// Asks the writer to commit everything handed to it so far (without waiting for it).
    pub(crate) fn flush(&mut self) -> Result<(), StoreError> {
        self.batch.ops.push(Op::Flush);
        self.hand_over()
    }

    /// Hands over what is queued, waits for the writer to apply it and gives the writer back
    /// (this handle is of no use after).
    pub(crate) fn take_writer(&mut self) -> Result<NodeWriter, StoreError> {
        if !self.batch.ops.is_empty() {
            self.hand_over()?;
        }
        self.stop()
    }

    /// Closes the channel and waits for the thread: its writer, or the error that stopped it.
    fn stop(&mut self) -> Result<NodeWriter, StoreError> {
        self.to_writer = None;
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(outcome)) => outcome,
            // A panic on the writer thread (a bug) or a second stop.
            _ => Err(StoreError::WriterGone(self.dir.clone())),
        }
    }

    /// Sends the batch being filled and starts a new one (a spare one if the writer gave one back).
    fn hand_over(&mut self) -> Result<(), StoreError> {
        let mut next = self.spare.try_recv().unwrap_or_default();
        // The last batch's entries are freed here, on the thread that allocated them.
        next.entries.clear();
        let full = std::mem::replace(&mut self.batch, next);
        let sent = self
            .to_writer
            .as_ref()
            .is_some_and(|to_writer| to_writer.send(full).is_ok());
        if sent {
            return Ok(());
        }
        // The writer stopped on an error: that error is the answer.
        Err(self
            .stop()
            .err()
            .unwrap_or_else(|| StoreError::WriterGone(self.dir.clone())))
    }

    fn push(&mut self, op: Op) -> Result<(), StoreError> {
        self.batch.ops.push(op);
        if self.batch.is_full() {
            self.hand_over()?;
        }
        Ok(())
    }
}

/// The writer thread: applies batches until the channel closes, giving each emptied one back.
fn run(
    mut writer: NodeWriter,
    batches: &Receiver<Batch>,
    give_back: &Sender<Batch>,
) -> Result<NodeWriter, StoreError> {
    for mut batch in batches {
        batch.apply(&mut writer)?;
        // The pipeline may have stopped waiting for spares; then the batch is just freed.
        let _ = give_back.send(batch);
    }
    Ok(writer)
}

impl Drop for StoreThread {
    /// Dropped without [`StoreThread::take_writer`] (an error path): what was handed over is applied and
    /// the writer dropped on its thread, as a writer dropped on the pipeline's thread would be.
    fn drop(&mut self) {
        if self.thread.is_some() {
            let _ = self.stop();
        }
    }
}

impl Sink for StoreThread {
    type Error = StoreError;

    fn packet(&mut self, packet: &Packet<'_>, stream: Option<u64>) -> Result<u64, StoreError> {
        let number = self.next_packet;
        self.next_packet += 1;
        self.batch.packets.push(packet);
        self.push(Op::Packet { stream })?;
        Ok(number)
    }

    fn alloc_stream(&mut self) -> u64 {
        let stream = self.next_stream;
        self.next_stream += 1;
        // Handed over with the next operation (this call cannot report a failed hand-over).
        self.batch.ops.push(Op::AllocStream);
        stream
    }

    fn handshake(&mut self, stream: u64, first: u64, last: u64) -> Result<(), StoreError> {
        self.push(Op::Handshake(stream, first, last))
    }

    fn state_packets(&mut self, stream: u64, first: u64, last: u64) -> Result<(), StoreError> {
        self.push(Op::StatePackets(stream, first, last))
    }

    fn entry(&mut self, entry: Entry) -> Result<(), StoreError> {
        self.batch.entries.push(entry);
        self.push(Op::Entry)
    }
}
