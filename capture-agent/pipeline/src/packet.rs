//! Captured packets as they come from a source: timestamp, original length, link type, bytes.

/// A captured packet, borrowed from wherever the source keeps it: the store's
/// [`RawPacket`](shark_store::RawPacket), so a packet read back from a segment
/// ([`StoredPacket::as_raw`](shark_store::StoredPacket::as_raw)) or handed to the store is the
/// packet the pipeline dissects, with no copy between them.
pub use shark_store::RawPacket as Packet;

/// A captured packet that owns its bytes, as a file source yields it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnedPacket {
    /// Capture time, nanoseconds since the Unix epoch (UTC).
    pub ts_ns: i64,
    /// Length of the packet on the wire.
    pub orig_len: u32,
    /// Link-layer header type (LINKTYPE_* number).
    pub linktype: u32,
    /// The captured bytes.
    pub data: Vec<u8>,
}

impl OwnedPacket {
    /// Borrows the packet for the pipeline.
    pub fn as_packet(&self) -> Packet<'_> {
        Packet {
            ts_ns: self.ts_ns,
            orig_len: self.orig_len,
            linktype: self.linktype,
            data: &self.data,
        }
    }
}
