//! Reading captures from files: classic pcap and pcapng, one packet at a time.

mod classic;
mod error;
mod pcapng;
mod reader;

use std::path::Path;

use crate::OwnedPacket;
pub use error::SourceError;
use reader::{Fill, Reader};

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

impl FileSource {
    /// Opens a capture file and reads its file header.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, SourceError> {
        let mut reader = Reader::open(path.as_ref().to_path_buf())?;
        let mut magic = [0u8; 4];
        match reader.fill(&mut magic)? {
            Fill::Full => {}
            Fill::Eof | Fill::Short => return Err(reader.not_a_capture()),
        }
        let format = if let Some(classic) = classic::ClassicReader::open(magic, &mut reader)? {
            Format::Classic(classic)
        } else if let Some(ng) = pcapng::PcapNgReader::open(magic, &mut reader)? {
            Format::PcapNg(ng)
        } else {
            return Err(reader.not_a_capture());
        };
        Ok(FileSource {
            format,
            reader,
            done: false,
        })
    }

    /// Reads the next packet into `packet`, reusing its buffer (no allocation per packet, unlike
    /// the iterator): `Ok(false)` at the end of the file, and after an error.
    pub fn next_into(&mut self, packet: &mut OwnedPacket) -> Result<bool, SourceError> {
        if self.done {
            return Ok(false);
        }
        let next = match &mut self.format {
            Format::Classic(c) => c.next_into(&mut self.reader, packet),
            Format::PcapNg(n) => n.next_into(&mut self.reader, packet),
        };
        match next {
            Ok(true) => {
                self.reader.count_packet();
                Ok(true)
            }
            Ok(false) => {
                self.done = true;
                Ok(false)
            }
            Err(e) => {
                self.done = true;
                Err(e)
            }
        }
    }

    /// Reads the whole file's framing and counts its packets: the error [`FileSource::next_into`]
    /// would meet, found before any packet is used. Classic pcap's packet bytes are skipped, not
    /// read.
    pub fn count_packets(path: impl AsRef<Path>) -> Result<u64, SourceError> {
        let mut source = FileSource::open(path)?;
        let mut packet = OwnedPacket::default();
        loop {
            let more = match &mut source.format {
                Format::Classic(c) => c.skip(&mut source.reader)?,
                Format::PcapNg(n) => n.next_into(&mut source.reader, &mut packet)?,
            };
            if !more {
                return Ok(source.reader.packets());
            }
            source.reader.count_packet();
        }
    }
}

impl Iterator for FileSource {
    type Item = Result<OwnedPacket, SourceError>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut packet = OwnedPacket::default();
        match self.next_into(&mut packet) {
            Ok(true) => Some(Ok(packet)),
            Ok(false) => None,
            Err(e) => Some(Err(e)),
        }
    }
}
