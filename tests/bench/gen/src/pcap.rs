//! Classic PCAP output: nanosecond timestamps, Ethernet link type.

use std::io::{self, Write};

/// Magic number of a classic PCAP file with nanosecond timestamps, written little-endian.
const MAGIC_NANOS: u32 = 0xA1B2_3C4D;
/// Snapshot length announced in the header; no frame here is longer.
const SNAPLEN: u32 = 262_144;
/// LINKTYPE_ETHERNET.
const LINKTYPE_ETHERNET: u32 = 1;
/// Bytes of the file header.
const FILE_HEADER_LEN: u64 = 24;
/// Bytes of each record header.
const RECORD_HEADER_LEN: u64 = 16;

/// Streams records into `out`, counting the bytes written.
#[derive(Debug)]
pub(crate) struct PcapWriter<W: Write> {
    out: W,
    bytes: u64,
    packets: u64,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the file header.
    pub(crate) fn new(mut out: W) -> io::Result<Self> {
        let mut header = Vec::with_capacity(FILE_HEADER_LEN as usize);
        header.extend_from_slice(&MAGIC_NANOS.to_le_bytes());
        header.extend_from_slice(&2u16.to_le_bytes());
        header.extend_from_slice(&4u16.to_le_bytes());
        header.extend_from_slice(&0i32.to_le_bytes()); // GMT offset
        header.extend_from_slice(&0u32.to_le_bytes()); // timestamp accuracy
        header.extend_from_slice(&SNAPLEN.to_le_bytes());
        header.extend_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
        out.write_all(&header)?;
        Ok(PcapWriter {
            out,
            bytes: FILE_HEADER_LEN,
            packets: 0,
        })
    }

    /// Appends one frame captured at `ts_ns` nanoseconds after the Unix epoch.
    pub(crate) fn write(&mut self, ts_ns: u64, frame: &[u8]) -> io::Result<()> {
        let seconds = u32::try_from(ts_ns / 1_000_000_000).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "timestamp past 2106 does not fit classic PCAP",
            )
        })?;
        let nanos = (ts_ns % 1_000_000_000) as u32;
        let len = frame.len() as u32;
        let mut header = [0u8; RECORD_HEADER_LEN as usize];
        header[0..4].copy_from_slice(&seconds.to_le_bytes());
        header[4..8].copy_from_slice(&nanos.to_le_bytes());
        header[8..12].copy_from_slice(&len.to_le_bytes());
        header[12..16].copy_from_slice(&len.to_le_bytes());
        self.out.write_all(&header)?;
        self.out.write_all(frame)?;
        self.bytes += RECORD_HEADER_LEN + frame.len() as u64;
        self.packets += 1;
        Ok(())
    }

    /// Bytes written so far, headers included.
    pub(crate) fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Records written so far.
    pub(crate) fn packets(&self) -> u64 {
        self.packets
    }

    /// Flushes and returns the output.
    pub(crate) fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::PcapWriter;

    #[test]
    fn header_and_record_layout() {
        let mut writer = PcapWriter::new(Vec::new()).unwrap();
        writer.write(1_795_651_200_000_000_123, &[1, 2, 3]).unwrap();
        assert_eq!(writer.bytes(), 24 + 16 + 3);
        let out = writer.finish().unwrap();
        assert_eq!(&out[0..4], &[0x4d, 0x3c, 0xb2, 0xa1]);
        assert_eq!(u32::from_le_bytes([out[20], out[21], out[22], out[23]]), 1);
        assert_eq!(
            u32::from_le_bytes([out[24], out[25], out[26], out[27]]),
            1_795_651_200
        );
        assert_eq!(
            u32::from_le_bytes([out[28], out[29], out[30], out[31]]),
            123
        );
        assert_eq!(&out[40..], &[1, 2, 3]);
    }

    #[test]
    fn timestamps_past_2106_are_refused() {
        let mut writer = PcapWriter::new(Vec::new()).unwrap();
        assert!(
            writer
                .write(u64::from(u32::MAX) * 1_000_000_000 + 1_000_000_000, &[0])
                .is_err()
        );
    }
}
