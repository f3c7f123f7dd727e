//! Framing for length-prefixed protocols, as Wireshark's `tcp_dissect_pdus`: a dissector says how
//! many header bytes give a PDU's length and what they say ([`PduFormat`]); [`PduFramer`] cuts
//! one direction's reassembled bytes into [`Pdu`]s, however TCP chunked them.
//!
//! Memory is bounded per direction: a PDU keeps its header and the first bytes of its body that
//! the format asks for, and the rest of the body is skipped by count, so a PDU of any size costs
//! at most its header and that cap. A PDU's `size` is its bytes on the wire, as its header gives
//! them, counted when its kept prefix is complete (its last bytes may still be passing); the part
//! that a gap or the end of the flow then keeps from passing is what
//! [`take_unseen`](PduFramer::take_unseen) hands back, for the dissector to take off the exchange
//! it counted the PDU toward.
//!
//! A header no PDU could start with means framing is lost, as does a gap
//! ([`lose_sync`](PduFramer::lose_sync)): from the next chunk on, bytes are dropped up to an
//! offset where the format says a PDU plausibly starts, and framing resumes there.

use super::ChunkMeta;

/// A length-prefixed protocol, one direction of it, as the framer needs to know it.
pub(super) trait PduFormat {
    /// What a header says besides the PDU's length (PostgreSQL: the message type).
    type Head;

    /// Bytes at the start of the next PDU that give its length. 0 when the next PDU's length is
    /// known without reading any (PostgreSQL's one-byte answer to SSLRequest): such a PDU is
    /// expected, never searched for, and must have a body.
    fn header_len(&self) -> usize;

    /// The PDU whose header is `header` ([`header_len`](Self::header_len) bytes), or `None` when
    /// no PDU starts with these bytes. Called once per PDU, so a format may change what it
    /// expects next here.
    fn read_header(&mut self, header: &[u8]) -> Option<PduHeader<Self::Head>>;

    /// Whether a PDU plausibly starts at the first byte of `bytes` (the rest of a chunk), to
    /// resume at after framing was lost.
    fn plausible_start(&self, bytes: &[u8]) -> bool;
}

/// What a header says about its PDU.
pub(super) struct PduHeader<H> {
    /// What else the header says (see [`PduFormat::Head`]).
    pub head: H,
    /// Bytes of the PDU after its header.
    pub body_len: usize,
    /// Of those, how many to keep, the first ones (at most `body_len`); the rest are counted only.
    pub keep: usize,
}

/// One PDU cut from the stream.
pub(super) struct Pdu<H> {
    /// What its header said (see [`PduFormat::Head`]).
    pub head: H,
    /// The kept prefix of its body.
    pub body: Vec<u8>,
    /// Bytes of the PDU on the wire: its header and its whole body.
    pub size: u64,
    /// The chunk that carried its first byte.
    pub start: ChunkMeta,
    /// The chunk that completed its kept prefix.
    pub end: ChunkMeta,
}

/// Cuts one direction of a flow into PDUs.
pub(super) struct PduFramer<H> {
    /// The header, then the kept body prefix, of the PDU being read.
    buf: Vec<u8>,
    /// The header length of the PDU being read, decided when its first byte came.
    header_len: Option<usize>,
    /// The header of the PDU being read, once whole.
    header: Option<PduHeader<H>>,
    /// Body bytes of the last PDU still to pass, counted only.
    skip: usize,
    /// The chunk that carried the first byte of the PDU being read.
    start: Option<ChunkMeta>,
    /// Framing was lost: look for a plausible PDU start before reading again.
    lost: bool,
}

impl<H> Default for PduFramer<H> {
    fn default() -> Self {
        PduFramer {
            buf: Vec::new(),
            header_len: None,
            header: None,
            skip: 0,
            start: None,
            lost: false,
        }
    }
}

impl<H> PduFramer<H> {
    /// Cuts `data`, the next bytes of the direction (carried by the chunk `meta`), into PDUs
    /// pushed to `pdus`; a PDU not yet whole waits for the next call.
    pub fn feed<F: PduFormat<Head = H>>(
        &mut self,
        format: &mut F,
        mut data: &[u8],
        meta: ChunkMeta,
        pdus: &mut Vec<Pdu<H>>,
    ) {
        while !data.is_empty() {
            if self.skip > 0 {
                let take = self.skip.min(data.len());
                self.skip -= take;
                data = data.get(take..).unwrap_or_default();
                continue;
            }
            let header_len = match self.header_len {
                Some(header_len) => header_len,
                None => {
                    // A PDU begins with these bytes.
                    self.start = Some(meta);
                    let header_len = format.header_len();
                    if self.lost && header_len > 0 {
                        let found = (0..data.len())
                            .find(|&at| format.plausible_start(data.get(at..).unwrap_or_default()));
                        let Some(at) = found else {
                            return;
                        };
                        self.lost = false;
                        data = data.get(at..).unwrap_or_default();
                    }
                    *self.header_len.insert(header_len)
                }
            };
            if self.header.is_none() {
                data = fill(&mut self.buf, header_len, data);
                if self.buf.len() < header_len {
                    return;
                }
                match format.read_header(&self.buf) {
                    Some(header) if header_len + header.body_len > 0 => self.header = Some(header),
                    // A PDU of no bytes would be found again and again: the chunk is dropped.
                    Some(_) => {
                        self.header_len = None;
                        return;
                    }
                    None => {
                        self.buf.clear();
                        self.header_len = None;
                        self.lost = true;
                        continue;
                    }
                }
            }
            let keep = self
                .header
                .as_ref()
                .map_or(0, |header| header.keep.min(header.body_len));
            data = fill(&mut self.buf, header_len + keep, data);
            if self.buf.len() < header_len + keep {
                return;
            }
            self.header_len = None;
            let Some(header) = self.header.take() else {
                return;
            };
            let body = self.buf.split_off(header_len);
            self.buf.clear();
            self.skip = header.body_len - keep;
            pdus.push(Pdu {
                head: header.head,
                body,
                size: (header_len + header.body_len) as u64,
                start: self.start.take().unwrap_or(meta),
                end: meta,
            });
        }
    }

    /// Body bytes of the last PDU that have not passed yet, now given up as never to pass (a
    /// gap, or the flow ended); 0 when none are owed.
    pub fn take_unseen(&mut self) -> usize {
        std::mem::take(&mut self.skip)
    }

    /// Whether the last PDU's body is still passing (its kept prefix went out already).
    pub fn passing(&self) -> bool {
        self.skip > 0
    }

    /// Where the PDU being read began, if one is.
    pub fn started(&self) -> Option<ChunkMeta> {
        self.start
    }

    /// Bytes were lost: forget the PDU being read and search for the next plausible start.
    pub fn lose_sync(&mut self) {
        *self = PduFramer {
            lost: true,
            ..PduFramer::default()
        };
    }
}

/// Appends to `buf` from `data` until `buf` holds `want` bytes; returns what is left of `data`.
fn fill<'a>(buf: &mut Vec<u8>, want: usize, data: &'a [u8]) -> &'a [u8] {
    let take = want.saturating_sub(buf.len()).min(data.len());
    let (now, rest) = data.split_at(take);
    buf.extend_from_slice(now);
    rest
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A toy protocol: a 0xAA marker and a one-byte length, at most 3 body bytes kept; or, when
    /// `byte_next`, one bare byte with no header.
    #[derive(Default)]
    struct Toy {
        byte_next: bool,
    }

    impl PduFormat for Toy {
        type Head = char;

        fn header_len(&self) -> usize {
            if self.byte_next { 0 } else { 2 }
        }

        fn read_header(&mut self, header: &[u8]) -> Option<PduHeader<char>> {
            if std::mem::take(&mut self.byte_next) {
                return Some(PduHeader {
                    head: 'b',
                    body_len: 1,
                    keep: 1,
                });
            }
            let len = usize::from(*header.get(1)?);
            (header.first() == Some(&0xAA)).then_some(PduHeader {
                head: 'p',
                body_len: len,
                keep: len.min(3),
            })
        }

        fn plausible_start(&self, bytes: &[u8]) -> bool {
            bytes.first() == Some(&0xAA)
        }
    }

    fn meta(packet: u64) -> ChunkMeta {
        ChunkMeta {
            ts_ns: packet as i64,
            packet,
        }
    }

    /// Each PDU's head, kept body, size, and first and last packet.
    fn seen(pdus: &[Pdu<char>]) -> Vec<(char, Vec<u8>, u64, u64, u64)> {
        pdus.iter()
            .map(|p| (p.head, p.body.clone(), p.size, p.start.packet, p.end.packet))
            .collect()
    }

    #[test]
    fn pdus_are_the_same_however_the_bytes_are_chunked() {
        let stream = [
            &[0xAA, 2][..],
            b"ab",
            &[0xAA, 5],
            b"cdefg",
            &[0xAA, 0],
            &[0xAA, 1],
            b"h",
        ]
        .concat();
        for piece in 1..=stream.len() {
            let mut framer = PduFramer::default();
            let mut pdus = Vec::new();
            for chunk in stream.chunks(piece) {
                framer.feed(&mut Toy::default(), chunk, meta(1), &mut pdus);
            }
            let got: Vec<_> = pdus.iter().map(|p| (p.body.clone(), p.size)).collect();
            let expected = [
                (b"ab".to_vec(), 4),
                (b"cde".to_vec(), 7),
                (Vec::new(), 2),
                (b"h".to_vec(), 3),
            ];
            assert_eq!(got, expected, "pieces of {piece} bytes");
            assert!(!framer.passing() && framer.started().is_none());
        }
    }

    #[test]
    fn a_pdu_starts_with_the_chunk_of_its_first_byte_and_ends_with_its_kept_prefix() {
        let mut framer = PduFramer::default();
        let mut pdus = Vec::new();
        framer.feed(&mut Toy::default(), &[0xAA], meta(1), &mut pdus);
        assert_eq!(framer.started(), Some(meta(1)));
        framer.feed(&mut Toy::default(), &[9, b'x', b'y'], meta(2), &mut pdus);
        framer.feed(&mut Toy::default(), b"zrest", meta(3), &mut pdus);
        assert_eq!(seen(&pdus), [('p', b"xyz".to_vec(), 11, 1, 3)]);
    }

    #[test]
    fn the_body_past_the_kept_prefix_is_counted_and_what_never_passes_is_handed_back() {
        let mut framer = PduFramer::default();
        let mut pdus = Vec::new();
        framer.feed(&mut Toy::default(), &[0xAA, 200], meta(1), &mut pdus);
        framer.feed(&mut Toy::default(), &[7; 50], meta(2), &mut pdus);
        assert_eq!(seen(&pdus), [('p', vec![7; 3], 202, 1, 2)]);
        assert!(
            framer.buf.is_empty(),
            "nothing past the kept prefix is held"
        );
        assert!(framer.passing());
        assert_eq!(framer.take_unseen(), 150);
        assert!(!framer.passing());
        // The next bytes start a new PDU.
        framer.feed(&mut Toy::default(), &[0xAA, 1, b'n'], meta(3), &mut pdus);
        assert_eq!(pdus.len(), 2);
        assert_eq!(pdus[1].body, b"n");
    }

    #[test]
    fn after_a_bad_header_or_a_gap_framing_resumes_at_a_plausible_start() {
        let mut framer = PduFramer::default();
        let mut pdus = Vec::new();
        let bad_then_good = [&[0x00, 4, 1, 2][..], &[0xAA, 1, b'a']].concat();
        framer.feed(&mut Toy::default(), &bad_then_good, meta(1), &mut pdus);
        framer.feed(&mut Toy::default(), &[0xAA, 4, b'b'], meta(2), &mut pdus);
        framer.lose_sync();
        framer.feed(&mut Toy::default(), b"junk", meta(3), &mut pdus);
        framer.feed(&mut Toy::default(), &[1, 0xAA, 1, b'c'], meta(4), &mut pdus);
        assert_eq!(
            seen(&pdus),
            [('p', b"a".to_vec(), 3, 1, 1), ('p', b"c".to_vec(), 3, 4, 4)]
        );
    }

    #[test]
    fn a_pdu_whose_length_needs_no_header_is_read_even_while_framing_is_lost() {
        let mut framer = PduFramer::default();
        let mut pdus = Vec::new();
        framer.lose_sync();
        let mut toy = Toy { byte_next: true };
        framer.feed(&mut toy, &[b'S', 5, 0xAA, 1, b'x'], meta(1), &mut pdus);
        assert_eq!(
            seen(&pdus),
            [('b', b"S".to_vec(), 1, 1, 1), ('p', b"x".to_vec(), 3, 1, 1)]
        );
    }

    #[test]
    fn a_format_announcing_a_pdu_of_no_bytes_drops_the_chunk_instead_of_looping() {
        /// Says every PDU has neither header nor body.
        struct Empty;
        impl PduFormat for Empty {
            type Head = ();
            fn header_len(&self) -> usize {
                0
            }
            fn read_header(&mut self, _header: &[u8]) -> Option<PduHeader<()>> {
                Some(PduHeader {
                    head: (),
                    body_len: 0,
                    keep: 0,
                })
            }
            fn plausible_start(&self, _bytes: &[u8]) -> bool {
                true
            }
        }
        let mut framer = PduFramer::default();
        let mut pdus = Vec::new();
        framer.feed(&mut Empty, b"anything", meta(1), &mut pdus);
        assert!(pdus.is_empty());
    }
}
