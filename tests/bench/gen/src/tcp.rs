//! One TCP connection on the wire: handshake, data in MSS-sized segments, acknowledgments, FIN teardown.

use std::io::{self, Write};

use crate::emit::Emitter;
use crate::frame::{Endpoint, TcpSegment, flags};

/// Largest payload per segment on a 1500-byte MTU without TCP options.
const MSS: usize = 1460;
/// The MSS option carried by SYN and SYN-ACK.
const MSS_OPTION: [u8; 4] = [2, 4, (MSS >> 8) as u8, (MSS & 0xFF) as u8];

/// Which end of a connection sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// The end that opened the connection.
    Client,
    /// The end that accepted it.
    Server,
}

/// Sequence state of both directions of one connection.
#[derive(Debug, Clone)]
pub(crate) struct TcpConn {
    client: Endpoint,
    server: Endpoint,
    /// Next sequence number the client sends.
    client_next: u32,
    /// Next sequence number the server sends.
    server_next: u32,
    client_ip_id: u16,
    server_ip_id: u16,
    /// Round-trip time of this connection.
    rtt_ns: u32,
}

impl TcpConn {
    /// A connection not yet on the wire, with the given initial sequence numbers and round-trip time.
    pub(crate) fn new(
        client: Endpoint,
        server: Endpoint,
        client_isn: u32,
        server_isn: u32,
        rtt_ns: u32,
    ) -> Self {
        TcpConn {
            client,
            server,
            client_next: client_isn,
            server_next: server_isn,
            client_ip_id: (client_isn >> 16) as u16,
            server_ip_id: (server_isn >> 16) as u16,
            rtt_ns,
        }
    }

    /// Round-trip time of this connection.
    pub(crate) fn rtt_ns(&self) -> u64 {
        u64::from(self.rtt_ns)
    }

    /// The three-way handshake.
    pub(crate) fn open<W: Write>(&mut self, out: &mut Emitter<W>) -> io::Result<()> {
        self.segment(out, Side::Client, flags::SYN, &MSS_OPTION, &[], 0)?;
        self.client_next = self.client_next.wrapping_add(1);
        out.wait(self.rtt_ns() / 2);
        // SYN-ACK: ack covers the SYN just counted.
        self.segment(
            out,
            Side::Server,
            flags::SYN | flags::ACK,
            &MSS_OPTION,
            &[],
            self.client_next,
        )?;
        self.server_next = self.server_next.wrapping_add(1);
        out.wait(self.rtt_ns() / 2);
        self.ack(out, Side::Client)
    }

    /// Sends `payload` from `side` in MSS-sized segments, PSH on the last.
    pub(crate) fn send<W: Write>(
        &mut self,
        out: &mut Emitter<W>,
        side: Side,
        payload: &[u8],
    ) -> io::Result<()> {
        let mut chunks = payload.chunks(MSS).peekable();
        while let Some(chunk) = chunks.next() {
            let push = if chunks.peek().is_none() {
                flags::PSH
            } else {
                0
            };
            let ack = self.next_of(other(side));
            self.segment(out, side, flags::ACK | push, &[], chunk, ack)?;
            *self.next_mut(side) = self.next_of(side).wrapping_add(chunk.len() as u32);
        }
        Ok(())
    }

    /// A pure acknowledgment from `side` of everything the other side sent.
    pub(crate) fn ack<W: Write>(&mut self, out: &mut Emitter<W>, side: Side) -> io::Result<()> {
        let ack = self.next_of(other(side));
        self.segment(out, side, flags::ACK, &[], &[], ack)
    }

    /// Orderly close started by the client: FIN, FIN, last ACK.
    pub(crate) fn close<W: Write>(&mut self, out: &mut Emitter<W>) -> io::Result<()> {
        let ack = self.server_next;
        self.segment(out, Side::Client, flags::FIN | flags::ACK, &[], &[], ack)?;
        self.client_next = self.client_next.wrapping_add(1);
        out.wait(self.rtt_ns() / 2);
        let ack = self.client_next;
        self.segment(out, Side::Server, flags::FIN | flags::ACK, &[], &[], ack)?;
        self.server_next = self.server_next.wrapping_add(1);
        out.wait(self.rtt_ns() / 2);
        self.ack(out, Side::Client)
    }

    fn segment<W: Write>(
        &mut self,
        out: &mut Emitter<W>,
        side: Side,
        flag_bits: u8,
        options: &[u8],
        payload: &[u8],
        ack: u32,
    ) -> io::Result<()> {
        let (src, dst, seq, ip_id) = match side {
            Side::Client => {
                self.client_ip_id = self.client_ip_id.wrapping_add(1);
                (
                    self.client,
                    self.server,
                    self.client_next,
                    self.client_ip_id,
                )
            }
            Side::Server => {
                self.server_ip_id = self.server_ip_id.wrapping_add(1);
                (
                    self.server,
                    self.client,
                    self.server_next,
                    self.server_ip_id,
                )
            }
        };
        out.tcp(&TcpSegment {
            src,
            dst,
            seq,
            ack,
            flags: flag_bits,
            ip_id,
            options,
            payload,
        })
    }

    fn next_of(&self, side: Side) -> u32 {
        match side {
            Side::Client => self.client_next,
            Side::Server => self.server_next,
        }
    }

    fn next_mut(&mut self, side: Side) -> &mut u32 {
        match side {
            Side::Client => &mut self.client_next,
            Side::Server => &mut self.server_next,
        }
    }
}

fn other(side: Side) -> Side {
    match side {
        Side::Client => Side::Server,
        Side::Server => Side::Client,
    }
}
