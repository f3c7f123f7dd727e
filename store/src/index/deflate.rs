//! Inflating the raw deflate of blocks of formats 4 and 5, which builds of schema versions 9 and
//! 10 wrote (new blocks are compressed with zstd, [`zstd_block`](super::zstd_block)), and of flow
//! [`locations`](super::locations), which stay deflated: in one call with an inflater each thread
//! keeps and resets.
//!
//! A narrow window inflates one block per matching entry, and a block inflated through
//! `flate2::read::DeflateDecoder` paid 40 % on top of the inflating itself: a new inflater and its
//! buffers zeroed, and `read_to_end` zeroing the output it grew and copying it as it grew
//! (BENCHMARKS.md, "The narrow window: one inflate call per block"). Here the inflater is reset, not
//! rebuilt, and writes straight into output reserved for most blocks' size.

use std::cell::RefCell;

use flate2::{Decompress, FlushDecompress, Status};

/// Output reserved per byte of deflate data before inflating: blocks of the benchmark slices
/// inflate to 3–10 times their size (medians 3.1 HTTP, 4.6 Redis, 7.0 PostgreSQL); the few that
/// need more grow their output.
const EXPANSION: usize = 8;

thread_local! {
    /// The thread's raw-deflate inflater, reset before each block.
    static INFLATER: RefCell<Decompress> = RefCell::new(Decompress::new(false));
}

/// The bytes that the raw deflate stream `data` holds, failing on a damaged or cut stream.
pub(crate) fn inflate(data: &[u8]) -> Result<Vec<u8>, String> {
    INFLATER.with_borrow_mut(|inflater| {
        inflater.reset(false);
        let mut out = Vec::with_capacity(data.len().saturating_mul(EXPANSION).max(64));
        loop {
            let read = usize::try_from(inflater.total_in()).unwrap_or(usize::MAX);
            let written = out.len();
            let rest = data.get(read..).unwrap_or_default();
            let status = inflater
                .decompress_vec(rest, &mut out, FlushDecompress::Finish)
                .map_err(|e| e.to_string())?;
            match status {
                Status::StreamEnd => return Ok(out),
                _ if out.len() == out.capacity() => out.reserve(out.capacity()),
                // Room left, yet nothing more came out of what input is left: the stream is cut.
                _ if out.len() == written => return Err("deflate data cut short".into()),
                _ => {}
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::Compression;
    use flate2::write::DeflateEncoder;

    use super::*;

    fn deflated(raw: &[u8]) -> Vec<u8> {
        let mut encoder = DeflateEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(raw).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn blocks_inflate_whatever_they_expand_to_one_after_another() {
        // Random-ish bytes barely shrink; repeats expand far past the reserve and must grow it.
        let noisy: Vec<u8> = (0u32..5_000)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect();
        let repeated = b"GET /api/orders HTTP/1.1\r\n".repeat(4_000);
        for raw in [&noisy[..], &repeated, b"", &noisy] {
            assert_eq!(inflate(&deflated(raw)).unwrap(), raw);
        }
    }

    #[test]
    fn damaged_or_cut_data_is_an_error_and_the_next_block_still_inflates() {
        let raw = b"SELECT * FROM accounts WHERE id = 42".repeat(50);
        let data = deflated(&raw);
        for cut in 0..data.len() {
            assert!(inflate(&data[..cut]).is_err(), "cut at {cut}");
            assert_eq!(inflate(&data).unwrap(), raw);
        }
        assert!(inflate(&[0xff; 40]).is_err());
        assert_eq!(inflate(&data).unwrap(), raw);
    }
}
