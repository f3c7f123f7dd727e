//! The hand-off from capture threads to the pipeline: whole batches of packets, one channel message
//! per batch, bounded in bytes rather than in messages.
//!
//! A capture thread never blocks here. A packet that would take the bytes queued (plus the batch it
//! joins) past the bound is dropped and counted in [`CaptureCounters::queue_dropped`]; every packet
//! offered is counted in [`CaptureCounters::received`], so `received - queue_dropped` is exactly what
//! the pipeline gets. Emptied batches go back to a small spare list and are reused, so steady
//! capture allocates nothing per packet. Capture threads check the bound and add to it in two
//! steps, so with several interfaces the queue may pass it by at most one batch per thread.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::batch::{PacketBatch, SLOT_COST};
use super::counters::CaptureCounters;

/// A batch is handed over once it holds this many bytes (or when the capture has nothing more ready).
pub(crate) const BATCH_BYTES: usize = 256 << 10;
/// Emptied batches kept for reuse; more are freed.
const SPARE_BATCHES: usize = 8;

/// What the senders and the receiver share.
#[derive(Debug)]
struct Shared {
    /// Bytes in batches handed over and not yet given back.
    queued: AtomicUsize,
    /// The bound on `queued` plus the batches being filled.
    limit: usize,
    /// Emptied batches, ready to be filled again.
    spare: Mutex<Vec<PacketBatch>>,
}

/// The queue between capture threads and the pipeline.
#[derive(Debug)]
pub(crate) struct BatchQueue {
    tx: Sender<PacketBatch>,
    rx: Receiver<PacketBatch>,
    shared: Arc<Shared>,
}

impl BatchQueue {
    /// A queue holding at most about `limit_bytes` of packets.
    pub(crate) fn new(limit_bytes: usize) -> Self {
        let (tx, rx) = channel();
        let shared = Arc::new(Shared {
            queued: AtomicUsize::new(0),
            limit: limit_bytes,
            spare: Mutex::new(Vec::new()),
        });
        BatchQueue { tx, rx, shared }
    }

    /// A sender for one capture thread, whose packets are of `linktype`.
    pub(crate) fn sender(&self, linktype: u32, counters: Arc<CaptureCounters>) -> BatchSender {
        BatchSender {
            tx: self.tx.clone(),
            shared: Arc::clone(&self.shared),
            counters,
            linktype,
            batch: PacketBatch::new(linktype),
        }
    }

    /// The next batch, or `None` when none came within `wait`.
    pub(crate) fn recv(&self, wait: Duration) -> Option<PacketBatch> {
        self.rx.recv_timeout(wait).ok()
    }

    /// The batches queued now, in the order they were handed over.
    pub(crate) fn drain(&self) -> Vec<PacketBatch> {
        self.rx.try_iter().collect()
    }

    /// Gives a batch the pipeline is done with back: its bytes leave the bound, its buffers are reused.
    pub(crate) fn recycle(&self, mut batch: PacketBatch) {
        self.shared
            .queued
            .fetch_sub(batch.footprint(), Ordering::AcqRel);
        let mut spare = self
            .shared
            .spare
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if spare.len() < SPARE_BATCHES {
            batch.reset(0);
            spare.push(batch);
        }
    }

    /// Bytes handed over and not yet given back.
    #[cfg(test)]
    pub(crate) fn queued_bytes(&self) -> usize {
        self.shared.queued.load(Ordering::Acquire)
    }
}

/// One capture thread's end of the queue: fills a batch and hands it over.
#[derive(Debug)]
pub(crate) struct BatchSender {
    tx: Sender<PacketBatch>,
    shared: Arc<Shared>,
    counters: Arc<CaptureCounters>,
    linktype: u32,
    batch: PacketBatch,
}

impl BatchSender {
    /// Adds a packet to the batch, or drops and counts it when the queue is full. Returns whether a
    /// full batch was handed over.
    pub(crate) fn offer(&mut self, ts_ns: i64, orig_len: u32, data: &[u8]) -> bool {
        self.counters.received.fetch_add(1, Ordering::Relaxed);
        let after = self.shared.queued.load(Ordering::Acquire)
            + self.batch.footprint()
            + data.len()
            + SLOT_COST;
        if after > self.shared.limit {
            self.counters.queue_dropped.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        self.batch.push(ts_ns, orig_len, data);
        if self.batch.footprint() < BATCH_BYTES {
            return false;
        }
        self.flush();
        true
    }

    /// Hands the batch being filled (if it holds anything) to the pipeline.
    pub(crate) fn flush(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let spare = self
            .shared
            .spare
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let mut fresh = spare.unwrap_or_default();
        fresh.reset(self.linktype);
        let full = std::mem::replace(&mut self.batch, fresh);
        let bytes = full.footprint();
        self.shared.queued.fetch_add(bytes, Ordering::AcqRel);
        if let Err(unsent) = self.tx.send(full) {
            // Nobody reads any more: what was in the batch is lost, and counted so.
            self.shared.queued.fetch_sub(bytes, Ordering::AcqRel);
            self.counters
                .queue_dropped
                .fetch_add(unsent.0.len() as u64, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;

    use super::*;

    /// A packet whose bytes name it: `n` as 8 little-endian bytes, padded to `len`.
    fn packet(n: u64, len: usize) -> Vec<u8> {
        let mut data = n.to_le_bytes().to_vec();
        data.resize(len.max(8), 0);
        data
    }

    fn numbers(batch: &PacketBatch) -> Vec<u64> {
        batch
            .packets()
            .filter_map(|p| {
                p.data
                    .get(..8)
                    .and_then(|b| b.try_into().ok())
                    .map(u64::from_le_bytes)
            })
            .collect()
    }

    #[test]
    fn packets_arrive_in_order_in_few_messages_and_the_bound_is_given_back() {
        let counters = Arc::new(CaptureCounters::default());
        let queue = BatchQueue::new(64 << 20);
        let mut sender = queue.sender(1, Arc::clone(&counters));
        for n in 0..10_000 {
            sender.offer(i64::try_from(n).unwrap_or(0), 1000, &packet(n, 1000));
        }
        sender.flush();
        let batches = queue.drain();
        // One message per 256 KiB batch (about 40), not one per packet.
        let per_batch = BATCH_BYTES.div_ceil(1000 + SLOT_COST);
        assert_eq!(batches.len(), 10_000usize.div_ceil(per_batch));
        let got: Vec<u64> = batches.iter().flat_map(numbers).collect();
        assert_eq!(got, (0..10_000).collect::<Vec<_>>());
        for batch in batches {
            queue.recycle(batch);
        }
        assert_eq!(queue.queued_bytes(), 0);
        assert_eq!(counters.snapshot().received, 10_000);
        assert_eq!(counters.snapshot().queue_dropped, 0);
    }

    #[test]
    fn a_slow_consumer_makes_drops_that_are_counted_exactly_and_keeps_order() {
        let counters = Arc::new(CaptureCounters::default());
        // Room for about 4 batches: a consumer far slower than the capture overflows it.
        let queue = BatchQueue::new(4 * BATCH_BYTES);
        let mut sender = queue.sender(1, Arc::clone(&counters));
        let done = Arc::new(AtomicBool::new(false));
        let consumer = {
            let done = Arc::clone(&done);
            std::thread::spawn(move || {
                let mut seen = Vec::new();
                loop {
                    let finished = done.load(Ordering::Acquire);
                    match queue.recv(Duration::from_millis(5)) {
                        Some(batch) => {
                            std::thread::sleep(Duration::from_millis(20));
                            seen.extend(numbers(&batch));
                            queue.recycle(batch);
                        }
                        None if finished => return (seen, queue.queued_bytes()),
                        None => {}
                    }
                }
            })
        };
        let sent = 20_000u64;
        for n in 0..sent {
            sender.offer(0, 1500, &packet(n, 1500));
        }
        sender.flush();
        done.store(true, Ordering::Release);
        let (seen, left_queued) = consumer.join().expect("consumer thread");
        let counts = counters.snapshot();
        assert_eq!(counts.received, sent);
        assert!(counts.queue_dropped > 0, "the slow consumer caused no drop");
        assert_eq!(
            seen.len() as u64 + counts.queue_dropped,
            sent,
            "every packet is delivered or counted as dropped"
        );
        assert!(
            seen.windows(2).all(|w| w[0] < w[1]),
            "delivered packets keep their capture order"
        );
        assert_eq!(left_queued, 0);
    }

    #[test]
    fn a_packet_larger_than_the_whole_queue_is_dropped_and_counted() {
        let counters = Arc::new(CaptureCounters::default());
        let queue = BatchQueue::new(1000);
        let mut sender = queue.sender(1, Arc::clone(&counters));
        sender.offer(0, 2000, &packet(1, 2000));
        sender.offer(0, 100, &packet(2, 100));
        sender.flush();
        let got: Vec<u64> = queue.drain().iter().flat_map(numbers).collect();
        assert_eq!(got, [2]);
        assert_eq!(counters.snapshot().queue_dropped, 1);
    }
}
