//! Live capture with libpcap: one thread per interface, feeding the pipeline batches of packets
//! through a queue bounded in bytes.
//!
//! libpcap runs in buffered mode (TPACKET_V3 on Linux), not immediate mode: the kernel fills blocks
//! of packets and wakes the capture thread once per block (or after [`BLOCK_TIMEOUT_MS`] when traffic
//! is light), where immediate mode wakes it for every packet. A capture thread reads every packet
//! ready, copies it into a batch, and hands the batch over when it is full or the ring is empty, so
//! the pipeline wakes once per batch rather than per packet. The price is up to
//! [`BLOCK_TIMEOUT_MS`] of latency, unseen behind the index's once-a-second commit.
//!
//! Capture threads never block on the pipeline: when the queue is full the packet is dropped and
//! counted, so a slow pipeline shows up as drops in `status` instead of as kernel buffer overruns
//! hidden from view. libpcap's own counters (kernel and interface drops) are read as capture runs.

mod batch;
mod counters;
mod queue;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec, poll};

pub use batch::PacketBatch;
pub use counters::CaptureCounters;
use queue::{BatchQueue, BatchSender};

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
    /// Whether to put interfaces in promiscuous mode (the default, as tcpdump and Wireshark do):
    /// without it a bridge's own capture sees only the frames addressed to the bridge, not those
    /// it forwards between its ports. (`any` needs it not: it sees every interface's frames,
    /// bridge ports included, and libpcap opens it either way.)
    pub promiscuous: bool,
    /// Bytes of packets the queue to the pipeline holds before new ones are dropped.
    pub queue_bytes: usize,
}

impl Default for LiveConfig {
    fn default() -> Self {
        LiveConfig {
            interfaces: vec![ANY.into()],
            bpf: None,
            snaplen: 262_144,
            buffer_size: 32 << 20,
            promiscuous: true,
            queue_bytes: 64 << 20,
        }
    }
}

/// Why live capture could not start.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// libpcap refused to open an interface (missing, or no permission).
    #[error(
        "cannot capture on interface `{interface}`: {source} (capturing needs root or CAP_NET_RAW)"
    )]
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

/// A running live capture: batches of packets arrive on [`LiveCapture::next_batch`] until
/// [`LiveCapture::stop`]; each goes back with [`LiveCapture::recycle`] once its packets are used.
pub struct LiveCapture {
    queue: BatchQueue,
    stop: Arc<AtomicBool>,
    counters: Arc<CaptureCounters>,
    threads: Vec<JoinHandle<()>>,
}

/// The pseudo-interface that captures on every interface (with Linux cooked headers).
pub const ANY: &str = "any";

/// How long the kernel holds a block that is not full before handing it over (libpcap's timeout).
pub const BLOCK_TIMEOUT_MS: i32 = 10;
/// How long an idle capture thread waits for the kernel before it checks whether to stop.
const IDLE_WAIT: Timespec = Timespec {
    tv_sec: 0,
    tv_nsec: 100_000_000,
};
/// Once stopping, how long to wait for the kernel's last block (packets captured before the stop):
/// twice [`BLOCK_TIMEOUT_MS`], the time the kernel may take to hand over a block that is not full.
const DRAIN_WAIT: Timespec = Timespec {
    tv_sec: 0,
    tv_nsec: 2 * BLOCK_TIMEOUT_MS as i64 * 1_000_000,
};
/// Once stopping, the longest a capture thread goes on reading packets still arriving.
const DRAIN_LIMIT: Duration = Duration::from_millis(500);
/// How often libpcap's drop counters are read.
const STATS_EVERY: Duration = Duration::from_millis(100);
/// Packets read between looks at the clock when no batch was handed over.
const CLOCK_EVERY: u32 = 1024;

impl LiveCapture {
    /// Opens every interface (all must open, or none is used) and starts capturing.
    pub fn start(config: &LiveConfig) -> Result<Self, LiveError> {
        let mut opened = Vec::new();
        for interface in &config.interfaces {
            opened.push((interface.clone(), open_interface(interface, config)?));
        }
        let queue = BatchQueue::new(config.queue_bytes);
        let stop = Arc::new(AtomicBool::new(false));
        let counters = Arc::new(CaptureCounters::default());
        let mut threads = Vec::new();
        for (interface, capture) in opened {
            let linktype = u32::try_from(capture.get_datalink().0).unwrap_or(0);
            let worker = Worker {
                capture,
                sender: queue.sender(linktype, Arc::clone(&counters)),
                stop: Arc::clone(&stop),
                counters: Arc::clone(&counters),
                last_dropped: 0,
                last_if_dropped: 0,
            };
            let spawned = std::thread::Builder::new()
                .name(format!("capture-{interface}"))
                .spawn(move || worker.run());
            match spawned {
                Ok(handle) => threads.push(handle),
                Err(e) => {
                    // The threads already running would otherwise capture for nobody.
                    stop.store(true, Ordering::SeqCst);
                    threads
                        .into_iter()
                        .for_each(|t: JoinHandle<()>| drop(t.join()));
                    return Err(LiveError::Thread(e));
                }
            }
        }
        Ok(LiveCapture {
            queue,
            stop,
            counters,
            threads,
        })
    }

    /// The next batch of packets, or `None` when none arrived within `wait`.
    pub fn next_batch(&self, wait: Duration) -> Option<PacketBatch> {
        self.queue.recv(wait)
    }

    /// Gives back a batch whose packets were used: its bytes leave the queue's bound and its
    /// buffers are reused for the next packets.
    pub fn recycle(&self, batch: PacketBatch) {
        self.queue.recycle(batch);
    }

    /// The flag that stops capture when set (e.g. by a signal handler).
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.stop)
    }

    /// The live counters.
    pub fn counters(&self) -> Arc<CaptureCounters> {
        Arc::clone(&self.counters)
    }

    /// Stops the capture threads (each hands over the packets it holds first), then returns the
    /// batches still queued, in arrival order.
    pub fn stop(self) -> Vec<PacketBatch> {
        self.stop.store(true, Ordering::SeqCst);
        for thread in self.threads {
            // A capture thread that panicked has nothing more to give; the rest still drain.
            let _ = thread.join();
        }
        self.queue.drain()
    }
}

fn open_interface(
    interface: &str,
    config: &LiveConfig,
) -> Result<pcap::Capture<pcap::Active>, LiveError> {
    let open_err = |source| LiveError::Open {
        interface: interface.to_string(),
        source,
    };
    let mut capture = pcap::Capture::from_device(interface)
        .map_err(open_err)?
        .immediate_mode(false)
        .promisc(config.promiscuous)
        .snaplen(config.snaplen)
        .buffer_size(config.buffer_size)
        .precision(pcap::Precision::Nano)
        .timeout(BLOCK_TIMEOUT_MS)
        .open()
        .map_err(open_err)?
        // Non-blocking: libpcap says when nothing is ready (time to hand the batch over), and the
        // thread waits on the capture's descriptor itself, waking up to check `stop`.
        .setnonblock()
        .map_err(open_err)?;
    if let Some(filter) = &config.bpf {
        capture
            .filter(filter, true)
            .map_err(|source| LiveError::Filter {
                filter: filter.clone(),
                source,
            })?;
    }
    Ok(capture)
}

/// One interface's capture loop.
struct Worker {
    capture: pcap::Capture<pcap::Active>,
    sender: BatchSender,
    stop: Arc<AtomicBool>,
    counters: Arc<CaptureCounters>,
    /// libpcap's cumulative counters as last read, to add only what is new.
    last_dropped: u64,
    last_if_dropped: u64,
}

impl Worker {
    fn run(mut self) {
        let mut last_stats = Instant::now();
        // Packets since the clock was last looked at (for libpcap's counters).
        let mut unchecked = 0u32;
        // Once stopping: when to give up reading what the kernel still holds.
        let mut drain_until: Option<Instant> = None;
        loop {
            if drain_until.is_none() && self.stop.load(Ordering::Relaxed) {
                drain_until = Some(Instant::now() + DRAIN_LIMIT);
            }
            if drain_until.is_some_and(|until| Instant::now() >= until) {
                break;
            }
            let check_clock = match self.capture.next_packet() {
                Ok(packet) => {
                    let header = packet.header;
                    // With nanosecond precision libpcap puts nanoseconds in `tv_usec`; `timeval`
                    // fields are not i64 on every platform libpcap runs on.
                    #[allow(clippy::useless_conversion)]
                    let ts_ns = i64::from(header.ts.tv_sec)
                        .saturating_mul(1_000_000_000)
                        .saturating_add(i64::from(header.ts.tv_usec));
                    // Even when every packet is dropped (no batch handed over) the clock is read now and then.
                    unchecked += 1;
                    self.sender.offer(ts_ns, header.len, packet.data) || unchecked >= CLOCK_EVERY
                }
                Err(pcap::Error::TimeoutExpired) => {
                    // Nothing ready: hand over what we have, then sleep until the kernel has a block.
                    self.sender.flush();
                    let wait = if drain_until.is_some() {
                        &DRAIN_WAIT
                    } else {
                        &IDLE_WAIT
                    };
                    let mut fds = [PollFd::new(&self.capture, PollFlags::IN)];
                    let waited = poll(&mut fds, Some(wait));
                    // When stopping, a wait that saw nothing means the kernel holds no more packets;
                    // an interrupted wait just goes round again.
                    if drain_until.is_some() && waited.is_ok_and(|ready| ready == 0) {
                        break;
                    }
                    true
                }
                Err(_) => break,
            };
            if check_clock {
                unchecked = 0;
                if last_stats.elapsed() >= STATS_EVERY {
                    last_stats = Instant::now();
                    self.read_stats();
                }
            }
        }
        self.sender.flush();
        self.read_stats();
    }

    /// Adds what libpcap dropped since the last read to the shared counters.
    fn read_stats(&mut self) {
        let Ok(stat) = self.capture.stats() else {
            return;
        };
        let (dropped, if_dropped) = (u64::from(stat.dropped), u64::from(stat.if_dropped));
        self.counters
            .kernel_dropped
            .fetch_add(dropped.saturating_sub(self.last_dropped), Ordering::Relaxed);
        self.counters.interface_dropped.fetch_add(
            if_dropped.saturating_sub(self.last_if_dropped),
            Ordering::Relaxed,
        );
        (self.last_dropped, self.last_if_dropped) = (dropped, if_dropped);
    }
}

/// This machine's host name: the default node name.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        // Host names ignore case; node names (and so the store's directories) are lowercase.
        .map(|name| name.trim().to_ascii_lowercase())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "local".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Promiscuous by default, and that default opens `any` (a pseudo-interface with no
    /// promiscuous mode of its own) as well as a real interface. Needs root, as the test below.
    #[test]
    fn the_promiscuous_default_opens_any_and_a_real_interface() {
        let config = LiveConfig::default();
        assert!(config.promiscuous);
        for interface in [ANY, "lo"] {
            let config = LiveConfig {
                interfaces: vec![interface.into()],
                ..config.clone()
            };
            let capture =
                LiveCapture::start(&config).unwrap_or_else(|e| panic!("{interface}: {e}"));
            drop(capture.stop());
        }
    }

    /// Capturing needs root (or CAP_NET_RAW), as the live tests in tests/live_capture.rs do.
    #[test]
    fn stopping_right_after_a_burst_returns_every_packet_of_it_in_order() {
        let receiver = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        let port = receiver.local_addr().expect("address").port();
        let config = LiveConfig {
            interfaces: vec!["lo".into()],
            bpf: Some(format!("udp dst port {port}")),
            ..LiveConfig::default()
        };
        let capture = LiveCapture::start(&config).expect("capture on lo (run the tests as root)");
        let sender = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        let burst = 500u32;
        for n in 0..burst {
            sender
                .send_to(&n.to_le_bytes(), ("127.0.0.1", port))
                .expect("send");
        }
        // No pause: the tail of the burst is still in a block the kernel has not handed over.
        let counters = capture.counters();
        let mut batches = Vec::new();
        while let Some(batch) = capture.next_batch(Duration::ZERO) {
            batches.push(batch);
        }
        batches.extend(capture.stop());
        // The datagram's payload is its number: the last 4 bytes of each frame.
        let numbers: Vec<u32> = batches
            .iter()
            .flat_map(PacketBatch::packets)
            .filter_map(|p| p.data.len().checked_sub(4).and_then(|at| p.data.get(at..)))
            .filter_map(|tail| tail.try_into().ok().map(u32::from_le_bytes))
            .collect();
        assert_eq!(numbers, (0..burst).collect::<Vec<_>>());
        assert_eq!(counters.snapshot().received, u64::from(burst));
        assert_eq!(counters.total_dropped(), 0);
    }
}
