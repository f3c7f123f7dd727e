//! What the dissectors' unit tests share: a chunk's metadata, feeding bytes in pieces as TCP may
//! deliver them, and the wire sizes the exchanges report.

use serde_json::Value;

use super::{ChunkMeta, Direction, Exchange, Parser};

/// Metadata for a chunk whose time and packet do not matter to the test.
pub(crate) const META: ChunkMeta = ChunkMeta {
    ts_ns: 1,
    packet: 1,
};

/// Feeds `bytes` to `parser` in `dir`, `piece` bytes at a time (`usize::MAX`: whole).
pub(crate) fn feed_in_pieces(
    parser: &mut dyn Parser,
    dir: Direction,
    bytes: &[u8],
    piece: usize,
    out: &mut Vec<Exchange>,
) {
    for chunk in bytes.chunks(piece.clamp(1, bytes.len().max(1))) {
        parser.feed(dir, chunk, META, out);
    }
}

/// Each exchange's request and response `size`, in order.
pub(crate) fn sizes(out: &[Exchange]) -> Vec<(Option<Value>, Option<Value>)> {
    out.iter()
        .map(|e| {
            (
                e.request.get("size").cloned(),
                e.response.get("size").cloned(),
            )
        })
        .collect()
}
