//! A batch of captured packets from one interface: their bytes back to back in one buffer, so a
//! capture thread hands the pipeline thousands of packets in one message and no packet allocates.

use shark_pipeline::Packet;

/// Where one packet of a batch lives in the batch's buffer.
#[derive(Debug, Clone, Copy)]
struct Slot {
    ts_ns: i64,
    orig_len: u32,
    start: usize,
    len: usize,
}

/// Bytes a packet costs in a batch beyond its data (its slot), counted against the queue's bound.
pub(crate) const SLOT_COST: usize = size_of::<Slot>();

/// Packets of one link type in arrival order. Cleared and reused rather than dropped.
#[derive(Debug, Default)]
pub struct PacketBatch {
    linktype: u32,
    bytes: Vec<u8>,
    slots: Vec<Slot>,
}

impl PacketBatch {
    /// An empty batch for packets of `linktype`.
    pub(crate) fn new(linktype: u32) -> Self {
        PacketBatch {
            linktype,
            bytes: Vec::new(),
            slots: Vec::new(),
        }
    }

    /// Appends a packet (its bytes are copied into the batch's buffer).
    pub(crate) fn push(&mut self, ts_ns: i64, orig_len: u32, data: &[u8]) {
        self.slots.push(Slot {
            ts_ns,
            orig_len,
            start: self.bytes.len(),
            len: data.len(),
        });
        self.bytes.extend_from_slice(data);
    }

    /// Packets in the batch.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether the batch holds no packet.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Memory the batch's packets take: their bytes plus a slot each (what the queue bound counts).
    pub(crate) fn footprint(&self) -> usize {
        self.bytes.len() + self.slots.len() * SLOT_COST
    }

    /// The packets, in the order they were captured.
    pub fn packets(&self) -> impl Iterator<Item = Packet<'_>> {
        self.slots.iter().map(|slot| Packet {
            ts_ns: slot.ts_ns,
            orig_len: slot.orig_len,
            linktype: self.linktype,
            data: self
                .bytes
                .get(slot.start..slot.start + slot.len)
                .unwrap_or_default(),
        })
    }

    /// Empties the batch for reuse by `linktype`, keeping its buffers' capacity.
    pub(crate) fn reset(&mut self, linktype: u32) {
        self.linktype = linktype;
        self.bytes.clear();
        self.slots.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_come_back_in_order_with_their_own_bytes_and_metadata() {
        let mut batch = PacketBatch::new(113);
        batch.push(10, 60, b"first");
        batch.push(20, 1500, b"");
        batch.push(30, 3, b"abc");
        let got: Vec<(i64, u32, u32, &[u8])> = batch
            .packets()
            .map(|p| (p.ts_ns, p.orig_len, p.linktype, p.data))
            .collect();
        assert_eq!(
            got,
            [
                (10, 60, 113, &b"first"[..]),
                (20, 1500, 113, &b""[..]),
                (30, 3, 113, &b"abc"[..])
            ]
        );
        assert_eq!(batch.footprint(), 8 + 3 * SLOT_COST);
    }

    #[test]
    fn a_reset_batch_is_empty_and_takes_the_new_link_type() {
        let mut batch = PacketBatch::new(1);
        batch.push(1, 4, b"abcd");
        batch.reset(113);
        assert!(batch.is_empty());
        assert_eq!(batch.footprint(), 0);
        batch.push(2, 2, b"xy");
        assert_eq!(
            batch
                .packets()
                .map(|p| (p.linktype, p.data.to_vec()))
                .collect::<Vec<_>>(),
            [(113, b"xy".to_vec())]
        );
    }
}
