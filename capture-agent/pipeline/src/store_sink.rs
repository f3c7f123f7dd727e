//! The store as the pipeline's sink: every packet into a PCAP segment, every entry into the index.

use shark_store::{Entry, NodeWriter, StoreError};

use crate::{Packet, Sink};

impl Sink for NodeWriter {
    type Error = StoreError;

    fn packet(&mut self, packet: &Packet<'_>, stream: Option<u64>) -> Result<u64, StoreError> {
        self.write_packet(packet, stream)
    }

    fn alloc_stream(&mut self) -> u64 {
        NodeWriter::alloc_stream(self)
    }

    fn handshake(&mut self, stream: u64, first: u64, last: u64) -> Result<(), StoreError> {
        self.write_handshake(stream, first, last)
    }

    fn state_packets(&mut self, stream: u64, first: u64, last: u64) -> Result<(), StoreError> {
        self.write_state_packets(stream, first, last)
    }

    fn entry(&mut self, entry: Entry) -> Result<(), StoreError> {
        self.write_entry(entry)
    }
}
