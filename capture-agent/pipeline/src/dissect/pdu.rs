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
