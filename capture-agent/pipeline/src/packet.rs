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

/// Where one packet of a [`PacketRun`] lies: its bytes end at `end` in the run's buffer (and
/// start where the packet before ended).
#[derive(Debug, Clone, Copy)]
struct Slot {
    ts_ns: i64,
    orig_len: u32,
    linktype: u32,
    end: usize,
}

/// Packets back to back in one buffer, in the order they were pushed, to be handed between
/// threads in one message with no allocation per packet. Cleared and reused rather than dropped.
#[derive(Debug, Default)]
pub(crate) struct PacketRun {
    bytes: Vec<u8>,
    slots: Vec<Slot>,
}

impl PacketRun {
    /// Appends `packet`, its bytes copied into the run's buffer.
    pub fn push(&mut self, packet: &Packet<'_>) {
        self.bytes.extend_from_slice(packet.data);
        self.slots.push(Slot {
            ts_ns: packet.ts_ns,
            orig_len: packet.orig_len,
            linktype: packet.linktype,
            end: self.bytes.len(),
        });
    }

    /// Packet `i`, borrowed from the run's buffer.
    pub fn get(&self, i: usize) -> Option<Packet<'_>> {
        let slot = self.slots.get(i)?;
        let start = i
            .checked_sub(1)
            .and_then(|before| self.slots.get(before))
            .map_or(0, |before| before.end);
        Some(Packet {
            ts_ns: slot.ts_ns,
            orig_len: slot.orig_len,
            linktype: slot.linktype,
            data: self.bytes.get(start..slot.end).unwrap_or_default(),
        })
    }

    /// Packets in the run.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Bytes of packet data in the run.
    pub fn bytes(&self) -> usize {
        self.bytes.len()
    }

    /// Empties the run, keeping its buffers' capacity.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.slots.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_gives_back_each_packet_with_its_own_bytes_and_metadata() {
        let sent = [
            (1, 60, 1, &b"first"[..]),
            (2, 0, 113, &b""[..]),
            (3, 1500, 101, &b"third packet"[..]),
        ];
        let mut run = PacketRun::default();
        for (ts_ns, orig_len, linktype, data) in sent {
            run.push(&Packet {
                ts_ns,
                orig_len,
                linktype,
                data,
            });
        }
        assert_eq!((run.len(), run.bytes()), (3, 17));
        for (i, (ts_ns, orig_len, linktype, data)) in sent.into_iter().enumerate() {
            let packet = run.get(i).expect("packet");
            assert_eq!(
                (packet.ts_ns, packet.orig_len, packet.linktype, packet.data),
                (ts_ns, orig_len, linktype, data)
            );
        }
        assert!(run.get(3).is_none());
        run.clear();
        assert_eq!((run.len(), run.bytes()), (0, 0));
    }
}
