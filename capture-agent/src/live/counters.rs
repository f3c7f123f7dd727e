//! The live capture's packet and drop counters, shared by the capture threads and whoever reports
//! them.

use std::sync::atomic::{AtomicU64, Ordering};

use shark_store::CaptureStats;

/// Drop and packet counters, shared by the capture threads and whoever reports them.
#[derive(Debug, Default)]
pub struct CaptureCounters {
    /// Packets libpcap handed us.
    pub received: AtomicU64,
    /// Packets dropped because the queue to the pipeline was full.
    pub queue_dropped: AtomicU64,
    /// Packets the kernel dropped (libpcap `ps_drop`), summed over interfaces.
    pub kernel_dropped: AtomicU64,
    /// Packets the interface dropped (libpcap `ps_ifdrop`), summed over interfaces.
    pub interface_dropped: AtomicU64,
}

impl CaptureCounters {
    /// The counts now, in the form the store keeps.
    pub fn snapshot(&self) -> CaptureStats {
        CaptureStats {
            received: self.received.load(Ordering::Relaxed),
            queue_dropped: self.queue_dropped.load(Ordering::Relaxed),
            kernel_dropped: self.kernel_dropped.load(Ordering::Relaxed),
            interface_dropped: self.interface_dropped.load(Ordering::Relaxed),
            flows_evicted: 0,
        }
    }

    /// All drops, wherever they happened.
    pub fn total_dropped(&self) -> u64 {
        self.snapshot().dropped()
    }
}
