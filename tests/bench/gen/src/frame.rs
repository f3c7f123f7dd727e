//! Ethernet + IPv4 + TCP/UDP frames with correct lengths and checksums.

use crate::checksum;

/// One side of a flow: an IPv4 address and a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Endpoint {
    /// IPv4 address.
    pub ip: [u8; 4],
    /// TCP or UDP port.
    pub port: u16,
}

/// TCP flag bits.
pub(crate) mod flags {
    /// No more data from sender.
    pub const FIN: u8 = 0x01;
    /// Synchronize sequence numbers.
    pub const SYN: u8 = 0x02;
    /// Push the data to the application.
    pub const PSH: u8 = 0x08;
    /// The acknowledgment field is significant.
    pub const ACK: u8 = 0x10;
}

/// What distinguishes one TCP segment from another on the wire.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TcpSegment<'a> {
    /// Sender.
    pub src: Endpoint,
    /// Receiver.
    pub dst: Endpoint,
    /// Sequence number of the first payload byte (or of the SYN/FIN).
    pub seq: u32,
    /// Next sequence number expected from the receiver.
    pub ack: u32,
    /// Flag bits, see [`flags`].
    pub flags: u8,
    /// IPv4 identification.
    pub ip_id: u16,
    /// Options, a multiple of 4 bytes long.
    pub options: &'a [u8],
    /// Application bytes.
    pub payload: &'a [u8],
}

const ETHERNET_LEN: usize = 14;
const IPV4_LEN: usize = 20;
const TCP_LEN: usize = 20;
const UDP_LEN: usize = 8;
const PROTO_TCP: u8 = 6;
const PROTO_UDP: u8 = 17;
/// Advertised receive window: large enough that no flow here ever fills it.
const WINDOW: u16 = 65_535;

/// Writes a whole TCP frame into `buf` (cleared first).
pub(crate) fn tcp(buf: &mut Vec<u8>, segment: &TcpSegment<'_>) {
    let l4_len = TCP_LEN + segment.options.len() + segment.payload.len();
    begin(
        buf,
        segment.src.ip,
        segment.dst.ip,
        PROTO_TCP,
        segment.ip_id,
        l4_len,
    );
    let start = buf.len();
    buf.extend_from_slice(&segment.src.port.to_be_bytes());
    buf.extend_from_slice(&segment.dst.port.to_be_bytes());
    buf.extend_from_slice(&segment.seq.to_be_bytes());
    buf.extend_from_slice(&segment.ack.to_be_bytes());
    let words = ((TCP_LEN + segment.options.len()) / 4) as u8;
    buf.extend_from_slice(&[words << 4, segment.flags]);
    buf.extend_from_slice(&WINDOW.to_be_bytes());
    buf.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent pointer
    buf.extend_from_slice(segment.options);
    buf.extend_from_slice(segment.payload);
    finish_l4(buf, start, segment.src.ip, segment.dst.ip, PROTO_TCP, 16);
}

/// Writes a whole UDP frame into `buf` (cleared first).
pub(crate) fn udp(buf: &mut Vec<u8>, src: Endpoint, dst: Endpoint, ip_id: u16, payload: &[u8]) {
    let l4_len = UDP_LEN + payload.len();
    begin(buf, src.ip, dst.ip, PROTO_UDP, ip_id, l4_len);
    let start = buf.len();
    buf.extend_from_slice(&src.port.to_be_bytes());
    buf.extend_from_slice(&dst.port.to_be_bytes());
    buf.extend_from_slice(&(l4_len as u16).to_be_bytes());
    buf.extend_from_slice(&[0, 0]);
    buf.extend_from_slice(payload);
    finish_l4(buf, start, src.ip, dst.ip, PROTO_UDP, 6);
}

/// A locally administered MAC address that embeds the IPv4 address, so each host keeps one MAC.
fn mac(ip: [u8; 4]) -> [u8; 6] {
    [0x02, 0x00, ip[0], ip[1], ip[2], ip[3]]
}

/// Ethernet and IPv4 headers (IPv4 checksum included) for an L4 payload of `l4_len` bytes.
fn begin(buf: &mut Vec<u8>, src: [u8; 4], dst: [u8; 4], proto: u8, ip_id: u16, l4_len: usize) {
    buf.clear();
    buf.extend_from_slice(&mac(dst));
    buf.extend_from_slice(&mac(src));
    buf.extend_from_slice(&0x0800u16.to_be_bytes());
    let total = (IPV4_LEN + l4_len) as u16;
    let mut ip = [0u8; IPV4_LEN];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    ip[4..6].copy_from_slice(&ip_id.to_be_bytes());
    ip[6] = 0x40; // don't fragment
    ip[8] = 64; // TTL
    ip[9] = proto;
    ip[12..16].copy_from_slice(&src);
    ip[16..20].copy_from_slice(&dst);
    let sum = checksum::finish(checksum::add(0, &ip));
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    buf.extend_from_slice(&ip);
    debug_assert_eq!(buf.len(), ETHERNET_LEN + IPV4_LEN);
}

/// Fills the L4 checksum at `field` bytes into the L4 header starting at `start`.
fn finish_l4(buf: &mut [u8], start: usize, src: [u8; 4], dst: [u8; 4], proto: u8, field: usize) {
    let l4 = buf.get(start..).unwrap_or_default();
    let len = l4.len() as u64;
    let pseudo = checksum::add(0, &src) + checksum::add(0, &dst) + u64::from(proto) + len;
    let mut sum = checksum::finish(checksum::add(pseudo, l4));
    if proto == PROTO_UDP && sum == 0 {
        sum = 0xFFFF; // 0 means "no checksum" in UDP
    }
    if let Some(slot) = buf.get_mut(start + field..start + field + 2) {
        slot.copy_from_slice(&sum.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verify(frame: &[u8]) {
        let ip = &frame[ETHERNET_LEN..ETHERNET_LEN + IPV4_LEN];
        assert_eq!(checksum::finish(checksum::add(0, ip)), 0, "IPv4 checksum");
        let l4 = &frame[ETHERNET_LEN + IPV4_LEN..];
        let pseudo = checksum::add(0, &ip[12..16])
            + checksum::add(0, &ip[16..20])
            + u64::from(ip[9])
            + l4.len() as u64;
        assert_eq!(
            checksum::finish(checksum::add(pseudo, l4)),
            0,
            "L4 checksum"
        );
        assert_eq!(
            usize::from(u16::from_be_bytes([ip[2], ip[3]])),
            frame.len() - ETHERNET_LEN
        );
    }

    #[test]
    fn tcp_frame_checksums_verify() {
        let mut buf = Vec::new();
        let segment = TcpSegment {
            src: Endpoint {
                ip: [10, 0, 0, 1],
                port: 40000,
            },
            dst: Endpoint {
                ip: [10, 0, 0, 2],
                port: 80,
            },
            seq: 1,
            ack: 2,
            flags: flags::ACK | flags::PSH,
            ip_id: 7,
            options: &[],
            payload: b"GET / HTTP/1.1\r\n\r\n!",
        };
        tcp(&mut buf, &segment);
        verify(&buf);
        assert_eq!(buf.len(), 14 + 20 + 20 + 19);
    }

    #[test]
    fn udp_frame_checksums_verify() {
        let mut buf = Vec::new();
        let a = Endpoint {
            ip: [10, 0, 0, 1],
            port: 5353,
        };
        let b = Endpoint {
            ip: [10, 0, 0, 2],
            port: 53,
        };
        udp(&mut buf, a, b, 1, b"odd");
        verify(&buf);
        assert_eq!(&buf[0..6], &[2, 0, 10, 0, 0, 2]);
    }
}
