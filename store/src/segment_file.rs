//! One PCAP segment file: classic PCAP, little-endian, nanosecond timestamps, one link type.
//!
//! The writer tracks the byte offset of every record so the index can point export straight at a
//! packet; the reader walks a file record by record and stops at the first record that is cut
//! short or malformed, reporting how many bytes were whole (crash recovery truncates there).

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use pcap_file::pcap::{PcapHeader, PcapParser};
use pcap_file::{DataLink, Endianness, TsResolution};

use crate::error::{IoContext, StoreError};
use crate::no_follow;

/// Size of the PCAP file header.
pub(crate) const FILE_HEADER_LEN: u64 = 24;
/// Size of a PCAP record header.
const RECORD_HEADER_LEN: u64 = 16;
/// Largest packet kept (Wireshark's maximum snapshot length); longer packets are cut.
pub(crate) const MAX_SNAPLEN: u32 = 262_144;
/// Write buffer: big enough that capture never waits on small writes.
const WRITE_BUFFER: usize = 1 << 20;
const NS_PER_SEC: i64 = 1_000_000_000;

/// A segment being written (`.pcap.part`).
pub(crate) struct SegmentWriter {
    path: PathBuf,
    out: BufWriter<File>,
    /// Bytes in the file so far, including what is still buffered.
    len: u64,
}

impl SegmentWriter {
    /// Creates `path` and writes the PCAP header for `linktype`.
    pub fn create(path: PathBuf, linktype: u32) -> Result<Self, StoreError> {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .at(&path)?;
        let mut out = BufWriter::with_capacity(WRITE_BUFFER, file);
        pcap_header(linktype)
            .write_to(&mut out)
            .map_err(|e| pcap_write_error(&path, e))?;
        Ok(SegmentWriter {
            path,
            out,
            len: FILE_HEADER_LEN,
        })
    }

    /// Appends one record and returns its byte offset. Packets longer than [`MAX_SNAPLEN`] are cut.
    pub fn append(&mut self, ts_ns: i64, orig_len: u32, data: &[u8]) -> Result<u64, StoreError> {
        let data = data.get(..MAX_SNAPLEN as usize).unwrap_or(data);
        let header = record_header(ts_ns, orig_len, data)?;
        let offset = self.len;
        self.out.write_all(&header).at(&self.path)?;
        self.out.write_all(data).at(&self.path)?;
        self.len += RECORD_HEADER_LEN + data.len() as u64;
        Ok(offset)
    }

    /// Bytes written so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Hands buffered records to the operating system (no fsync: capture never waits on the disk).
    pub fn flush(&mut self) -> Result<(), StoreError> {
        self.out.flush().at(&self.path)
    }

    /// Flushes the last records and returns what is left of sealing, to run off the capture path.
    pub fn close(mut self, sealed: PathBuf) -> Result<SealJob, StoreError> {
        self.out.flush().at(&self.path)?;
        let file = self
            .out
            .into_inner()
            .map_err(|e| StoreError::io(&self.path, e.into_error()))?;
        Ok(SealJob {
            file,
            part: self.path,
            sealed,
        })
    }
}

/// The slow half of sealing a segment: sync it, rename it, sync the directory.
pub(crate) struct SealJob {
    file: File,
    part: PathBuf,
    sealed: PathBuf,
}

impl SealJob {
    /// Syncs and renames the file, then syncs the directory.
    pub fn run(self) -> Result<(), StoreError> {
        self.file.sync_all().at(&self.part)?;
        std::fs::rename(&self.part, &self.sealed).at(&self.sealed)?;
        if let Some(dir) = self.sealed.parent() {
            File::open(dir).and_then(|d| d.sync_all()).at(dir)?;
        }
        Ok(())
    }
}

/// The file header of every segment and export: classic PCAP 2.4, little-endian, nanoseconds.
pub(crate) fn pcap_header(linktype: u32) -> PcapHeader {
    PcapHeader {
        version_major: 2,
        version_minor: 4,
        ts_correction: 0,
        ts_accuracy: 0,
        snaplen: MAX_SNAPLEN,
        datalink: DataLink::from(linktype),
        ts_resolution: TsResolution::NanoSecond,
        endianness: Endianness::Little,
    }
}

/// The record header for a packet of `data` (at most [`MAX_SNAPLEN`] bytes) captured at `ts_ns`.
pub(crate) fn record_header(
    ts_ns: i64,
    orig_len: u32,
    data: &[u8],
) -> Result<[u8; 16], StoreError> {
    let (secs, nanos) = split_timestamp(ts_ns)?;
    let incl_len = u32::try_from(data.len()).unwrap_or(u32::MAX);
    let mut header = [0u8; RECORD_HEADER_LEN as usize];
    header[0..4].copy_from_slice(&secs.to_le_bytes());
    header[4..8].copy_from_slice(&nanos.to_le_bytes());
    header[8..12].copy_from_slice(&incl_len.to_le_bytes());
    header[12..16].copy_from_slice(&orig_len.max(incl_len).to_le_bytes());
    Ok(header)
}

fn pcap_write_error(path: &Path, e: pcap_file::PcapError) -> StoreError {
    match e {
        pcap_file::PcapError::IoError(io) => StoreError::io(path, io),
        other => StoreError::io(path, std::io::Error::other(other.to_string())),
    }
}

/// Splits nanoseconds since the epoch into classic PCAP's unsigned seconds and nanoseconds; an
/// error for a time classic PCAP cannot hold.
pub(crate) fn split_timestamp(ts_ns: i64) -> Result<(u32, u32), StoreError> {
    if ts_ns < 0 {
        return Err(StoreError::BadPacket {
            ts_ns,
            reason: "timestamps before 1970 do not fit classic PCAP",
        });
    }
    let secs = u32::try_from(ts_ns / NS_PER_SEC).map_err(|_| StoreError::BadPacket {
        ts_ns,
        reason: "timestamps after 2106 do not fit classic PCAP",
    })?;
    Ok((secs, (ts_ns % NS_PER_SEC) as u32))
}

/// One record read from a segment.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Record<'a> {
    /// Byte offset of the record header in the file.
    pub offset: u64,
    /// Capture time, ns since the epoch.
    pub ts_ns: i64,
    /// Length on the wire.
    pub orig_len: u32,
    /// Captured bytes.
    pub data: &'a [u8],
}

/// A whole segment file read into memory (segments are bounded by `--segment-size`).
pub(crate) struct SegmentData {
    bytes: Vec<u8>,
    parser: PcapParser,
}

impl SegmentData {
    /// Reads and checks the header of `path`.
    pub fn read(path: &Path) -> Result<Self, StoreError> {
        let bytes = no_follow::read(path).at(path)?;
        let parser = parse_header(path, &bytes)?;
        Ok(SegmentData { bytes, parser })
    }

    /// The segment's link type.
    pub fn linktype(&self) -> u32 {
        u32::from(self.parser.header().datalink)
    }

    /// The whole records, in order; stops at the first one cut short or malformed.
    pub fn records(&self) -> Records<'_> {
        Records {
            data: self,
            offset: FILE_HEADER_LEN,
        }
    }

    /// The record at byte `offset`, or `None` when no whole record is there.
    pub fn record_at(&self, offset: u64) -> Option<Record<'_>> {
        let rest = self.bytes.get(usize::try_from(offset).ok()?..)?;
        parse_record(&self.parser, offset, rest)
    }

    /// Bytes in the file.
    pub fn file_len(&self) -> u64 {
        self.bytes.len() as u64
    }
}

/// Iterator over a segment's whole records; [`Records::whole_len`] tells where they end.
pub(crate) struct Records<'a> {
    data: &'a SegmentData,
    offset: u64,
}

impl Records<'_> {
    /// Bytes of the file up to the end of the last record returned so far.
    pub fn whole_len(&self) -> u64 {
        self.offset
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Record<'a>;

    fn next(&mut self) -> Option<Record<'a>> {
        let record = self.data.record_at(self.offset)?;
        self.offset += record_len(&record);
        Some(record)
    }
}

/// Bytes `record` takes in the file, header included.
pub(crate) fn record_len(record: &Record<'_>) -> u64 {
    RECORD_HEADER_LEN + record.data.len() as u64
}

fn parse_header(path: &Path, bytes: &[u8]) -> Result<PcapParser, StoreError> {
    let (_, parser) = PcapParser::new(bytes).map_err(|e| {
        StoreError::io(
            path,
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("not a PCAP segment: {e}"),
            ),
        )
    })?;
    Ok(parser)
}

/// Parses the record at the start of `slice`, or `None` when it is cut short or malformed.
fn parse_record<'a>(parser: &PcapParser, offset: u64, slice: &'a [u8]) -> Option<Record<'a>> {
    let (_, raw) = parser.next_raw_packet(slice).ok()?;
    let header = parser.header();
    let frac_ns = match header.ts_resolution {
        TsResolution::NanoSecond => i64::from(raw.ts_frac),
        TsResolution::MicroSecond => i64::from(raw.ts_frac) * 1000,
    };
    if frac_ns >= NS_PER_SEC || raw.incl_len > MAX_SNAPLEN.max(header.snaplen) {
        return None;
    }
    let len = raw.data.len();
    let data = slice.get(RECORD_HEADER_LEN as usize..RECORD_HEADER_LEN as usize + len)?;
    Some(Record {
        offset,
        ts_ns: i64::from(raw.ts_sec) * NS_PER_SEC + frac_ns,
        orig_len: raw.orig_len,
        data,
    })
}

/// Bytes read at once by [`SegmentFile`]: records read in ascending order (an export, bodies read
/// back) mostly come from the bytes already read.
const READ_AHEAD: usize = 256 << 10;

/// Random access to records of one sealed (or recovered) segment, for export and bodies read back:
/// reads ahead, so records read in file order cost one system call per [`READ_AHEAD`] bytes.
pub(crate) struct SegmentFile {
    path: PathBuf,
    file: File,
    parser: PcapParser,
    /// Bytes of the file from `buf_at` on.
    buf: Vec<u8>,
    buf_at: u64,
}

impl SegmentFile {
    /// Opens `path` and checks its header.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let mut file = no_follow::open_read(path).at(path)?;
        let mut header = [0u8; FILE_HEADER_LEN as usize];
        file.read_exact(&mut header).at(path)?;
        let parser = parse_header(path, &header)?;
        Ok(SegmentFile {
            path: path.to_path_buf(),
            file,
            parser,
            buf: Vec::new(),
            buf_at: 0,
        })
    }

    /// The segment's link type.
    pub fn linktype(&self) -> u32 {
        u32::from(self.parser.header().datalink)
    }

    /// Reads the record at `offset`; `None` when no whole record is there (a cut segment).
    pub fn read_at(&mut self, offset: u64) -> Result<Option<Record<'_>>, StoreError> {
        let head_len = RECORD_HEADER_LEN as usize;
        let Some(head) = self.read_ahead(offset, head_len)? else {
            return Ok(None);
        };
        let incl_len = u32::from_le_bytes([head[8], head[9], head[10], head[11]]);
        let incl_len = match self.parser.header().endianness {
            Endianness::Little => incl_len,
            Endianness::Big => incl_len.swap_bytes(),
        };
        if incl_len > MAX_SNAPLEN {
            return Ok(None);
        }
        let len = head_len + incl_len as usize;
        if self.read_ahead(offset, len)?.is_none() {
            return Ok(None);
        }
        Ok(at_hand(&self.buf, self.buf_at, offset, len)
            .and_then(|record| parse_record(&self.parser, offset, record)))
    }

    /// The `len` bytes at `offset`, reading ahead from there when they are not at hand; `None`
    /// past the end of the file.
    fn read_ahead(&mut self, offset: u64, len: usize) -> Result<Option<&[u8]>, StoreError> {
        if at_hand(&self.buf, self.buf_at, offset, len).is_none() {
            self.file.seek(SeekFrom::Start(offset)).at(&self.path)?;
            self.buf.clear();
            (&mut self.file)
                .take(READ_AHEAD.max(len) as u64)
                .read_to_end(&mut self.buf)
                .at(&self.path)?;
            self.buf_at = offset;
        }
        Ok(at_hand(&self.buf, self.buf_at, offset, len))
    }
}

/// The `len` bytes at file offset `offset` in `buf`, which holds the file's bytes from `buf_at`.
fn at_hand(buf: &[u8], buf_at: u64, offset: u64, len: usize) -> Option<&[u8]> {
    let start = usize::try_from(offset.checked_sub(buf_at)?).ok()?;
    buf.get(start..start.checked_add(len)?)
}

/// Cuts `path` to `len` bytes (dropping a partly written record) and syncs it.
pub(crate) fn truncate(path: &Path, len: u64) -> Result<(), StoreError> {
    let file = no_follow::options().write(true).open(path).at(path)?;
    file.set_len(len).at(path)?;
    file.sync_all().at(path)
}
