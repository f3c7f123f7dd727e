//! Where an ingest's store writer runs: on the pipeline's thread (the default) or on a thread of
//! its own.

use std::path::PathBuf;

use shark_store::{Entry, NodeWriter, StoreError};

use super::store_thread::StoreThread;
use crate::{Packet, Sink};

/// The store end of an ingest, as the pipeline's sink.
pub(crate) enum StoreSide {
    /// The writer is called on the pipeline's thread (boxed: it is much larger than the handle).
    Here(Box<NodeWriter>),
    /// The writer runs on its own thread.
    Thread(StoreThread),
}

impl StoreSide {
    /// Commits what was written so far to the index (on a writer thread: asks it to, without waiting).
    pub(crate) fn flush(&mut self) -> Result<(), StoreError> {
        match self {
            StoreSide::Here(writer) => writer.flush(),
            StoreSide::Thread(thread) => thread.flush(),
        }
    }

    /// The writer moved to a thread of its own (`dir`, the node directory, names it in errors).
    pub(crate) fn on_own_thread(self, dir: PathBuf) -> Result<Self, StoreError> {
        Ok(match self {
            StoreSide::Here(writer) => StoreSide::Thread(StoreThread::start(*writer, dir)?),
            thread => thread,
        })
    }

    /// The writer, back on the calling thread once everything handed over is applied.
    pub(crate) fn into_writer(self) -> Result<NodeWriter, StoreError> {
        match self {
            StoreSide::Here(writer) => Ok(*writer),
            StoreSide::Thread(mut thread) => thread.take_writer(),
        }
    }
}

impl Sink for StoreSide {
    type Error = StoreError;

    fn packet(&mut self, packet: &Packet<'_>, stream: Option<u64>) -> Result<u64, StoreError> {
        match self {
            StoreSide::Here(writer) => writer.packet(packet, stream),
            StoreSide::Thread(thread) => thread.packet(packet, stream),
        }
    }

    fn alloc_stream(&mut self) -> u64 {
        match self {
            StoreSide::Here(writer) => Sink::alloc_stream(writer.as_mut()),
            StoreSide::Thread(thread) => thread.alloc_stream(),
        }
    }

    fn handshake(&mut self, stream: u64, first: u64, last: u64) -> Result<(), StoreError> {
        match self {
            StoreSide::Here(writer) => writer.handshake(stream, first, last),
            StoreSide::Thread(thread) => thread.handshake(stream, first, last),
        }
    }

    fn state_packets(&mut self, stream: u64, first: u64, last: u64) -> Result<(), StoreError> {
        match self {
            StoreSide::Here(writer) => writer.state_packets(stream, first, last),
            StoreSide::Thread(thread) => thread.state_packets(stream, first, last),
        }
    }

    fn entry(&mut self, entry: Entry) -> Result<(), StoreError> {
        match self {
            StoreSide::Here(writer) => writer.entry(entry),
            StoreSide::Thread(thread) => thread.entry(entry),
        }
    }
}
