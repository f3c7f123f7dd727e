//! pcapng files, block by block: this module frames each block (so errors carry byte offsets and
//! memory stays bounded) and pcap-file's parser reads the block's contents.

use pcap_file::pcapng::PcapNgParser;
use pcap_file::pcapng::blocks::Block;
use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption;

use super::error::SourceError;
use super::reader::{Fill, Reader, check_link_type};
use crate::OwnedPacket;

const SECTION_HEADER: u32 = 0x0A0D_0D0A;
/// Largest block the reader accepts; a larger length means a corrupt header.
const MAX_BLOCK: u32 = 16 << 20;

/// An interface of the current section: its link type and timestamp units.
struct Interface {
    linktype: u32,
    /// Timestamp units per second (`if_tsresol`, default 10^6).
    units_per_second: u128,
    /// `if_tsoffset`: seconds to add to every timestamp.
    offset_seconds: i64,
}

/// Reads blocks after recognising the section header.
pub(crate) struct PcapNgReader {
    parser: PcapNgParser,
    big_endian: bool,
    interfaces: Vec<Interface>,
    block: Vec<u8>,
}

impl PcapNgReader {
    /// Recognises a section header block; `None` if the file is not pcapng.
    pub(crate) fn open(magic: [u8; 4], reader: &mut Reader) -> Result<Option<Self>, SourceError> {
        if u32::from_le_bytes(magic) != SECTION_HEADER {
            return Ok(None);
        }
        let mut block = magic.to_vec();
        let (parser, big_endian) = read_section_header(reader, 0, &mut block)?;
        Ok(Some(PcapNgReader {
            parser,
            big_endian,
            interfaces: Vec::new(),
            block,
        }))
    }

    /// Reads blocks until a packet, into `packet` (reusing its buffer); `false` at a clean end of
    /// file.
    pub(crate) fn next_into(
        &mut self,
        reader: &mut Reader,
        packet: &mut OwnedPacket,
    ) -> Result<bool, SourceError> {
        loop {
            let start = reader.offset();
            let mut kind = [0u8; 4];
            match reader.fill(&mut kind)? {
                Fill::Full => {}
                Fill::Eof => return Ok(false),
                Fill::Short => return Err(reader.truncated(start)),
            }
            self.block.clear();
            self.block.extend_from_slice(&kind);
            let kind = if self.big_endian {
                u32::from_be_bytes(kind)
            } else {
                u32::from_le_bytes(kind)
            };
            if kind == SECTION_HEADER {
                let (parser, big_endian) = read_section_header(reader, start, &mut self.block)?;
                self.parser = parser;
                self.big_endian = big_endian;
                self.interfaces.clear();
                continue;
            }
            let mut length = [0u8; 4];
            match reader.fill(&mut length)? {
                Fill::Full => {}
                Fill::Eof | Fill::Short => return Err(reader.truncated(start)),
            }
            self.block.extend_from_slice(&length);
            let length = if self.big_endian {
                u32::from_be_bytes(length)
            } else {
                u32::from_le_bytes(length)
            };
            read_body(reader, start, length, 8, &mut self.block)?;
            let block = match self.parser.next_block(&self.block) {
                Ok((_, block)) => block,
                Err(e) => return Err(reader.malformed(start, e.to_string())),
            };
            match block {
                Block::InterfaceDescription(idb) => {
                    let linktype = u32::from(idb.linktype);
                    check_link_type(reader, linktype)?;
                    let mut interface = Interface {
                        linktype,
                        units_per_second: 1_000_000,
                        offset_seconds: 0,
                    };
                    for option in &idb.options {
                        match option {
                            InterfaceDescriptionOption::IfTsResol(resol) => {
                                interface.units_per_second = units_per_second(*resol);
                            }
                            InterfaceDescriptionOption::IfTsOffset(offset) => {
                                interface.offset_seconds = i64::try_from(*offset).unwrap_or(0);
                            }
                            _ => {}
                        }
                    }
                    self.interfaces.push(interface);
                }
                Block::EnhancedPacket(epb) => {
                    let Some(interface) = self.interfaces.get(epb.interface_id as usize) else {
                        return Err(reader.malformed(
                            start,
                            format!(
                                "packet names interface {} which was never described",
                                epb.interface_id
                            ),
                        ));
                    };
                    let raw = epb.timestamp.as_nanos();
                    let ns = raw.saturating_mul(1_000_000_000) / interface.units_per_second.max(1);
                    let ts_ns = i64::try_from(ns)
                        .unwrap_or(i64::MAX)
                        .saturating_add(interface.offset_seconds.saturating_mul(1_000_000_000));
                    fill(
                        packet,
                        ts_ns,
                        epb.original_len,
                        interface.linktype,
                        &epb.data,
                    );
                    return Ok(true);
                }
                Block::SimplePacket(spb) => {
                    let Some(interface) = self.interfaces.first() else {
                        return Err(
                            reader.malformed(start, "simple packet block before any interface")
                        );
                    };
                    fill(packet, 0, spb.original_len, interface.linktype, &spb.data);
                    return Ok(true);
                }
                _ => {}
            }
        }
    }
}

/// Makes `packet` a packet block's: its bytes copied into the reused buffer, its original length
/// at least what was captured.
fn fill(packet: &mut OwnedPacket, ts_ns: i64, original_len: u32, linktype: u32, data: &[u8]) {
    packet.data.clear();
    packet.data.extend_from_slice(data);
    packet.ts_ns = ts_ns;
    packet.orig_len = original_len.max(data.len() as u32);
    packet.linktype = linktype;
}

/// Reads a section header whose first 4 bytes are already in `block`, and starts a parser for it.
fn read_section_header(
    reader: &mut Reader,
    start: u64,
    block: &mut Vec<u8>,
) -> Result<(PcapNgParser, bool), SourceError> {
    let mut head = [0u8; 8];
    match reader.fill(&mut head)? {
        Fill::Full => {}
        Fill::Eof | Fill::Short => return Err(reader.truncated(start)),
    }
    block.extend_from_slice(&head);
    let [l0, l1, l2, l3, m0, m1, m2, m3] = head;
    let big_endian = match [m0, m1, m2, m3] {
        [0x1a, 0x2b, 0x3c, 0x4d] => true,
        [0x4d, 0x3c, 0x2b, 0x1a] => false,
        _ => return Err(reader.malformed(start, "section header has no byte-order magic")),
    };
    let length = if big_endian {
        u32::from_be_bytes([l0, l1, l2, l3])
    } else {
        u32::from_le_bytes([l0, l1, l2, l3])
    };
    read_body(reader, start, length, 12, block)?;
    match PcapNgParser::new(block) {
        Ok((_, parser)) => Ok((parser, big_endian)),
        Err(e) => Err(reader.malformed(start, e.to_string())),
    }
}

/// Reads the rest of a block of total `length` bytes, of which `have` are already in `block`.
fn read_body(
    reader: &mut Reader,
    start: u64,
    length: u32,
    have: u32,
    block: &mut Vec<u8>,
) -> Result<(), SourceError> {
    if length < 12 || length < have || !length.is_multiple_of(4) || length > MAX_BLOCK {
        return Err(reader.malformed(start, format!("block length {length} is impossible")));
    }
    let old = block.len();
    block.resize(old + (length - have) as usize, 0);
    match reader.fill(block.get_mut(old..).unwrap_or(&mut [])) {
        Ok(Fill::Full) => Ok(()),
        Ok(Fill::Eof | Fill::Short) => Err(reader.truncated(start)),
        Err(e) => Err(e),
    }
}

/// `if_tsresol`: high bit clear → 10^-n s, set → 2^-n s.
fn units_per_second(resol: u8) -> u128 {
    let exponent = u32::from(resol & 0x7f);
    if resol & 0x80 == 0 {
        10u128.checked_pow(exponent)
    } else {
        2u128.checked_pow(exponent)
    }
    .unwrap_or(1_000_000)
}
