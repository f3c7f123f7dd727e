//! Cuts one direction's byte stream into HTTP/2 frames: skips the client preface, finds frame
//! boundaries in a connection joined mid-way or after lost bytes, and bounds what it buffers.

use super::super::ChunkMeta;
use super::frame::{FrameHeader, HEADER_LEN, PREFACE, plausible_chain};

/// Largest frame payload buffered whole; bigger frames are skipped (RFC 9113 allows up to 16 MiB).
const MAX_FRAME: usize = 1024 * 1024;
/// Bytes kept while looking for a frame boundary; older bytes are dropped past this.
const MAX_UNSYNCED: usize = 64 * 1024;
/// Buffer capacity kept between frames; a larger buffer (after a big frame) is released.
const KEEP_CAPACITY: usize = 64 * 1024;

/// What the reader found.
#[derive(Debug)]
pub(super) enum Event<'a> {
    /// A whole frame; `start` is the chunk of its first byte, `end` of its last.
    Frame {
        header: FrameHeader,
        payload: &'a [u8],
        start: ChunkMeta,
        end: ChunkMeta,
    },
    /// A frame larger than the reader buffers; its payload is skipped.
    Oversized {
        header: FrameHeader,
        start: ChunkMeta,
    },
}

/// Frame reader for one direction.
#[derive(Debug)]
pub(super) struct FrameReader {
    /// Bytes of an incomplete frame (or, unsynced, bytes being searched).
    buf: Vec<u8>,
    /// Chunk that carried `buf`'s first byte.
    buf_meta: Option<ChunkMeta>,
    /// Whether `buf` starts at a frame boundary.
    synced: bool,
    /// Whether the stream may still begin with the client preface.
    preface_possible: bool,
    /// Payload bytes of an oversized frame still to discard.
    skip: usize,
}

impl FrameReader {
    /// A reader for a direction that may open with the client preface (`client`) or not.
    pub fn new(client: bool) -> FrameReader {
        FrameReader {
            buf: Vec::new(),
            buf_meta: None,
            synced: false,
            preface_possible: client,
            skip: 0,
        }
    }

    /// Where the bytes held for a frame not yet complete began, if any are held.
    pub fn held_since(&self) -> Option<ChunkMeta> {
        self.buf_meta.filter(|_| !self.buf.is_empty())
    }

    /// Bytes were lost: drop what is buffered and look for the next frame boundary.
    pub fn lose_sync(&mut self) {
        self.buf.clear();
        self.buf_meta = None;
        self.synced = false;
        self.preface_possible = false;
        self.skip = 0;
    }

    /// Feeds the next bytes of the direction, calling `on_event` for each frame completed.
    pub fn feed(&mut self, data: &[u8], meta: ChunkMeta, on_event: &mut dyn FnMut(Event<'_>)) {
        let mut data = self.skip_bytes(data);
        if data.is_empty() {
            return;
        }
        if !self.synced {
            self.feed_unsynced(data, meta, on_event);
            return;
        }
        if !self.buf.is_empty() {
            data = self.complete_pending(data, meta, on_event);
            data = self.skip_bytes(data);
            if !self.buf.is_empty() || data.is_empty() {
                return;
            }
        }
        let used = self.frames(data, meta, meta, on_event);
        self.keep(data.get(used..).unwrap_or_default(), meta);
    }

    /// Drops the part of `data` that belongs to an oversized frame being skipped.
    fn skip_bytes<'a>(&mut self, data: &'a [u8]) -> &'a [u8] {
        let n = self.skip.min(data.len());
        self.skip -= n;
        data.get(n..).unwrap_or_default()
    }

    /// Buffers bytes until a frame boundary is found, then reads the frames buffered.
    fn feed_unsynced(&mut self, data: &[u8], meta: ChunkMeta, on_event: &mut dyn FnMut(Event<'_>)) {
        if self.buf.is_empty() {
            self.buf_meta = Some(meta);
        }
        self.buf.extend_from_slice(data);
        if !self.sync() {
            return;
        }
        let mut buf = std::mem::take(&mut self.buf);
        let first = self.buf_meta.unwrap_or(meta);
        let used = self.frames(&buf, first, meta, on_event);
        buf.drain(..used.min(buf.len()));
        self.buf = buf;
        // a frame completed in this chunk, so the remainder begins in it too
        self.buf_meta = Some(if used > 0 { meta } else { first });
    }

    /// Completes the buffered partial frame from the start of `data`, emitting it when whole.
    /// Returns the rest of `data`.
    fn complete_pending<'a>(
        &mut self,
        data: &'a [u8],
        meta: ChunkMeta,
        on_event: &mut dyn FnMut(Event<'_>),
    ) -> &'a [u8] {
        let mut data = data;
        // moves bytes from `data` into `buf` until `buf` holds `upto` bytes or `data` runs out
        let mut fill = |buf: &mut Vec<u8>, upto: usize| {
            let n = upto.saturating_sub(buf.len()).min(data.len());
            buf.extend_from_slice(data.get(..n).unwrap_or_default());
            data = data.get(n..).unwrap_or_default();
        };
        fill(&mut self.buf, HEADER_LEN);
        let Some(header) = FrameHeader::parse(&self.buf) else {
            return data;
        };
        let start = self.buf_meta.unwrap_or(meta);
        if header.len > MAX_FRAME {
            on_event(Event::Oversized { header, start });
            self.skip = header.len.saturating_sub(self.buf.len() - HEADER_LEN);
            self.buf.clear();
            return data;
        }
        let total = HEADER_LEN + header.len;
        fill(&mut self.buf, total);
        if let Some(payload) = self.buf.get(HEADER_LEN..total) {
            on_event(Event::Frame {
                header,
                payload,
                start,
                end: meta,
            });
            self.buf.clear();
            if self.buf.capacity() > KEEP_CAPACITY {
                self.buf = Vec::new();
            }
        }
        data
    }

    /// Stashes an incomplete frame's bytes.
    fn keep(&mut self, rest: &[u8], meta: ChunkMeta) {
        if self.buf.is_empty() && !rest.is_empty() {
            self.buf_meta = Some(meta);
        }
        self.buf.extend_from_slice(rest);
    }

    /// Emits the whole frames at the start of `data`; returns the bytes used (whole frames and
    /// skipped oversized prefixes). `first` is the chunk of `data`'s first byte, `last` the current one.
    fn frames(
        &mut self,
        data: &[u8],
        first: ChunkMeta,
        last: ChunkMeta,
        on_event: &mut dyn FnMut(Event<'_>),
    ) -> usize {
        let mut offset = 0usize;
        while let Some(rest) = data.get(offset..) {
            let Some(header) = FrameHeader::parse(rest) else {
                break;
            };
            let start = if offset == 0 { first } else { last };
            if header.len > MAX_FRAME {
                on_event(Event::Oversized { header, start });
                let available = rest.len().saturating_sub(HEADER_LEN);
                self.skip = header.len.saturating_sub(available);
                return data.len();
            }
            let end = HEADER_LEN + header.len;
            let Some(payload) = rest.get(HEADER_LEN..end) else {
                break;
            };
            on_event(Event::Frame {
                header,
                payload,
                start,
                end: last,
            });
            offset += end;
        }
        offset
    }

    /// Finds a frame boundary in the buffer (after the preface, if the client sent one).
    /// Returns whether the buffer now starts at one.
    fn sync(&mut self) -> bool {
        if self.preface_possible {
            let n = self.buf.len().min(PREFACE.len());
            if self.buf.get(..n) == PREFACE.get(..n) {
                if n < PREFACE.len() {
                    return false;
                }
                self.buf.drain(..PREFACE.len());
                self.preface_possible = false;
                self.synced = true;
                return true;
            }
            self.preface_possible = false;
        }
        let mut offset = 0;
        while offset + HEADER_LEN <= self.buf.len() {
            match self.buf.get(offset..).and_then(plausible_chain) {
                Some(complete) if complete > 0 => {
                    self.buf.drain(..offset);
                    self.synced = true;
                    return true;
                }
                // a plausible header whose frame has not fully arrived: wait for it
                Some(_) => break,
                None => offset += 1,
            }
        }
        if offset > 0 {
            self.buf.drain(..offset);
        }
        if self.buf.len() > MAX_UNSYNCED {
            let excess = self.buf.len() - MAX_UNSYNCED;
            self.buf.drain(..excess);
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(packet: u64) -> ChunkMeta {
        ChunkMeta {
            ts_ns: packet as i64,
            packet,
        }
    }

    fn collect(reader: &mut FrameReader, chunks: &[&[u8]]) -> Vec<(u8, usize, u64, u64)> {
        let mut seen = Vec::new();
        for (i, chunk) in chunks.iter().enumerate() {
            reader.feed(chunk, meta(i as u64), &mut |event| {
                if let Event::Frame {
                    header,
                    payload,
                    start,
                    end,
                } = event
                {
                    seen.push((header.kind, payload.len(), start.packet, end.packet));
                }
            });
        }
        seen
    }

    const SETTINGS: &[u8] = &[0, 0, 0, 4, 0, 0, 0, 0, 0];
    const PING: &[u8] = &[0, 0, 8, 6, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8];

    #[test]
    fn preface_then_frames_split_anywhere() {
        let wire = [PREFACE, SETTINGS, PING].concat();
        for cut in 1..wire.len() {
            let (a, b) = wire.split_at(cut);
            let mut reader = FrameReader::new(true);
            let frames = collect(&mut reader, &[a, b]);
            assert_eq!(
                frames.iter().map(|f| (f.0, f.1)).collect::<Vec<_>>(),
                vec![(4, 0), (6, 8)],
                "cut {cut}"
            );
        }
    }

    #[test]
    fn frame_metas_name_first_and_last_chunk() {
        let mut reader = FrameReader::new(false);
        let frames = collect(
            &mut reader,
            &[SETTINGS, PING.get(..4).unwrap(), PING.get(4..).unwrap()],
        );
        assert_eq!(frames, vec![(4, 0, 0, 0), (6, 8, 1, 2)]);
    }

    #[test]
    fn resynchronises_after_garbage() {
        let wire = [&b"\xde\xad\xbe\xef junk"[..], PING, SETTINGS].concat();
        let mut reader = FrameReader::new(false);
        let frames = collect(&mut reader, &[&wire]);
        assert_eq!(frames.iter().map(|f| f.0).collect::<Vec<_>>(), vec![6, 4]);
    }

    #[test]
    fn oversized_frame_is_skipped() {
        let mut big = vec![0x10, 0, 1, 0, 0, 0, 0, 0, 1]; // 1 MiB + 1 DATA
        big.resize(9 + 100, 0);
        let mut reader = FrameReader::new(false);
        reader.synced = true;
        let mut oversized = 0;
        reader.feed(&big, meta(0), &mut |e| {
            oversized += matches!(e, Event::Oversized { .. }) as usize
        });
        assert_eq!(oversized, 1);
        assert_eq!(reader.skip, 0x10_0001 - 100);
    }
}
