//! The output side: frames stamped with a monotonic clock and appended to the PCAP.

use std::io::{self, Write};

use crate::frame::{self, Endpoint, TcpSegment};
use crate::pcap::PcapWriter;

/// Nanoseconds one byte takes on a 1 Gbit/s link: each frame moves the clock by its wire time.
const NS_PER_BYTE: u64 = 8;

/// Builds frames into one reusable buffer and writes them at the current clock, which only moves forward.
#[derive(Debug)]
pub(crate) struct Emitter<W: Write> {
    pcap: PcapWriter<W>,
    frame: Vec<u8>,
    clock_ns: u64,
    last_ns: Option<u64>,
}

impl<W: Write> Emitter<W> {
    /// An emitter whose first frame is stamped `start_ns`.
    pub(crate) fn new(pcap: PcapWriter<W>, start_ns: u64) -> Self {
        Emitter {
            pcap,
            frame: Vec::with_capacity(2048),
            clock_ns: start_ns,
            last_ns: None,
        }
    }

    /// Moves the clock to `ts_ns` unless it is already later.
    pub(crate) fn at_least(&mut self, ts_ns: u64) {
        self.clock_ns = self.clock_ns.max(ts_ns);
    }

    /// Moves the clock forward by `ns`.
    pub(crate) fn wait(&mut self, ns: u64) {
        self.clock_ns = self.clock_ns.saturating_add(ns);
    }

    /// Timestamp of the last frame written, if any.
    pub(crate) fn last_stamp(&self) -> Option<u64> {
        self.last_ns
    }

    /// Writes one TCP segment.
    pub(crate) fn tcp(&mut self, segment: &TcpSegment<'_>) -> io::Result<()> {
        frame::tcp(&mut self.frame, segment);
        self.write_frame()
    }

    /// Writes one UDP datagram.
    pub(crate) fn udp(
        &mut self,
        src: Endpoint,
        dst: Endpoint,
        ip_id: u16,
        payload: &[u8],
    ) -> io::Result<()> {
        frame::udp(&mut self.frame, src, dst, ip_id, payload);
        self.write_frame()
    }

    /// Bytes of PCAP written so far.
    pub(crate) fn bytes(&self) -> u64 {
        self.pcap.bytes()
    }

    /// Frames written so far.
    pub(crate) fn packets(&self) -> u64 {
        self.pcap.packets()
    }

    /// Flushes the PCAP and returns its output.
    pub(crate) fn finish(self) -> io::Result<W> {
        self.pcap.finish()
    }

    fn write_frame(&mut self) -> io::Result<()> {
        self.pcap.write(self.clock_ns, &self.frame)?;
        self.last_ns = Some(self.clock_ns);
        self.wait(self.frame.len() as u64 * NS_PER_BYTE);
        Ok(())
    }
}
