//! permessage-deflate (RFC 7692) undone for one direction: each compressed message is raw DEFLATE
//! data ending in an empty stored block whose last four octets (`00 00 ff ff`) the sender left
//! off; the sliding window carries over from message to message unless the peers agreed
//! otherwise, so one decompressor serves the whole direction. Output past the body cap is
//! inflated (the window needs it) but not kept, and a message inflating to more than
//! [`MAX_INFLATED`] bytes is given up (messages after it that refer to its window fail too).

use flate2::{Decompress, FlushDecompress, Status};

/// Most bytes one message is inflated to (the rest of it is left compressed).
const MAX_INFLATED: u64 = 16 << 20;
/// Output is inflated in pieces of this size.
const SCRATCH: usize = 16 << 10;
/// The end of a message's DEFLATE data, as the sender removed it.
const TAIL: [u8; 4] = [0, 0, 0xff, 0xff];

/// The decompressor of one direction.
pub(super) struct Inflater {
    inner: Decompress,
    scratch: Vec<u8>,
    /// Bytes the current message inflated to so far.
    inflated: u64,
    /// Why the current message cannot be inflated, if it cannot.
    failed: Option<String>,
}

impl Default for Inflater {
    fn default() -> Self {
        Inflater {
            inner: Decompress::new(false),
            scratch: vec![0; SCRATCH],
            inflated: 0,
            failed: None,
        }
    }
}

impl Inflater {
    /// Inflates `input`, the next compressed bytes of the current message, appending the output
    /// to `body` up to `max_body` bytes.
    pub fn feed(&mut self, input: &[u8], body: &mut Vec<u8>, max_body: usize) {
        let mut input = input;
        while self.failed.is_none() && !input.is_empty() {
            let before = (self.inner.total_in(), self.inner.total_out());
            let status = self
                .inner
                .decompress(input, &mut self.scratch, FlushDecompress::Sync);
            let used = (self.inner.total_in() - before.0) as usize;
            let made = (self.inner.total_out() - before.1) as usize;
            input = input.get(used..).unwrap_or_default();
            let room = max_body.saturating_sub(body.len()).min(made);
            body.extend_from_slice(self.scratch.get(..room).unwrap_or_default());
            self.inflated += made as u64;
            match status {
                Err(e) => self.fail(format!("permessage-deflate data does not inflate: {e}")),
                _ if self.inflated > MAX_INFLATED => {
                    self.fail(format!("inflates to more than {MAX_INFLATED} bytes"));
                }
                // The sender ended its DEFLATE stream (a final block): the next message starts a
                // fresh one.
                Ok(Status::StreamEnd) => {
                    self.inner.reset(false);
                    return;
                }
                Ok(_) if used == 0 && made == 0 => return,
                Ok(_) => {}
            }
        }
    }

    /// The current message ended: inflates the tail the sender left off, and says why the
    /// message could not be inflated, if it could not. The next message starts afresh.
    pub fn finish(&mut self, body: &mut Vec<u8>, max_body: usize) -> Option<String> {
        self.feed(&TAIL, body, max_body);
        self.inflated = 0;
        let failed = self.failed.take();
        if failed.is_some() {
            // Later messages may refer to a window that was never built; they fail on their own
            // if they do.
            self.inner.reset(false);
        }
        failed
    }

    fn fail(&mut self, why: String) {
        self.failed = Some(why);
    }
}
