//! Index blocks' zstd (format 6, written since schema version 11), each way in one call, with a
//! compressor and a decompressor each thread keeps and reuses: a new context per block would
//! allocate and set up its tables every time, as a new deflate compressor per block did (~7 % of an
//! import's instructions).
//!
//! zstd replaced deflate for new blocks because deflating was 28 % of an import's CPU and
//! inflating up to 15 % of a query's (BENCHMARKS.md, "Index blocks compressed with zstd").
//!
//! Decompression is bounded: a block's frame must state its size, which must be at most
//! [`MAX_RAW`]; the output is reserved at that size once and zstd never writes past it, so a
//! damaged or hostile block is an error, never a panic or an unbounded allocation.

use std::cell::RefCell;
use std::io::{Cursor, Error, Result};

use zstd::bulk::{Compressor, Decompressor};
use zstd::zstd_safe;

/// The zstd level of new blocks (chosen by measurement, BENCHMARKS.md, "Index blocks compressed
/// with zstd").
const LEVEL: i32 = 3;

/// The largest block, uncompressed, that is written or read: a block is 128 entries whose texts
/// the dissectors bound far below this, so a frame claiming more is damaged.
pub(crate) const MAX_RAW: usize = 256 << 20;

thread_local! {
    /// The thread's compressor, made on first use and reused for every block.
    static COMPRESSOR: RefCell<Option<Compressor<'static>>> = const { RefCell::new(None) };
    /// The thread's decompressor, made on first use and reused for every block.
    static DECOMPRESSOR: RefCell<Option<Decompressor<'static>>> = const { RefCell::new(None) };
}

/// `prefix`, then `raw` as one zstd frame that states its size. Fails if `raw` is over
/// [`MAX_RAW`] (no reader would take it) or zstd cannot make a context.
pub(crate) fn compress(prefix: &[u8], raw: &[u8]) -> Result<Vec<u8>> {
    if raw.len() > MAX_RAW {
        return Err(Error::other(format!(
            "a block of {} bytes, over the {MAX_RAW} a reader takes",
            raw.len()
        )));
    }
    COMPRESSOR.with_borrow_mut(|slot| {
        let compressor = match slot {
            Some(compressor) => compressor,
            None => slot.insert(Compressor::new(LEVEL)?),
        };
        let mut data = Vec::with_capacity(prefix.len() + zstd_safe::compress_bound(raw.len()));
        data.extend_from_slice(prefix);
        // The frame goes after the prefix, into the room reserved for the worst case.
        let mut out = Cursor::new(data);
        out.set_position(prefix.len() as u64);
        compressor.compress_to_buffer(raw, &mut out)?;
        Ok(out.into_inner())
    })
}

/// The bytes the zstd frame `data` holds, failing on a damaged or cut frame, one that does not
/// state its size or states more than [`MAX_RAW`], or bytes after it.
pub(crate) fn decompress(data: &[u8]) -> std::result::Result<Vec<u8>, String> {
    let size = match zstd_safe::get_frame_content_size(data) {
        Ok(Some(size)) => size,
        Ok(None) => return Err("zstd frame without its size".into()),
        Err(_) => return Err("not a zstd frame, or cut short".into()),
    };
    let size = usize::try_from(size)
        .ok()
        .filter(|&size| size <= MAX_RAW)
        .ok_or_else(|| format!("zstd frame claims {size} bytes, over {MAX_RAW}"))?;
    match zstd_safe::find_frame_compressed_size(data) {
        Ok(len) if len == data.len() => {}
        Ok(len) => return Err(format!("{} bytes after the zstd frame", data.len() - len)),
        Err(code) => return Err(format!("zstd: {}", zstd_safe::get_error_name(code))),
    }
    DECOMPRESSOR.with_borrow_mut(|slot| {
        let decompressor = match slot {
            Some(decompressor) => decompressor,
            None => slot.insert(Decompressor::new().map_err(|e| e.to_string())?),
        };
        let mut out = Vec::with_capacity(size);
        let written = decompressor
            .decompress_to_buffer(data, &mut out)
            .map_err(|e| format!("zstd: {e}"))?;
        match written == size {
            true => Ok(out),
            false => Err(format!(
                "zstd frame gave {written} bytes of the {size} it claims"
            )),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes zstd cannot shrink.
    fn noise(len: usize) -> Vec<u8> {
        let mut state = 0x2545_f491_u32;
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state as u8
            })
            .collect()
    }

    #[test]
    fn blocks_of_very_different_sizes_round_trip_one_after_another() {
        // The same compressor and decompressor for each: big, empty, tiny, highly repetitive,
        // incompressible, then small again.
        let repeated = b"GET /api/orders HTTP/1.1\r\n".repeat(40_000);
        let blocks: [&[u8]; 6] = [
            &noise(1 << 20),
            b"",
            b"x",
            &repeated,
            &noise(300),
            b"SELECT 1",
        ];
        for raw in blocks {
            let data = compress(b"SK6\xff", raw).unwrap();
            assert_eq!(data.get(..4), Some(&b"SK6\xff"[..]));
            assert_eq!(decompress(&data[4..]).unwrap(), raw, "{} bytes", raw.len());
        }
        assert!(compress(b"", &repeated).unwrap().len() < repeated.len() / 100);
    }

    #[test]
    fn damaged_or_cut_frames_are_errors_and_the_next_frame_still_reads() {
        let raw = b"SELECT * FROM accounts WHERE id = 42".repeat(50);
        let data = compress(b"", &raw).unwrap();
        for cut in 0..data.len() {
            assert!(decompress(&data[..cut]).is_err(), "cut at {cut}");
            assert_eq!(decompress(&data).unwrap(), raw);
        }
        for at in 0..data.len() {
            let mut bad = data.clone();
            bad[at] ^= 0x5a;
            // Damage past the header may go unseen (there is no checksum), but never panics.
            let _ = decompress(&bad);
            assert_eq!(decompress(&data).unwrap(), raw);
        }
        let mut trailing = data.clone();
        trailing.push(0);
        assert!(
            decompress(&trailing)
                .unwrap_err()
                .contains("after the zstd frame")
        );
        assert!(decompress(&[0xff; 40]).is_err());
        assert_eq!(decompress(&data).unwrap(), raw);
    }

    #[test]
    fn frames_claiming_too_much_or_no_size_are_refused_before_allocating() {
        // A frame stating MAX_RAW + 1 bytes, refused from its header alone: the magic, the frame
        // header descriptor (an 8-byte content size, single segment), the size.
        let mut header = vec![0x28, 0xb5, 0x2f, 0xfd, 0xe0];
        header.extend_from_slice(&(MAX_RAW as u64 + 1).to_le_bytes());
        let error = decompress(&header).unwrap_err();
        assert!(error.contains("claims"), "{error}");
        // At the cap itself the claim is taken, and the cut frame is then an error.
        let mut header = vec![0x28, 0xb5, 0x2f, 0xfd, 0xe0];
        header.extend_from_slice(&(MAX_RAW as u64).to_le_bytes());
        assert!(!decompress(&header).unwrap_err().contains("claims"));
        // A frame that does not state its size (as a streaming writer makes it).
        let mut encoder = zstd::stream::Encoder::new(Vec::new(), LEVEL).unwrap();
        std::io::Write::write_all(&mut encoder, b"abc").unwrap();
        let streamed = encoder.finish().unwrap();
        assert_eq!(
            decompress(&streamed).unwrap_err(),
            "zstd frame without its size"
        );
        assert!(compress(b"", &vec![0; MAX_RAW + 1]).is_err());
    }
}
