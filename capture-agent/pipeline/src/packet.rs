//! Captured packets as they come from a source: timestamp, original length, link type, bytes.

/// A captured packet, borrowed from wherever the source keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    /// Capture time, nanoseconds since the Unix epoch (UTC).
    pub ts_ns: i64,
    /// Length of the packet on the wire (`data` may be shorter when cut by the snaplen).
    pub orig_len: u32,
    /// Link-layer header type (LINKTYPE_* number, e.g. 1 Ethernet, 113 Linux SLL).
    pub linktype: u32,
    /// The captured bytes, starting with the link-layer header.
    pub data: &'a [u8],
}

/// A captured packet that owns its bytes, as a file source yields it.
#[derive(Debug, Clone, PartialEq, Eq)]
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
