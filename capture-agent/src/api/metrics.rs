//! `GET /metrics`: Prometheus text exposition of packets, drops, entries, bytes and segments.

use std::fmt::Write;
use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use shark_store::Store;

use super::state::{ApiState, lock};

/// The metrics page.
pub async fn metrics(State(state): State<ApiState>) -> impl IntoResponse {
    let root = state.inner.store_root.clone();
    let nodes = tokio::task::spawn_blocking(move || Store::open(&root).and_then(|s| s.status()))
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    let p = *lock(&state.inner.pipeline);
    let node = &state.inner.node;
    let mut page = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, value: u64| {
        let _ = writeln!(
            page,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name}{{node=\"{node}\"}} {value}"
        );
    };
    metric(
        "shark_packets_total",
        "counter",
        "Packets through the pipeline.",
        p.packets,
    );
    metric(
        "shark_bytes_total",
        "counter",
        "Bytes on the wire through the pipeline.",
        p.bytes,
    );
    metric(
        "shark_entries_total",
        "counter",
        "Entries produced.",
        p.entries,
    );
    metric(
        "shark_decode_errors_total",
        "counter",
        "Packets that could not be decoded.",
        p.decode_errors,
    );
    metric(
        "shark_tcp_gaps_total",
        "counter",
        "TCP stream holes given up on.",
        p.gaps,
    );
    metric(
        "shark_flows_evicted_total",
        "counter",
        "Flows closed early to stay within --memory-limit (half-open and unanswered ones first).",
        p.flows_evicted,
    );
    if let Some(c) = lock(&state.inner.capture).as_ref() {
        metric(
            "shark_capture_received_total",
            "counter",
            "Packets libpcap delivered.",
            c.received.load(Ordering::Relaxed),
        );
        metric(
            "shark_drops_queue_total",
            "counter",
            "Packets dropped: pipeline queue full.",
            c.queue_dropped.load(Ordering::Relaxed),
        );
        metric(
            "shark_drops_kernel_total",
            "counter",
            "Packets dropped by the kernel.",
            c.kernel_dropped.load(Ordering::Relaxed),
        );
        metric(
            "shark_drops_interface_total",
            "counter",
            "Packets dropped by the interface.",
            c.interface_dropped.load(Ordering::Relaxed),
        );
    }
    let sum = |f: fn(&shark_store::NodeStatus) -> u64| nodes.iter().map(f).sum::<u64>();
    metric(
        "shark_store_segments",
        "gauge",
        "PCAP segments kept.",
        sum(|n| n.segments),
    );
    metric(
        "shark_store_pcap_bytes",
        "gauge",
        "Bytes of PCAP segments kept.",
        sum(|n| n.pcap_bytes),
    );
    metric(
        "shark_store_entries",
        "gauge",
        "Entries indexed.",
        sum(|n| n.entries),
    );
    metric(
        "shark_store_index_bytes",
        "gauge",
        "Bytes of the index.",
        sum(|n| n.index_bytes),
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], page)
}
