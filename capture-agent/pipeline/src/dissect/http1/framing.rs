//! Message body framing: Content-Length, chunked transfer coding (chunk extensions and trailers
//! skipped), or the end of the connection.

use super::super::ChunkMeta;
use super::message::Msg;
use super::side::{ChunkPart, Framing, Side, State};

/// A header block larger than this is not HTTP (or is hostile): resynchronise.
pub(super) const MAX_HEADER_BLOCK: usize = 64 << 10;

/// How far [`read_body`] got.
pub(super) enum BodyStep {
    /// The body goes on in bytes not received yet.
    NeedMore,
    /// The body ended.
    Done,
    /// The framing is broken (a bad chunk size, …).
    Invalid(&'static str),
}

/// Consumes body bytes from `side` into `msg` according to `framing`, updating the side's state.
pub(super) fn read_body(
    side: &mut Side,
    mut framing: Framing,
    msg: &mut Msg,
    meta: ChunkMeta,
    max_body: usize,
) -> BodyStep {
    loop {
        let rest = side.rest();
        match framing {
            Framing::UntilClose => {
                let len = rest.len();
                msg.take_body(rest.get(..len).unwrap_or_default(), meta, max_body);
                side.pos += len;
                side.state = State::Body(framing);
                return BodyStep::NeedMore;
            }
            Framing::Length(remaining) => {
                let take = usize::try_from(remaining)
                    .unwrap_or(usize::MAX)
                    .min(rest.len());
                if take > 0 {
                    msg.expect_body(remaining, max_body);
                }
                msg.take_body(rest.get(..take).unwrap_or_default(), meta, max_body);
                side.pos += take;
                let left = remaining - take as u64;
                if left == 0 {
                    return BodyStep::Done;
                }
                side.state = State::Body(Framing::Length(left));
                return BodyStep::NeedMore;
            }
            Framing::Chunked(part) => {
                let next = match part {
                    ChunkPart::Size => {
                        let Some(end) = rest.iter().position(|&b| b == b'\n') else {
                            if rest.len() > 1024 {
                                return BodyStep::Invalid("chunk size line too long");
                            }
                            side.state = State::Body(framing);
                            return BodyStep::NeedMore;
                        };
                        let Some(size) = chunk_size(rest.get(..end).unwrap_or_default()) else {
                            return BodyStep::Invalid("bad chunk size");
                        };
                        side.pos += end + 1;
                        msg.framing_bytes += end as u64 + 1;
                        if size == 0 {
                            ChunkPart::Trailers
                        } else {
                            ChunkPart::Data(size)
                        }
                    }
                    ChunkPart::Data(remaining) => {
                        if rest.is_empty() {
                            side.state = State::Body(framing);
                            return BodyStep::NeedMore;
                        }
                        let take = usize::try_from(remaining)
                            .unwrap_or(usize::MAX)
                            .min(rest.len());
                        msg.take_body(rest.get(..take).unwrap_or_default(), meta, max_body);
                        side.pos += take;
                        let left = remaining - take as u64;
                        if left == 0 {
                            ChunkPart::DataEnd
                        } else {
                            ChunkPart::Data(left)
                        }
                    }
                    ChunkPart::DataEnd => {
                        let Some(end) = rest.iter().position(|&b| b == b'\n') else {
                            if rest.len() > 2 {
                                return BodyStep::Invalid("missing CRLF after chunk");
                            }
                            side.state = State::Body(framing);
                            return BodyStep::NeedMore;
                        };
                        side.pos += end + 1;
                        msg.framing_bytes += end as u64 + 1;
                        ChunkPart::Size
                    }
                    ChunkPart::Trailers => {
                        let Some(end) = rest.iter().position(|&b| b == b'\n') else {
                            if rest.len() > MAX_HEADER_BLOCK {
                                return BodyStep::Invalid("trailers too long");
                            }
                            side.state = State::Body(framing);
                            return BodyStep::NeedMore;
                        };
                        let blank = rest
                            .get(..end)
                            .is_some_and(|l| l.iter().all(|b| *b == b'\r'));
                        side.pos += end + 1;
                        msg.framing_bytes += end as u64 + 1;
                        if blank {
                            msg.end = Some(meta);
                            return BodyStep::Done;
                        }
                        ChunkPart::Trailers
                    }
                };
                framing = Framing::Chunked(next);
            }
        }
    }
}

/// The size on a chunk-size line (hex digits, then maybe `;extensions`), without the line end.
fn chunk_size(line: &[u8]) -> Option<u64> {
    let digits = line.split(|&b| b == b';').next()?.trim_ascii();
    u64::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::chunk_size;

    #[test]
    fn chunk_sizes_are_hex_with_extensions_and_spaces_ignored() {
        assert_eq!(chunk_size(b"1a"), Some(26));
        assert_eq!(chunk_size(b" FF ;name=value\r"), Some(255));
        assert_eq!(chunk_size(b"0\r"), Some(0));
        assert_eq!(chunk_size(b"zz\r"), None);
        assert_eq!(chunk_size(b"\xff1\r"), None);
        assert_eq!(chunk_size(b""), None);
    }
}
