//! The live capture loop shared by `kubectl-shark capture --local` and `shark-agent`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use shark_store::{CaptureStats, StoreError};

use crate::live::{ANY, CaptureCounters, LiveCapture, LiveConfig, LiveError, PacketBatch};
use shark_pipeline::{Ingest, PipelineStats};

/// Why a capture run stopped early.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// Capture could not start.
    #[error(transparent)]
    Live(#[from] LiveError),
    /// The store refused a write (disk full, permissions); what was stored before stays.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a finished capture run saw.
#[derive(Debug)]
pub struct CaptureReport {
    /// Packets, bytes and entries through the pipeline.
    pub stats: PipelineStats,
    /// libpcap and queue counters, drops included.
    pub counters: Arc<CaptureCounters>,
    /// How long it ran.
    pub elapsed: Duration,
}

impl CaptureReport {
    /// The likely cause when the run found no exchange, for the capture's summary: a bridge that
    /// forwards frames it was not told to see (`--no-promiscuous`), no traffic at all, or packets
    /// that carry no protocol message read whole. `None` when it found entries.
    pub fn hint(&self, live: &LiveConfig) -> Option<String> {
        if self.stats.entries > 0 {
            return None;
        }
        let seen = match self.stats.packets {
            0 => "no packets".to_string(),
            n => format!("{n} packets but no exchange"),
        };
        let named: Vec<&str> = live
            .interfaces
            .iter()
            .map(String::as_str)
            .filter(|i| *i != ANY)
            .collect();
        Some(if !live.promiscuous && !named.is_empty() {
            format!(
                "hint: {seen}: without promiscuous mode a bridge ({}) shows only the frames addressed to it, \
                 not those it forwards between pods; capture without --no-promiscuous",
                named.join(",")
            )
        } else if self.stats.packets == 0 {
            format!(
                "hint: {seen}: nothing crossed {} while it ran, or the --bpf filter matched none of it",
                live.interfaces.join(",")
            )
        } else {
            format!(
                "hint: {seen}: they carried no whole request and response of a protocol kubectl-shark reads \
                 (only one direction seen? try -i any; encrypted; or a --bpf filter that keeps too little)"
            )
        })
    }
}

/// How long the loop waits for a batch before it checks the clock and the stop flag.
const POLL: Duration = Duration::from_millis(100);

/// Captures into `ingest` until `stop` is set or `duration` has passed; then drains the queue,
/// finishes open exchanges, seals the segment and commits the index. `on_start` receives the live
/// counters once capture runs (for an API to report while it goes on); `on_progress` is called
/// about once a second with the pipeline's counters.
pub fn run_capture(
    live: &LiveConfig,
    mut ingest: Ingest,
    stop: &Arc<AtomicBool>,
    duration: Option<Duration>,
    on_start: impl FnOnce(Arc<CaptureCounters>),
    mut on_progress: impl FnMut(&PipelineStats),
) -> Result<CaptureReport, CaptureError> {
    let capture = LiveCapture::start(live)?;
    let counters = capture.counters();
    // Counts of earlier runs into this store; this run's are added as it goes.
    let (root, node) = ingest.location();
    let (root, node) = (root.to_path_buf(), node.to_string());
    let earlier = CaptureStats::load(&root, &node);
    let save = |counters: &CaptureCounters, pipeline: &PipelineStats| {
        let this_run = CaptureStats {
            flows_evicted: pipeline.flows_evicted,
            ..counters.snapshot()
        };
        earlier.plus(&this_run).save(&root, &node)
    };
    on_start(Arc::clone(&counters));
    let started = Instant::now();
    let mut last_progress = Instant::now();
    let result = (|| {
        while !stop.load(Ordering::Relaxed) && duration.is_none_or(|d| started.elapsed() < d) {
            if let Some(batch) = capture.next_batch(POLL) {
                let pushed = push_batch(&mut ingest, &batch);
                capture.recycle(batch);
                pushed?;
            }
            if last_progress.elapsed() >= Duration::from_secs(1) {
                last_progress = Instant::now();
                ingest.flush()?;
                let stats = ingest.stats();
                on_progress(&stats);
                save(&counters, &stats)?;
            }
        }
        Ok::<_, StoreError>(())
    })();
    let queued = capture.stop();
    result?;
    for batch in &queued {
        push_batch(&mut ingest, batch)?;
    }
    let stats = ingest.finish()?;
    save(&counters, &stats)?;
    on_progress(&stats);
    Ok(CaptureReport {
        stats,
        counters,
        elapsed: started.elapsed(),
    })
}

/// Runs a batch's packets through the pipeline, in capture order.
fn push_batch(ingest: &mut Ingest, batch: &PacketBatch) -> Result<(), StoreError> {
    batch
        .packets()
        .try_for_each(|packet| ingest.push_packet(packet))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(packets: u64, entries: u64) -> CaptureReport {
        let stats = PipelineStats {
            packets,
            entries,
            ..PipelineStats::default()
        };
        CaptureReport {
            stats,
            counters: Arc::default(),
            elapsed: Duration::ZERO,
        }
    }

    #[test]
    fn a_capture_without_entries_gets_a_hint_naming_the_likely_cause() {
        let bridge = LiveConfig {
            interfaces: vec!["br0".into()],
            promiscuous: false,
            ..LiveConfig::default()
        };
        let hint = report(32, 0).hint(&bridge).unwrap_or_default();
        assert!(
            hint.contains("32 packets but no exchange") && hint.contains("--no-promiscuous"),
            "{hint}"
        );
        let promiscuous = LiveConfig {
            promiscuous: true,
            ..bridge.clone()
        };
        let hint = report(32, 0).hint(&promiscuous).unwrap_or_default();
        assert!(
            hint.contains("only one direction") && !hint.contains("--no-promiscuous"),
            "{hint}"
        );
        assert_eq!(report(32, 1).hint(&promiscuous), None, "entries found");
        let hint = report(0, 0).hint(&promiscuous).unwrap_or_default();
        assert!(hint.contains("no packets: nothing crossed br0"), "{hint}");
        let hint = report(0, 0).hint(&bridge).unwrap_or_default();
        assert!(
            hint.contains("no packets: without promiscuous mode"),
            "{hint}"
        );
    }
}
