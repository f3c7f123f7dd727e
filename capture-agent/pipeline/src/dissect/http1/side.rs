//! One direction of an HTTP/1 connection: the bytes buffered and what the reader is doing.

use super::super::ChunkMeta;
use super::message::Msg;

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

    /// Drops consumed bytes and remembers which packet the rest came from.
    pub fn compact(&mut self, meta: ChunkMeta) {
        if self.pos >= self.buf.len() {
            // Release the allocation: idle connections are the common case and must stay small.
            self.buf = Vec::new();
            self.carried = None;
        } else {
            if self.pos > 0 {
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
        self.buf.clear();
        self.pos = 0;
        self.carried = None;
        self.current = None;
        self.state = State::Resync;
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
