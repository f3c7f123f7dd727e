//! One direction of an HTTP/1 connection: the bytes buffered and what the reader is doing.

use std::cell::Cell;

use super::super::ChunkMeta;
use super::message::Msg;

/// The largest buffer kept as a thread's spare (a header block and a body's first bytes fit).
const SPARE_MAX: usize = 64 << 10;

thread_local! {
    /// One buffer per thread, lent to whichever connection's side is appending bytes and given
    /// back when they are consumed: a busy thread then allocates no buffer per packet (a
    /// packet-sized allocation each time made glibc consolidate its small free chunks, ~7 % of an
    /// HTTP import), while an idle connection still holds none.
    static SPARE: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// How a message body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Framing {
    /// This many bytes remain.
    Length(u64),
    /// Chunked transfer coding, in this part of a chunk.
    Chunked(ChunkPart),
    /// Everything until the connection closes.
    UntilClose,
}

/// Where a chunked body's reader is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ChunkPart {
    /// Reading a chunk-size line.
    Size,
    /// Inside chunk data, this many bytes remain.
    Data(u64),
    /// The CRLF after chunk data.
    DataEnd,
    /// Trailer lines after the last chunk, up to an empty line.
    Trailers,
}

/// What one direction's reader is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    /// Waiting for (or inside) a header block.
    Headers,
    /// Inside a body.
    Body(Framing),
    /// Lost track (gap or malformed bytes): looking for the next message start.
    Resync,
}

/// One direction: buffered bytes and where the reader is.
#[derive(Debug)]
pub(super) struct Side {
    /// Bytes received and not yet dropped.
    pub buf: Vec<u8>,
    /// Bytes of `buf` already consumed.
    pub pos: usize,
    /// What the reader is doing.
    pub state: State,
    /// Packet of the oldest unconsumed byte carried over from an earlier chunk.
    pub carried: Option<ChunkMeta>,
    /// The message whose body is being read.
    pub current: Option<Box<Msg>>,
}

impl Default for Side {
    fn default() -> Self {
        Side {
            buf: Vec::new(),
            pos: 0,
            state: State::Headers,
            carried: None,
            current: None,
        }
    }
}

impl Side {
    /// The bytes not consumed yet.
    pub fn rest(&self) -> &[u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }

    /// Meta of the byte at `pos`: a carried byte or one of the current chunk.
    pub fn meta_here(&self, carried_len: usize, meta: ChunkMeta) -> ChunkMeta {
        match self.carried {
            Some(old) if self.pos < carried_len => old,
            _ => meta,
        }
    }

    /// Appends a chunk's bytes to what is buffered (into the thread's spare buffer when this
    /// side holds none).
    pub fn append(&mut self, data: &[u8]) {
        if self.buf.capacity() == 0 {
            self.buf = SPARE.take();
        }
        self.buf.extend_from_slice(data);
    }

    /// Drops consumed bytes and remembers which packet the rest came from. The allocation goes
    /// back to the thread when nothing is left (idle connections are the common case and must stay
    /// small), and the rest moves to one of its own size when it is much smaller than its buffer.
    pub fn compact(&mut self, meta: ChunkMeta) {
        if self.pos >= self.buf.len() {
            give_back(std::mem::take(&mut self.buf));
            self.carried = None;
        } else {
            let rest = self.rest();
            if self.buf.capacity() > 2 * rest.len() + 4096 {
                let rest = rest.to_vec();
                give_back(std::mem::replace(&mut self.buf, rest));
            } else if self.pos > 0 {
                self.buf.drain(..self.pos);
            }
            self.carried = Some(self.carried.unwrap_or(meta));
        }
        self.pos = 0;
    }

    /// Where the message this side is reading began, when it is inside one (or holds bytes of
    /// one not yet read).
    pub fn unfinished_since(&self) -> Option<ChunkMeta> {
        self.current.as_ref().and_then(|m| m.start).or(self.carried)
    }

    /// Forgets everything buffered and looks for the next message start.
    pub fn reset(&mut self) {
        self.release();
        self.carried = None;
        self.current = None;
        self.state = State::Resync;
    }

    /// Forgets the bytes buffered, giving the allocation back to the thread.
    pub fn release(&mut self) {
        give_back(std::mem::take(&mut self.buf));
        self.pos = 0;
    }

    /// Skips to the next plausible message start; `false` when none is in the buffer yet.
    pub fn resync(&mut self, is_start: fn(&[u8]) -> bool) -> bool {
        let rest = self.rest();
        let mut at = 0;
        while at < rest.len() {
            if (at == 0 || rest.get(at - 1) == Some(&b'\n')) && rest.get(at..).is_some_and(is_start)
            {
                self.pos += at;
                self.state = State::Headers;
                return true;
            }
            at += 1;
        }
        // Keep a short tail: a start may straddle the chunk boundary.
        let keep = rest.len().min(16);
        self.pos += rest.len() - keep;
        false
    }
}

/// Keeps `buf`'s allocation as the thread's spare, emptied, unless it is too large to keep.
fn give_back(mut buf: Vec<u8>) {
    if buf.capacity() <= SPARE_MAX {
        buf.clear();
        SPARE.set(buf);
    }
}
