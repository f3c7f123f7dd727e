//! Reading a capture file on a thread of its own, ahead of the pipeline: the file's bytes are
//! copied out of the kernel and framed into packets on another core while the pipeline thread
//! dissects (an import's pipeline thread is its bound; reading was ~15 % of its work).
//!
//! The reader fills batches (packet bytes back to back in one buffer, at most [`BATCH_BYTES`] of
//! them, or [`BATCH_PACKETS`] packets) and hands them over through a channel of at most
//! [`IN_FLIGHT`] batches: a slow pipeline makes the reader wait, never the queue grow. Emptied
//! batches come back to be filled again. The packets come out exactly as [`FileSource`] reads
//! them, in order; an error ends them, after every packet before it.

use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::thread::JoinHandle;

use crate::packet::PacketRun;
use crate::source::{FileSource, SourceError};
use crate::{OwnedPacket, Packet};

/// Packet bytes a batch holds before it is handed over (one packet may take it past).
const BATCH_BYTES: usize = 256 << 10;
/// Packets a batch holds before it is handed over.
const BATCH_PACKETS: usize = 1024;
/// Batches read and not yet taken before the reader waits.
const IN_FLIGHT: usize = 4;

/// Packets read, in order, and the error that ended the file if one did.
#[derive(Default)]
struct Batch {
    packets: PacketRun,
    error: Option<SourceError>,
}

impl Batch {
    fn is_full(&self) -> bool {
        self.packets.bytes() >= BATCH_BYTES || self.packets.len() >= BATCH_PACKETS
    }
}

/// A [`FileSource`] read on its own thread; take its packets with [`ReadAhead::next_packet`].
pub struct ReadAhead {
    batches: Option<Receiver<Batch>>,
    give_back: Sender<Batch>,
    current: Batch,
    /// The next packet of `current` to hand out.
    next: usize,
    thread: Option<JoinHandle<()>>,
}

impl ReadAhead {
    /// Moves `source` to a new thread that starts reading at once.
    pub fn start(source: FileSource) -> std::io::Result<Self> {
        let (to_pipeline, batches) = sync_channel(IN_FLIGHT);
        let (give_back, spare) = channel();
        let thread = std::thread::Builder::new()
            .name("shark-read".into())
            .spawn(move || read(source, &to_pipeline, &spare))?;
        Ok(ReadAhead {
            batches: Some(batches),
            give_back,
            current: Batch::default(),
            next: 0,
            thread: Some(thread),
        })
    }

    /// The next packet, `None` after the last; an error once, where the file's reading failed.
    pub fn next_packet(&mut self) -> Result<Option<Packet<'_>>, SourceError> {
        while self.next >= self.current.packets.len() {
            if let Some(error) = self.current.error.take() {
                return Err(error);
            }
            let Some(batch) = self.batches.as_ref().and_then(|b| b.recv().ok()) else {
                return Ok(None);
            };
            let done = std::mem::replace(&mut self.current, batch);
            // The reader may have finished; then the batch is just freed.
            let _ = self.give_back.send(done);
            self.next = 0;
        }
        let i = self.next;
        self.next += 1;
        Ok(self.current.packets.get(i))
    }
}

impl Drop for ReadAhead {
    /// Stops the reader (it sees the channel closed at its next hand-over) and waits for it.
    fn drop(&mut self) {
        self.batches = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The reader thread: fills batches until the file ends, an error stops it, or the pipeline
/// side is gone.
fn read(mut source: FileSource, to_pipeline: &SyncSender<Batch>, spare: &Receiver<Batch>) {
    let mut packet = OwnedPacket::default();
    let mut batch = Batch::default();
    loop {
        let more = match source.next_into(&mut packet) {
            Ok(more) => more,
            Err(error) => {
                batch.error = Some(error);
                false
            }
        };
        if more {
            batch.packets.push(&packet.as_packet());
            if !batch.is_full() {
                continue;
            }
        }
        let mut next = spare.try_recv().unwrap_or_default();
        next.packets.clear();
        if to_pipeline
            .send(std::mem::replace(&mut batch, next))
            .is_err()
            || !more
        {
            return;
        }
    }
}
