//! TLS record framing for one direction (RFC 8446 §5.1), and reassembly of the handshake
//! messages those records carry (a message may span records, or several share one).

use super::super::ChunkMeta;

/// Record header bytes: content type, legacy version, length.
pub(super) const RECORD_HEADER: usize = 5;
/// Largest record body allowed (2^14 plus the expansion TLS 1.2 permits).
pub(super) const MAX_RECORD: usize = 16_384 + 2_048;
/// Largest ClientHello/ServerHello reassembled; other handshake messages are skipped unbuffered.
const MAX_HELLO: usize = 64 * 1024;

/// Record content types.
pub(super) mod content {
    pub const CHANGE_CIPHER_SPEC: u8 = 20;
    pub const ALERT: u8 = 21;
    pub const HANDSHAKE: u8 = 22;
    pub const APPLICATION_DATA: u8 = 23;
}

/// Handshake message types the dissector reads.
pub(super) mod handshake {
    pub const CLIENT_HELLO: u8 = 1;
    pub const SERVER_HELLO: u8 = 2;
}

/// Whether five bytes form a plausible record header.
pub(super) fn plausible_header(header: &[u8]) -> bool {
    match header {
        [kind, 3, minor, hi, lo, ..] => {
            (content::CHANGE_CIPHER_SPEC..=content::APPLICATION_DATA).contains(kind)
                && *minor <= 4
                && usize::from(*hi) << 8 | usize::from(*lo) <= MAX_RECORD
        }
        _ => false,
    }
}

/// A complete record.
#[derive(Debug)]
pub(super) struct Record<'a> {
    /// Content type.
    pub kind: u8,
    /// Body.
    pub body: &'a [u8],
    /// Chunk that carried the record's last byte.
    pub end: ChunkMeta,
}

/// Splits a direction's bytes into records.
#[derive(Debug, Default)]
pub(super) struct RecordReader {
    buf: Vec<u8>,
    /// The stream stopped looking like TLS; everything after is ignored.
    pub broken: bool,
}

impl RecordReader {
    /// Feeds bytes; calls `on_record` per complete record. Sets `broken` on a bad header.
    pub fn feed(&mut self, data: &[u8], meta: ChunkMeta, on_record: &mut dyn FnMut(Record<'_>)) {
        if self.broken {
            return;
        }
        let owned;
        let input: &[u8] = if self.buf.is_empty() {
            data
        } else {
            self.buf.extend_from_slice(data);
            owned = std::mem::take(&mut self.buf);
            &owned
        };
        let mut offset = 0usize;
        while let Some(rest) = input.get(offset..) {
            let Some(header) = rest.get(..RECORD_HEADER) else {
                break;
            };
            if !plausible_header(header) {
                self.broken = true;
                return;
            }
            let len = usize::from(header[3]) << 8 | usize::from(header[4]);
            let Some(body) = rest.get(RECORD_HEADER..RECORD_HEADER + len) else {
                break;
            };
            on_record(Record {
                kind: header[0],
                body,
                end: meta,
            });
            offset += RECORD_HEADER + len;
        }
        let rest = input.get(offset..).unwrap_or_default();
        self.buf.clear();
        self.buf.extend_from_slice(rest);
    }

    /// Bytes were lost: the stream can no longer be framed.
    pub fn lose_sync(&mut self) {
        self.buf = Vec::new();
        self.broken = true;
    }
}

/// Reassembles handshake messages from handshake record bodies.
#[derive(Debug, Default)]
pub(super) struct HandshakeReader {
    buf: Vec<u8>,
    /// Bytes of a message being skipped (not a hello, or too large).
    skip: usize,
}

/// What came out of the handshake stream.
#[derive(Debug)]
pub(super) enum HandshakeEvent<'a> {
    /// A whole ClientHello or ServerHello, header included.
    Hello(&'a [u8]),
    /// A hello too large to keep.
    Oversized,
}

impl HandshakeReader {
    /// Feeds a handshake record body; calls `on_event` per hello completed.
    pub fn feed(&mut self, mut data: &[u8], on_event: &mut dyn FnMut(HandshakeEvent<'_>)) {
        loop {
            if self.skip > 0 {
                let n = self.skip.min(data.len());
                self.skip -= n;
                data = data.get(n..).unwrap_or_default();
            }
            if data.is_empty() {
                return;
            }
            let need_header = 4usize.saturating_sub(self.buf.len());
            let take = need_header.min(data.len());
            self.buf
                .extend_from_slice(data.get(..take).unwrap_or_default());
            data = data.get(take..).unwrap_or_default();
            let [kind, a, b, c] = match self.buf.get(..4) {
                Some(&[kind, a, b, c]) => [kind, a, b, c],
                _ => return,
            };
            let len = usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c);
            let hello = matches!(kind, handshake::CLIENT_HELLO | handshake::SERVER_HELLO);
            if !hello || len > MAX_HELLO {
                if hello {
                    on_event(HandshakeEvent::Oversized);
                }
                self.buf.clear();
                self.skip = len;
                continue;
            }
            let missing = (4 + len).saturating_sub(self.buf.len());
            let take = missing.min(data.len());
            self.buf
                .extend_from_slice(data.get(..take).unwrap_or_default());
            data = data.get(take..).unwrap_or_default();
            if self.buf.len() < 4 + len {
                return;
            }
            on_event(HandshakeEvent::Hello(&self.buf));
            self.buf.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> ChunkMeta {
        ChunkMeta {
            ts_ns: 0,
            packet: 0,
        }
    }

    #[test]
    fn records_split_and_joined() {
        let wire = [&[22, 3, 1, 0, 2, 0xaa, 0xbb][..], &[21, 3, 3, 0, 2, 2, 40]].concat();
        for cut in 0..wire.len() {
            let mut reader = RecordReader::default();
            let mut kinds = Vec::new();
            for part in [&wire[..cut], &wire[cut..]] {
                reader.feed(part, meta(), &mut |r| kinds.push((r.kind, r.body.to_vec())));
            }
            assert_eq!(
                kinds,
                vec![(22, vec![0xaa, 0xbb]), (21, vec![2, 40])],
                "cut {cut}"
            );
        }
    }

    #[test]
    fn non_tls_bytes_break_the_reader() {
        let mut reader = RecordReader::default();
        reader.feed(b"GET / HTTP/1.1\r\n", meta(), &mut |_| panic!("no record"));
        assert!(reader.broken);
    }

    #[test]
    fn hello_spanning_records_and_certificate_skipped() {
        let mut reader = HandshakeReader::default();
        let mut hellos = Vec::new();
        // a Certificate (type 11) of 3 bytes, then a ServerHello of 2 bytes split across feeds
        for part in [&[11u8, 0, 0, 3, 1][..], &[2, 3, 2, 0], &[0, 2, 9], &[9]] {
            reader.feed(part, &mut |e| {
                if let HandshakeEvent::Hello(m) = e {
                    hellos.push(m.to_vec());
                }
            });
        }
        assert_eq!(hellos, vec![vec![2, 0, 0, 2, 9, 9]]);
    }
}
