//! IP fragment reassembly: fragments are held per datagram until every byte has arrived; the
//! first copy of a byte wins when fragments overlap. Bounded in datagrams, bytes and age.

use std::collections::HashMap;
use std::net::IpAddr;

use super::ip::IpPacket;

/// Largest datagram payload accepted (IPv4's limit; also applied to IPv6).
const MAX_DATAGRAM: usize = 65_535;

/// Bounds on the fragments held at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefragLimits {
    /// Datagrams being reassembled at once; the oldest is dropped past this.
    pub max_datagrams: usize,
    /// Bytes held in fragments at once; the oldest datagram is dropped past this.
    pub max_bytes: usize,
    /// A datagram whose fragments stop arriving for this long is dropped.
    pub timeout_ns: i64,
}

impl Default for DefragLimits {
    fn default() -> Self {
        DefragLimits {
            max_datagrams: 4096,
            max_bytes: 32 << 20,
            timeout_ns: 30_000_000_000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct DatagramKey {
    src: IpAddr,
    dst: IpAddr,
    protocol: u8,
    id: u32,
}

#[derive(Debug, Default)]
struct Pending {
    /// Fragments in arrival order: payload offset and bytes.
    pieces: Vec<(usize, Vec<u8>)>,
    /// Payload length, known once the last fragment arrived.
    total: Option<usize>,
    bytes: usize,
    first_ts: i64,
    last_ts: i64,
}

/// Reassembles fragmented IP datagrams.
#[derive(Debug, Default)]
pub struct Defragmenter {
    limits: DefragLimits,
    pending: HashMap<DatagramKey, Pending>,
    bytes: usize,
    dropped: u64,
}

impl Defragmenter {
    /// A reassembler with these bounds.
    pub fn new(limits: DefragLimits) -> Self {
        Defragmenter {
            limits,
            ..Default::default()
        }
    }

    /// Datagrams given up (timed out, evicted, or impossible).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Adds a fragment; returns the whole datagram's payload once every byte has arrived.
    pub fn push(&mut self, packet: &IpPacket<'_>, ts_ns: i64) -> Option<Vec<u8>> {
        let fragment = packet.fragment?;
        let end = fragment.offset.checked_add(packet.payload.len())?;
        let key = DatagramKey {
            src: packet.src,
            dst: packet.dst,
            protocol: packet.protocol,
            id: fragment.id,
        };
        if end > MAX_DATAGRAM {
            self.drop_datagram(&key);
            self.dropped += 1;
            return None;
        }
        self.expire(ts_ns);
        let pending = self.pending.entry(key).or_insert_with(|| Pending {
            first_ts: ts_ns,
            ..Default::default()
        });
        pending.last_ts = ts_ns;
        if !fragment.more {
            pending.total = Some(end);
        }
        pending.bytes += packet.payload.len();
        pending
            .pieces
            .push((fragment.offset, packet.payload.to_vec()));
        self.bytes += packet.payload.len();
        let complete = pending
            .total
            .filter(|&total| covers(&pending.pieces, total));
        if let Some(total) = complete {
            let done = self.pending.remove(&key)?;
            self.bytes -= done.bytes;
            let mut datagram = vec![0u8; total];
            // Later copies first, so the first copy of each byte is written last and wins.
            for (offset, bytes) in done.pieces.iter().rev() {
                let take = bytes.len().min(total.saturating_sub(*offset));
                if let (Some(dst), Some(src)) =
                    (datagram.get_mut(*offset..offset + take), bytes.get(..take))
                {
                    dst.copy_from_slice(src);
                }
            }
            return Some(datagram);
        }
        self.enforce_bounds();
        None
    }

    fn drop_datagram(&mut self, key: &DatagramKey) {
        if let Some(p) = self.pending.remove(key) {
            self.bytes -= p.bytes;
        }
    }

    fn expire(&mut self, now_ns: i64) {
        let timeout = self.limits.timeout_ns;
        let before = self.pending.len();
        let mut freed = 0;
        self.pending.retain(|_, p| {
            let keep = now_ns.saturating_sub(p.last_ts) <= timeout;
            if !keep {
                freed += p.bytes;
            }
            keep
        });
        self.bytes -= freed;
        self.dropped += (before - self.pending.len()) as u64;
    }

    fn enforce_bounds(&mut self) {
        while self.pending.len() > self.limits.max_datagrams || self.bytes > self.limits.max_bytes {
            let Some(oldest) = self
                .pending
                .iter()
                .min_by_key(|(_, p)| p.first_ts)
                .map(|(k, _)| *k)
            else {
                break;
            };
            self.drop_datagram(&oldest);
            self.dropped += 1;
        }
    }
}

/// Whether the pieces cover every byte of `0..total`.
fn covers(pieces: &[(usize, Vec<u8>)], total: usize) -> bool {
    let mut spans: Vec<(usize, usize)> = pieces.iter().map(|(o, b)| (*o, o + b.len())).collect();
    spans.sort_unstable();
    let mut reached = 0;
    for (start, end) in spans {
        if start > reached {
            return false;
        }
        reached = reached.max(end);
    }
    reached >= total
}
