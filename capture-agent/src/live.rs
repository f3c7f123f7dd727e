//! Live capture with libpcap: one thread per interface, feeding the pipeline through a bounded queue.
//!
//! Capture threads never block on the pipeline: when the queue is full the packet is dropped and
//! counted, so a slow pipeline shows up as drops in `status` instead of as kernel buffer overruns
//! hidden from view. libpcap's own counters (kernel and interface drops) are read as capture runs.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::Duration;

use shark_store::CaptureStats;

use crate::OwnedPacket;

/// How to open each interface.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    /// Interfaces to capture on (`any` captures on all, with Linux cooked headers).
    pub interfaces: Vec<String>,
    /// BPF capture filter applied in the kernel, e.g. `tcp port 80`.
    pub bpf: Option<String>,
    /// Bytes kept of each packet.
    pub snaplen: i32,
    /// Kernel capture buffer per interface, in bytes.
    pub buffer_size: i32,
    /// Whether to put interfaces in promiscuous mode.
    pub promiscuous: bool,
    /// Packets the queue to the pipeline holds before new ones are dropped.
    pub queue_packets: usize,
}

impl Default for LiveConfig {
    fn default() -> Self {
        LiveConfig {
            interfaces: vec!["any".into()],
            bpf: None,
            snaplen: 262_144,
            buffer_size: 32 << 20,
            promiscuous: false,
            queue_packets: 65_536,
        }
    }
}

/// Why live capture could not start.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// libpcap refused to open an interface (missing, or no permission).
    #[error("cannot capture on interface `{interface}`: {source} (capturing needs root or CAP_NET_RAW+CAP_NET_ADMIN)")]
    Open {
        /// The interface.
        interface: String,
        /// libpcap's error.
        #[source]
        source: pcap::Error,
    },
    /// The BPF filter does not compile.
    #[error("capture filter `{filter}` is not valid BPF: {source}")]
    Filter {
        /// The filter given.
        filter: String,
        /// libpcap's error.
        #[source]
        source: pcap::Error,
    },
    /// A capture thread could not be started.
    #[error("cannot start a capture thread: {0}")]
    Thread(#[source] std::io::Error),
}

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
        }
    }

    /// All drops, wherever they happened.
    pub fn total_dropped(&self) -> u64 {
        self.snapshot().dropped()
    }
}

/// A running live capture: packets arrive on [`LiveCapture::packets`] until [`LiveCapture::stop`].
pub struct LiveCapture {
    packets: Receiver<OwnedPacket>,
    stop: Arc<AtomicBool>,
    counters: Arc<CaptureCounters>,
    threads: Vec<JoinHandle<()>>,
}

/// The read timeout given to libpcap (a fallback; the capture runs non-blocking).
const POLL_MS: i32 = 100;
/// How long an idle capture thread sleeps before it asks libpcap again.
const IDLE_SLEEP: Duration = Duration::from_millis(2);

impl LiveCapture {
    /// Opens every interface (all must open, or none is used) and starts capturing.
    pub fn start(config: &LiveConfig) -> Result<Self, LiveError> {
        let mut opened = Vec::new();
        for interface in &config.interfaces {
            opened.push((interface.clone(), open_interface(interface, config)?));
        }
        let (tx, rx) = sync_channel(config.queue_packets.max(1));
        let stop = Arc::new(AtomicBool::new(false));
        let counters = Arc::new(CaptureCounters::default());
        let mut threads = Vec::new();
        for (interface, capture) in opened {
            let worker = Worker {
                capture,
                tx: tx.clone(),
                stop: Arc::clone(&stop),
                counters: Arc::clone(&counters),
                last_dropped: 0,
                last_if_dropped: 0,
            };
            let handle = std::thread::Builder::new()
                .name(format!("capture-{interface}"))
                .spawn(move || worker.run())
                .map_err(LiveError::Thread)?;
            threads.push(handle);
        }
        Ok(LiveCapture { packets: rx, stop, counters, threads })
    }

    /// The next packet, or `None` when none arrived within `wait` (or capture has ended).
    pub fn next_packet(&self, wait: Duration) -> Option<OwnedPacket> {
        self.packets.recv_timeout(wait).ok()
    }

    /// The flag that stops capture when set (e.g. by a signal handler).
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.stop)
    }

    /// The live counters.
    pub fn counters(&self) -> Arc<CaptureCounters> {
        Arc::clone(&self.counters)
    }

    /// Stops the capture threads, then returns the packets still queued, in arrival order.
    pub fn stop(self) -> Vec<OwnedPacket> {
        self.stop.store(true, Ordering::SeqCst);
        for thread in self.threads {
            // A capture thread that panicked has nothing more to give; the rest still drain.
            let _ = thread.join();
        }
        self.packets.try_iter().collect()
    }
}

fn open_interface(interface: &str, config: &LiveConfig) -> Result<pcap::Capture<pcap::Active>, LiveError> {
    let open_err = |source| LiveError::Open { interface: interface.to_string(), source };
    let mut capture = pcap::Capture::from_device(interface)
        .map_err(open_err)?
        .immediate_mode(true)
        .promisc(config.promiscuous)
        .snaplen(config.snaplen)
        .buffer_size(config.buffer_size)
        .precision(pcap::Precision::Nano)
        .timeout(POLL_MS)
        .open()
        .map_err(open_err)?
        // Non-blocking: in immediate mode libpcap may ignore the read timeout and block until a
        // packet comes, so an idle interface would keep the thread from ever seeing `stop`.
        .setnonblock()
        .map_err(open_err)?;
    if let Some(filter) = &config.bpf {
        capture
            .filter(filter, true)
            .map_err(|source| LiveError::Filter { filter: filter.clone(), source })?;
    }
    Ok(capture)
}

/// One interface's capture loop.
struct Worker {
    capture: pcap::Capture<pcap::Active>,
    tx: SyncSender<OwnedPacket>,
    stop: Arc<AtomicBool>,
    counters: Arc<CaptureCounters>,
    /// libpcap's cumulative counters as last read, to add only what is new.
    last_dropped: u64,
    last_if_dropped: u64,
}

/// Read libpcap's counters after this many packets (and on every idle poll).
const STATS_EVERY: u64 = 4096;

impl Worker {
    fn run(mut self) {
        let linktype = u32::try_from(self.capture.get_datalink().0).unwrap_or(0);
        let mut since_stats = 0u64;
        let mut idle_polls = 0u64;
        while !self.stop.load(Ordering::Relaxed) {
            match self.capture.next_packet() {
                Ok(packet) => {
                    let header = packet.header;
                    // `timeval` fields are not i64 on every platform libpcap runs on.
                    #[allow(clippy::useless_conversion)]
                    let ts_ns = i64::from(header.ts.tv_sec)
                        .saturating_mul(1_000_000_000)
                        .saturating_add(i64::from(header.ts.tv_usec));
                    let owned = OwnedPacket { ts_ns, orig_len: header.len, linktype, data: packet.data.to_vec() };
                    self.counters.received.fetch_add(1, Ordering::Relaxed);
                    match self.tx.try_send(owned) {
                        Ok(()) => {}
                        Err(TrySendError::Full(_)) => {
                            self.counters.queue_dropped.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(TrySendError::Disconnected(_)) => break,
                    }
                    since_stats += 1;
                    if since_stats >= STATS_EVERY {
                        since_stats = 0;
                        self.read_stats();
                    }
                }
                Err(pcap::Error::TimeoutExpired) => {
                    idle_polls += 1;
                    // Read libpcap's counters about every 100 ms of idleness, not on every poll.
                    if idle_polls.is_multiple_of(50) {
                        self.read_stats();
                    }
                    std::thread::sleep(IDLE_SLEEP);
                }
                Err(_) => break,
            }
        }
        self.read_stats();
    }

    /// Adds what libpcap dropped since the last read to the shared counters.
    fn read_stats(&mut self) {
        let Ok(stat) = self.capture.stats() else { return };
        let (dropped, if_dropped) = (u64::from(stat.dropped), u64::from(stat.if_dropped));
        self.counters.kernel_dropped.fetch_add(dropped.saturating_sub(self.last_dropped), Ordering::Relaxed);
        self.counters.interface_dropped.fetch_add(if_dropped.saturating_sub(self.last_if_dropped), Ordering::Relaxed);
        (self.last_dropped, self.last_if_dropped) = (dropped, if_dropped);
    }
}

/// This machine's host name: the default node name.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_string())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "local".to_string())
}
