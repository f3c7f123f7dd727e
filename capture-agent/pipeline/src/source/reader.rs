//! The byte-counting reader both capture formats read through, so errors can say where in the
//! file they happened.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::PathBuf;

use super::error::SourceError;
use crate::decode::link_type_supported;

/// Byte-counting reader shared by both formats, so errors can say where they happened.
pub(crate) struct Reader {
    inner: BufReader<File>,
    path: PathBuf,
    /// The file's length when opened (how far [`Reader::skip`] may go).
    len: u64,
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
    /// Opens `path` for reading from its start; a missing file and an unreadable one are told apart.
    pub(crate) fn open(path: PathBuf) -> Result<Reader, SourceError> {
        let file = File::open(&path).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => SourceError::NotFound { path: path.clone() },
            _ => SourceError::Unreadable {
                path: path.clone(),
                source,
            },
        })?;
        let len = file.metadata().map_or(u64::MAX, |meta| meta.len());
        Ok(Reader {
            inner: BufReader::with_capacity(1 << 20, file),
            path,
            len,
            offset: 0,
            packets: 0,
        })
    }

    /// The file is not a capture: the error naming it.
    pub(crate) fn not_a_capture(self) -> SourceError {
        SourceError::NotACapture { path: self.path }
    }

    /// One more packet was read (errors say how many came before them).
    pub(crate) fn count_packet(&mut self) {
        self.packets += 1;
    }

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

    /// Moves `n` bytes on without reading them (within the buffer, or by seeking past it),
    /// telling a clean end of file from a short one as [`Reader::fill`] does.
    pub(crate) fn skip(&mut self, n: u64) -> Result<Fill, SourceError> {
        let left = self.len.saturating_sub(self.offset);
        if n > left {
            return Ok(if left == 0 { Fill::Eof } else { Fill::Short });
        }
        let by = i64::try_from(n).unwrap_or(i64::MAX);
        self.inner
            .seek_relative(by)
            .map_err(|source| SourceError::Unreadable {
                path: self.path.clone(),
                source,
            })?;
        self.offset += n;
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

    /// Packets read so far.
    pub(crate) fn packets(&self) -> u64 {
        self.packets
    }

    pub(crate) fn offset(&self) -> u64 {
        self.offset
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
