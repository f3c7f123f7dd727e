//! Classic pcap (libpcap) files: µs or ns timestamps, either byte order, and the "modified" variant.

use super::error::SourceError;
use super::reader::{Fill, Reader, check_link_type};
use crate::OwnedPacket;

/// Largest record the reader accepts; a larger length means a corrupt header, not a packet.
const MAX_RECORD: u32 = 1 << 20;

/// Reads records after the 24-byte file header.
pub(crate) struct ClassicReader {
    big_endian: bool,
    nanos: bool,
    /// The "modified" (Alexey Kuznetsov) format adds 8 bytes to each record header.
    extra_header: usize,
    linktype: u32,
}

impl ClassicReader {
    /// Recognises the magic and reads the rest of the file header; `None` if it is not classic pcap.
    pub(crate) fn open(magic: [u8; 4], reader: &mut Reader) -> Result<Option<Self>, SourceError> {
        let (big_endian, nanos, extra_header) = match magic {
            [0xd4, 0xc3, 0xb2, 0xa1] => (false, false, 0),
            [0xa1, 0xb2, 0xc3, 0xd4] => (true, false, 0),
            [0x4d, 0x3c, 0xb2, 0xa1] => (false, true, 0),
            [0xa1, 0xb2, 0x3c, 0x4d] => (true, true, 0),
            [0x34, 0xcd, 0xb2, 0xa1] => (false, false, 8),
            [0xa1, 0xb2, 0xcd, 0x34] => (true, false, 8),
            _ => return Ok(None),
        };
        let mut rest = [0u8; 20];
        match reader.fill(&mut rest)? {
            Fill::Full => {}
            Fill::Eof | Fill::Short => return Err(reader.truncated(0)),
        }
        let word = |at: usize| read_u32(&rest, at, big_endian);
        // The link type's upper bits may carry FCS information; the type is the low 16 bits.
        let linktype = word(16) & 0xffff;
        check_link_type(reader, linktype)?;
        Ok(Some(ClassicReader {
            big_endian,
            nanos,
            extra_header,
            linktype,
        }))
    }

    /// Reads the next record into `packet` (reusing its buffer); `false` at a clean end of file.
    pub(crate) fn next_into(
        &mut self,
        reader: &mut Reader,
        packet: &mut OwnedPacket,
    ) -> Result<bool, SourceError> {
        let start = reader.offset();
        let Some(record) = self.header(reader)? else {
            return Ok(false);
        };
        packet.data.clear();
        packet.data.resize(record.incl_len as usize, 0);
        match reader.fill(&mut packet.data)? {
            Fill::Full => {}
            Fill::Eof | Fill::Short if record.incl_len > 0 => return Err(reader.truncated(start)),
            Fill::Eof | Fill::Short => {}
        }
        packet.ts_ns = record.ts_ns;
        packet.orig_len = record.orig_len.max(record.incl_len);
        packet.linktype = self.linktype;
        Ok(true)
    }

    /// Checks the next record's framing without copying its bytes; `false` at a clean end of file.
    pub(crate) fn skip(&mut self, reader: &mut Reader) -> Result<bool, SourceError> {
        let start = reader.offset();
        let Some(record) = self.header(reader)? else {
            return Ok(false);
        };
        match reader.skip(u64::from(record.incl_len))? {
            Fill::Full => Ok(true),
            Fill::Eof | Fill::Short if record.incl_len > 0 => Err(reader.truncated(start)),
            Fill::Eof | Fill::Short => Ok(true),
        }
    }

    /// Reads a record header; `None` at a clean end of file.
    fn header(&mut self, reader: &mut Reader) -> Result<Option<RecordHeader>, SourceError> {
        let start = reader.offset();
        let mut header = [0u8; 24];
        let header = header.get_mut(..16 + self.extra_header).unwrap_or(&mut []);
        match reader.fill(header)? {
            Fill::Full => {}
            Fill::Eof => return Ok(None),
            Fill::Short => return Err(reader.truncated(start)),
        }
        let seconds = i64::from(read_u32(header, 0, self.big_endian));
        let fraction = i64::from(read_u32(header, 4, self.big_endian));
        let incl_len = read_u32(header, 8, self.big_endian);
        let orig_len = read_u32(header, 12, self.big_endian);
        if incl_len > MAX_RECORD {
            return Err(reader.malformed(start, format!("record claims {incl_len} captured bytes")));
        }
        let fraction_ns = if self.nanos {
            fraction
        } else {
            fraction.saturating_mul(1000)
        };
        let ts_ns = seconds
            .saturating_mul(1_000_000_000)
            .saturating_add(fraction_ns);
        Ok(Some(RecordHeader {
            ts_ns,
            incl_len,
            orig_len,
        }))
    }
}

/// A record header's fields.
struct RecordHeader {
    ts_ns: i64,
    incl_len: u32,
    orig_len: u32,
}

fn read_u32(bytes: &[u8], at: usize, big_endian: bool) -> u32 {
    let mut word = [0u8; 4];
    if let Some(src) = bytes.get(at..at + 4) {
        word.copy_from_slice(src);
    }
    if big_endian {
        u32::from_be_bytes(word)
    } else {
        u32::from_le_bytes(word)
    }
}
