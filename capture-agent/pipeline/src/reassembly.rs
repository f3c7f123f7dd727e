//! TCP reassembly, one direction of a connection at a time.
//!
//! Sequence numbers wrap (compared with wrapping arithmetic against the next expected byte) and
//! are mapped to a 64-bit stream offset. Policy:
//! - in-order bytes are delivered at once, without copying;
//! - out-of-order segments are buffered (bounded in bytes and segments) until the hole is filled;
//! - overlaps: the first copy of a byte wins — bytes already delivered are never replaced, and of
//!   buffered segments starting at the same place the first is kept;
//! - when the buffer bound is hit, or the flow closes with holes, the hole becomes a gap and
//!   delivery resumes at the next buffered byte; bytes missing from a packet cut by the snaplen
//!   are a gap too;
//! - a direction joined mid-stream (no SYN seen) starts at its first data byte.

use std::collections::BTreeMap;

use crate::dissect::ChunkMeta;

/// Bounds on what one direction buffers out of order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReassemblyLimits {
    /// Bytes buffered out of order before the oldest hole is declared a gap.
    pub max_buffered_bytes: usize,
    /// Segments buffered out of order before the oldest hole is declared a gap.
    pub max_buffered_segments: usize,
}

impl Default for ReassemblyLimits {
    fn default() -> Self {
        ReassemblyLimits {
            max_buffered_bytes: 256 << 10,
            max_buffered_segments: 256,
        }
    }
}

/// What reassembly delivers, in stream order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chunk<'a> {
    /// The next bytes of the stream and the packet that carried the first of them.
    Data(&'a [u8], ChunkMeta),
    /// This many bytes were lost; the next chunk continues after them.
    Gap(u64),
}

/// One TCP segment as reassembly sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentIn<'a> {
    /// Sequence number (of the SYN when `syn`).
    pub seq: u32,
    /// SYN flag.
    pub syn: bool,
    /// Payload bytes captured.
    pub payload: &'a [u8],
    /// Payload length on the wire (more than `payload.len()` when cut by the snaplen).
    pub announced_len: usize,
    /// The packet carrying it.
    pub meta: ChunkMeta,
}

/// Reassembles one direction of a TCP connection.
#[derive(Debug, Default)]
pub struct TcpReassembler {
    limits: ReassemblyLimits,
    /// Sequence number of the next byte to deliver, once known.
    next_seq: Option<u32>,
    /// Stream offset of `next_seq`.
    offset: u64,
    /// Out-of-order segments by stream offset.
    pending: BTreeMap<u64, (Vec<u8>, ChunkMeta)>,
    buffered: usize,
    gaps: u64,
}

impl TcpReassembler {
    /// A reassembler with these bounds.
    pub fn new(limits: ReassemblyLimits) -> Self {
        TcpReassembler {
            limits,
            ..Default::default()
        }
    }

    /// Bytes currently buffered out of order.
    pub fn buffered(&self) -> usize {
        self.buffered
    }

    /// Gaps declared so far.
    pub fn gaps(&self) -> u64 {
        self.gaps
    }

    /// Takes one segment and delivers whatever became contiguous to `emit`.
    pub fn segment(&mut self, segment: SegmentIn<'_>, emit: &mut impl FnMut(Chunk<'_>)) {
        let data_seq = if segment.syn {
            segment.seq.wrapping_add(1)
        } else {
            segment.seq
        };
        let next = match self.next_seq {
            Some(next) => next,
            None if segment.syn || !segment.payload.is_empty() => {
                self.next_seq = Some(data_seq);
                data_seq
            }
            None => return,
        };
        if segment.payload.is_empty() && segment.announced_len == 0 {
            return;
        }
        // Signed distance from the next expected byte, wrap-around included.
        let distance = i64::from(data_seq.wrapping_sub(next) as i32);
        // Bytes before the next expected one were delivered already: trim them (first copy wins).
        let (start, skip) = if distance < 0 {
            (self.offset, distance.unsigned_abs())
        } else {
            (self.offset + distance as u64, 0)
        };
        let Some(payload) = usize::try_from(skip)
            .ok()
            .and_then(|s| segment.payload.get(s..))
        else {
            return; // entirely old: a retransmission of delivered bytes
        };
        let missing_tail = segment.announced_len.saturating_sub(segment.payload.len()) as u64;
        if start == self.offset {
            if !payload.is_empty() {
                emit(Chunk::Data(payload, segment.meta));
                self.advance(payload.len() as u64);
            }
            if missing_tail > 0 {
                self.gap(missing_tail, emit);
            }
            self.drain(emit);
        } else if start > self.offset && !payload.is_empty() {
            if !self.pending.contains_key(&start) {
                self.buffered += payload.len();
                self.pending.insert(start, (payload.to_vec(), segment.meta));
            }
            while self.buffered > self.limits.max_buffered_bytes
                || self.pending.len() > self.limits.max_buffered_segments
            {
                let Some(first) = self.pending.keys().next().copied() else {
                    break;
                };
                self.gap(first - self.offset, emit);
                self.drain(emit);
            }
        }
    }

    /// The connection ended: delivers everything buffered, declaring the holes as gaps.
    pub fn flush(&mut self, emit: &mut impl FnMut(Chunk<'_>)) {
        while let Some(first) = self.pending.keys().next().copied() {
            if first > self.offset {
                self.gap(first - self.offset, emit);
            }
            self.drain(emit);
        }
    }

    fn advance(&mut self, bytes: u64) {
        self.offset += bytes;
        self.next_seq = self.next_seq.map(|s| s.wrapping_add(bytes as u32));
    }

    fn gap(&mut self, bytes: u64, emit: &mut impl FnMut(Chunk<'_>)) {
        if bytes == 0 {
            return;
        }
        self.gaps += 1;
        emit(Chunk::Gap(bytes));
        self.advance(bytes);
    }

    /// Delivers buffered segments that are now contiguous, trimming what was already delivered.
    fn drain(&mut self, emit: &mut impl FnMut(Chunk<'_>)) {
        while let Some(entry) = self.pending.first_entry() {
            let start = *entry.key();
            if start > self.offset {
                break;
            }
            let (bytes, meta) = entry.remove();
            self.buffered -= bytes.len();
            let skip = usize::try_from(self.offset - start).unwrap_or(usize::MAX);
            if let Some(rest) = bytes.get(skip..).filter(|r| !r.is_empty()) {
                emit(Chunk::Data(rest, meta));
                self.advance(rest.len() as u64);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What came out: bytes (gaps as `?` per lost byte) and the packet of each chunk.
    #[derive(Default)]
    struct Out {
        text: String,
        packets: Vec<u64>,
    }

    fn seg(
        r: &mut TcpReassembler,
        out: &mut Out,
        seq: u32,
        syn: bool,
        payload: &[u8],
        announced: usize,
        packet: u64,
    ) {
        let input = SegmentIn {
            seq,
            syn,
            payload,
            announced_len: announced,
            meta: ChunkMeta { ts_ns: 0, packet },
        };
        r.segment(input, &mut |c| collect(out, c));
    }

    fn collect(out: &mut Out, chunk: Chunk<'_>) {
        match chunk {
            Chunk::Data(bytes, meta) => {
                out.text.push_str(&String::from_utf8_lossy(bytes));
                out.packets.push(meta.packet);
            }
            Chunk::Gap(n) => out.text.push_str(&"?".repeat(n as usize)),
        }
    }

    #[test]
    fn out_of_order_segments_are_delivered_in_order() {
        let mut r = TcpReassembler::new(ReassemblyLimits::default());
        let mut out = Out::default();
        seg(&mut r, &mut out, 100, true, b"", 0, 1);
        seg(&mut r, &mut out, 107, false, b"world", 5, 2);
        assert_eq!(out.text, "");
        seg(&mut r, &mut out, 101, false, b"hello ", 6, 3);
        assert_eq!(out.text, "hello world");
        assert_eq!(out.packets, [3, 2]);
        assert_eq!(r.buffered(), 0);
    }

    #[test]
    fn sequence_numbers_wrap_around() {
        let mut r = TcpReassembler::new(ReassemblyLimits::default());
        let mut out = Out::default();
        seg(&mut r, &mut out, u32::MAX - 2, false, b"abc", 3, 1);
        seg(&mut r, &mut out, 3, false, b"ghi", 3, 3);
        seg(&mut r, &mut out, 0, false, b"def", 3, 2);
        assert_eq!(out.text, "abcdefghi");
    }

    #[test]
    fn overlapping_retransmissions_keep_the_first_copy() {
        let mut r = TcpReassembler::new(ReassemblyLimits::default());
        let mut out = Out::default();
        seg(&mut r, &mut out, 1000, false, b"abcdef", 6, 1);
        // Retransmission overlapping delivered bytes with different content, plus 3 new bytes.
        seg(&mut r, &mut out, 1003, false, b"XYZghi", 6, 2);
        // Two buffered copies starting at the same place: the first stays.
        seg(&mut r, &mut out, 1012, false, b"mno", 3, 3);
        seg(&mut r, &mut out, 1012, false, b"MNO", 3, 4);
        seg(&mut r, &mut out, 1009, false, b"jkl", 3, 5);
        assert_eq!(out.text, "abcdefghijklmno");
    }

    #[test]
    fn a_buffered_segment_overlapping_bytes_delivered_later_gives_only_its_new_bytes() {
        let mut r = TcpReassembler::new(ReassemblyLimits::default());
        let mut out = Out::default();
        seg(&mut r, &mut out, 0, false, b"abc", 3, 1);
        // Buffered past the hole at 3..5: bytes 5..10, and byte 4 alone.
        seg(&mut r, &mut out, 5, false, b"fghij", 5, 2);
        seg(&mut r, &mut out, 4, false, b"e", 1, 3);
        assert_eq!(out.text, "abc");
        // The hole is filled by bytes 3..7 in another copy: delivered first, they win; the
        // buffered segments give only what lies past them.
        seg(&mut r, &mut out, 3, false, b"DEFG", 4, 4);
        assert_eq!(out.text, "abcDEFGhij");
        assert_eq!(out.packets, [1, 4, 2]);
        assert_eq!(r.buffered(), 0);
    }

    #[test]
    fn a_hole_past_the_buffer_bound_becomes_a_gap() {
        let limits = ReassemblyLimits {
            max_buffered_bytes: 8,
            max_buffered_segments: 4,
        };
        let mut r = TcpReassembler::new(limits);
        let mut out = Out::default();
        seg(&mut r, &mut out, 0, false, b"ab", 2, 1);
        seg(&mut r, &mut out, 4, false, b"efgh", 4, 2);
        seg(&mut r, &mut out, 8, false, b"ijklm", 5, 3);
        assert_eq!(out.text, "ab??efghijklm");
        assert_eq!(r.gaps(), 1);
        // The lost bytes arriving late are old news.
        seg(&mut r, &mut out, 2, false, b"cd", 2, 4);
        assert_eq!(out.text, "ab??efghijklm");
    }

    #[test]
    fn bytes_cut_by_the_snaplen_are_a_gap() {
        let mut r = TcpReassembler::new(ReassemblyLimits::default());
        let mut out = Out::default();
        seg(&mut r, &mut out, 0, false, b"abc", 6, 1);
        seg(&mut r, &mut out, 6, false, b"xyz", 3, 2);
        assert_eq!(out.text, "abc???xyz");
    }

    #[test]
    fn flush_delivers_what_is_buffered_after_declaring_holes() {
        let mut r = TcpReassembler::new(ReassemblyLimits::default());
        let mut out = Out::default();
        seg(&mut r, &mut out, 0, false, b"a", 1, 1);
        seg(&mut r, &mut out, 3, false, b"d", 1, 2);
        r.flush(&mut |c| collect(&mut out, c));
        assert_eq!(out.text, "a??d");
    }

    #[test]
    fn a_stream_joined_mid_way_starts_at_its_first_data() {
        let mut r = TcpReassembler::new(ReassemblyLimits::default());
        let mut out = Out::default();
        seg(&mut r, &mut out, 5000, false, b"", 0, 1); // a bare ACK does not fix the start
        seg(&mut r, &mut out, 7000, false, b"later", 5, 2);
        seg(&mut r, &mut out, 7005, false, b" on", 3, 3);
        assert_eq!(out.text, "later on");
    }
}
