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
                self.reader.count_packet();
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
