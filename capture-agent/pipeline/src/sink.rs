//! Where the pipeline puts what it finds: every packet (with its flow) and every entry.

use crate::Packet;

/// Receives every packet and every entry the pipeline produces (the store in production, a
/// `Vec` in tests). Packets come first: an entry only names packets already given to the sink.
pub trait Sink {
    /// Why the sink could not take a packet or an entry.
    type Error: std::error::Error + Send + Sync + 'static;
    /// Keeps a packet, with the flow it belongs to (TCP/UDP) or `None`; returns its packet number.
    fn packet(&mut self, packet: &Packet<'_>, stream: Option<u64>) -> Result<u64, Self::Error>;
    /// A new flow id, unique in the sink's store.
    fn alloc_stream(&mut self) -> u64;
    /// Packets `first..=last` of flow `stream` (numbers the sink gave) are its TCP handshake, from
    /// the client's SYN to the last packet before data. Sinks that do not export ignore it;
    /// wrappers must forward it (required, so a new wrapper cannot drop it by omission).
    fn handshake(&mut self, stream: u64, first: u64, last: u64) -> Result<(), Self::Error>;
    /// Packets `first..=last` of flow `stream` carry state that later exchanges of the flow need
    /// to be decoded (HTTP/2's preface, SETTINGS and header blocks, which HPACK reads), so an
    /// export of one of them includes these packets. Sinks that do not export ignore it;
    /// wrappers must forward it.
    fn state_packets(&mut self, stream: u64, first: u64, last: u64) -> Result<(), Self::Error>;
    /// Keeps an entry.
    fn entry(&mut self, entry: shark_store::Entry) -> Result<(), Self::Error>;
}

/// The simplest sink: hands each entry to a closure, numbers packets and flows from 1, and keeps
/// no packets (so it ignores the handshake and state spans, which only matter for export). For
/// reading entries back from packets already stored, and for examples and tests.
pub struct OnEntry<F> {
    packets: u64,
    streams: u64,
    each: F,
}

impl<F: FnMut(shark_store::Entry)> OnEntry<F> {
    /// A sink calling `each` with every entry.
    pub fn new(each: F) -> Self {
        OnEntry {
            packets: 0,
            streams: 0,
            each,
        }
    }

    /// How many packets the sink was given.
    pub fn packets(&self) -> u64 {
        self.packets
    }
}

impl<F: FnMut(shark_store::Entry)> Sink for OnEntry<F> {
    type Error = std::convert::Infallible;

    fn packet(&mut self, _: &Packet<'_>, _: Option<u64>) -> Result<u64, Self::Error> {
        self.packets += 1;
        Ok(self.packets)
    }

    fn alloc_stream(&mut self) -> u64 {
        self.streams += 1;
        self.streams
    }

    fn handshake(&mut self, _: u64, _: u64, _: u64) -> Result<(), Self::Error> {
        Ok(())
    }

    fn state_packets(&mut self, _: u64, _: u64, _: u64) -> Result<(), Self::Error> {
        Ok(())
    }

    fn entry(&mut self, entry: shark_store::Entry) -> Result<(), Self::Error> {
        (self.each)(entry);
        Ok(())
    }
}
