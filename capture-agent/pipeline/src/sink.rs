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
