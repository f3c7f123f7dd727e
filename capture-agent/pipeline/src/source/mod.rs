//! Reading captures from files: classic pcap and pcapng, one packet at a time.

mod classic;
mod pcapng;

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use crate::OwnedPacket;
use crate::decode::link_type_supported;

/// Why a capture file could not be read. Each message names the file and says what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The file does not exist.
    #[error("{} does not exist", .path.display())]
    NotFound {
        /// The file asked for.
        path: PathBuf,
    },
    /// The file exists but could not be read (permissions, a directory, an I/O error).
    #[error("cannot read {}: {source}", .path.display())]
    Unreadable {
        /// The file asked for.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The file does not start like a pcap or pcapng file.
    #[error("{} is not a pcap or pcapng file", .path.display())]
    NotACapture {
        /// The file asked for.
        path: PathBuf,
    },
    /// The file ends in the middle of a record.
    #[error("{} is cut off mid-record at byte {offset} (after packet {packets})", .path.display())]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Byte offset where the incomplete record starts.
        offset: u64,
        /// Packets read before it.
        packets: u64,
    },
    /// A record or block header holds impossible values (a length too large or too small).
    #[error("{} has a malformed record at byte {offset} (after packet {packets}): {reason}", .path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// Byte offset of the bad record.
        offset: u64,
        /// Packets read before it.
        packets: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// The capture's link-layer type is one the decoder does not know.
    #[error("{} uses link type {linktype}, which is not supported (Ethernet, Linux cooked SLL/SLL2, raw IP and BSD loopback are)", .path.display())]
    UnsupportedLinkType {
        /// The file.
        path: PathBuf,
        /// LINKTYPE_* number found.
        linktype: u32,
    },
}

/// Packets from a capture file (classic pcap in µs or ns resolution and either byte order, the
/// "modified" pcap variant, or pcapng). An iterator of packets; after an error it ends.
pub struct FileSource {
    format: Format,
    reader: Reader,
    done: bool,
}

enum Format {
    Classic(classic::ClassicReader),
    PcapNg(pcapng::PcapNgReader),
}

/// Byte-counting reader shared by both formats, so errors can say where they happened.
pub(crate) struct Reader {
    inner: BufReader<File>,
    path: PathBuf,
    offset: u64,
    packets: u64,
}

/// What a fill of `buf` found.
pub(crate) enum Fill {
    /// `buf` is full.
    Full,
    /// The file ended before the first byte.
    Eof,
    /// The file ended after some bytes but before `buf` was full.
    Short,
}

impl Reader {
    /// Reads exactly `buf.len()` bytes, telling a clean end of file from a short one.
    pub(crate) fn fill(&mut self, buf: &mut [u8]) -> Result<Fill, SourceError> {
        let mut got = 0;
        while got < buf.len() {
            let Some(rest) = buf.get_mut(got..) else {
                break;
            };
            match self.inner.read(rest) {
                Ok(0) => return Ok(if got == 0 { Fill::Eof } else { Fill::Short }),
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(SourceError::Unreadable {
                        path: self.path.clone(),
                        source,
                    });
                }
            }
        }
        self.offset += got as u64;
        Ok(Fill::Full)
    }

    pub(crate) fn truncated(&self, record_start: u64) -> SourceError {
        SourceError::Truncated {
            path: self.path.clone(),
            offset: record_start,
            packets: self.packets,
        }
    }

    pub(crate) fn malformed(&self, record_start: u64, reason: impl Into<String>) -> SourceError {
        SourceError::Malformed {
            path: self.path.clone(),
            offset: record_start,
            packets: self.packets,
            reason: reason.into(),
        }
    }

    pub(crate) fn unsupported(&self, linktype: u32) -> SourceError {
        SourceError::UnsupportedLinkType {
            path: self.path.clone(),
            linktype,
        }
    }

    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }
}

impl FileSource {
    /// Opens a capture file and reads its file header.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, SourceError> {
        let path = path.as_ref().to_path_buf();
        let file = File::open(&path).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => SourceError::NotFound { path: path.clone() },
            _ => SourceError::Unreadable {
                path: path.clone(),
                source,
            },
        })?;
        let mut reader = Reader {
            inner: BufReader::with_capacity(1 << 20, file),
            path,
            offset: 0,
            packets: 0,
        };
        let mut magic = [0u8; 4];
        match reader.fill(&mut magic)? {
            Fill::Full => {}
            Fill::Eof | Fill::Short => return Err(SourceError::NotACapture { path: reader.path }),
        }
        let format = if let Some(classic) = classic::ClassicReader::open(magic, &mut reader)? {
            Format::Classic(classic)
        } else if let Some(ng) = pcapng::PcapNgReader::open(magic, &mut reader)? {
            Format::PcapNg(ng)
        } else {
            return Err(SourceError::NotACapture { path: reader.path });
        };
        Ok(FileSource {
            format,
            reader,
            done: false,
        })
    }
}

impl Iterator for FileSource {
    type Item = Result<OwnedPacket, SourceError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let next = match &mut self.format {
            Format::Classic(c) => c.next(&mut self.reader),
            Format::PcapNg(n) => n.next(&mut self.reader),
        };
        match next {
            Ok(Some(packet)) => {
                self.reader.packets += 1;
                Some(Ok(packet))
            }
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// Checks a link type against the decoder, naming the file when it is not supported.
pub(crate) fn check_link_type(reader: &Reader, linktype: u32) -> Result<(), SourceError> {
    if link_type_supported(linktype) {
        Ok(())
    } else {
        Err(reader.unsupported(linktype))
    }
}
