//! What the pipeline says is still unfinished bounds every entry it sends later: the promise
//! replay relies on to show an entry before its flow ends. Checked after every packet of every
//! public capture.

use std::path::{Path, PathBuf};

use crate::common::{VecSink, fixtures_dir};
use shark_pipeline::{FileSource, Pipeline, PipelineConfig};
use shark_store::Node;

/// Every capture file under `dir`.
fn captures(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("fixtures folder").flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(captures(&path));
        } else if path
            .extension()
            .is_some_and(|e| e == "pcap" || e == "pcapng")
        {
            found.push(path);
        }
    }
    found.sort();
    found
}

/// After packet `pushed` the pipeline said nothing earlier than `unfinished` can still come
/// from what it had; `sent` entries were out by then.
struct Step {
    pushed: u64,
    unfinished: Option<i64>,
    sent: usize,
}

#[test]
fn no_entry_starts_before_what_the_pipeline_said_was_unfinished() {
    let mut checked = 0;
    for path in captures(&fixtures_dir()) {
        let Ok(source) = FileSource::open(&path) else {
            continue;
        };
        let mut sink = VecSink::default();
        let mut pipeline = Pipeline::new(PipelineConfig::new(Node::default()));
        let mut steps = Vec::new();
        for packet in source.flatten() {
            let Ok(()) = pipeline.push(&packet.as_packet(), &mut sink);
            steps.push(Step {
                pushed: sink.packets.len() as u64,
                unfinished: pipeline.earliest_unfinished(),
                sent: sink.entries.len(),
            });
        }
        let Ok(_) = pipeline.finish(&mut sink);
        for (index, entry) in sink.entries.iter().enumerate() {
            // Every step before the entry went out: it starts no earlier than what was then
            // unfinished, or with a packet not yet pushed.
            for step in steps.iter().take_while(|s| s.sent <= index) {
                let begun_later = entry.packets.first > step.pushed;
                let covered = step.unfinished.is_some_and(|ts| entry.timestamp >= ts);
                assert!(
                    begun_later || covered,
                    "{}: entry {index} ({} {:?} at packet {}, {}) went out after packet {} had \
                     said nothing before {:?} was unfinished",
                    path.display(),
                    entry.protocol.name,
                    entry.request.get("path").or(entry.request.get("command")),
                    entry.packets.first,
                    entry.timestamp,
                    step.pushed,
                    step.unfinished
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 1000, "the public captures give {checked} entries");
}

#[test]
fn a_connection_left_open_holds_nothing_back_before_its_newest_packet_once_its_exchanges_are_answered()
 {
    // None of these captures closes its connection; each ends with its last exchange answered
    // (tshark: no FIN or RST; the last request of each has its response). Replay need not wait
    // for the connections to end (or time out) to show their entries.
    for (capture, protocol) in [
        ("deepflow/http__sw8.pcap", "http"),
        ("deepflow/redis__redis-error.pcap", "redis"),
        ("deepflow/postgre__pgsql-all.pcap", "postgres"),
        ("deepflow/tls__tls.pcap", "tls"),
        ("deepflow/kafka__mixed-with-unsupported.pcap", "kafka"),
        ("deepflow/http__h2c_ascii.pcap", "grpc"),
    ] {
        let mut sink = VecSink::default();
        let mut pipeline = Pipeline::new(PipelineConfig::new(Node::default()));
        let source = FileSource::open(fixtures_dir().join(capture)).expect("capture opens");
        let mut newest = None;
        for packet in source.flatten() {
            let packet = packet.as_packet();
            newest = newest.max(Some(packet.ts_ns));
            let Ok(()) = pipeline.push(&packet, &mut sink);
        }
        assert!(
            sink.entries.iter().any(|e| e.protocol.name == protocol),
            "{capture}: its {protocol} exchanges are out before the connection ends"
        );
        // Only the connection's record is still to come, stamped when it is cut: nothing
        // before the newest packet is held back.
        assert_eq!(pipeline.earliest_unfinished(), newest, "{capture}");
    }
}
