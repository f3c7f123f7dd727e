//! How a node's entries were written: [`WriteSettings`], recorded in `<root>/<node>/settings.json`
//! by whatever writes the node (import, local capture, the agent) and read by whatever turns the
//! node's stored packets into entries again (reindex, body read-back, replay), so that all of them
//! cut bodies and close flows where the writer did.
//!
//! The store keeps the record but does not interpret it: the fields are the pipeline's caps,
//! timeouts and bounds, as plain numbers. The file is JSON with a `version`; fields are only ever
//! added (a field whose meaning changes gets a new name), so a reader takes the fields it knows
//! from any version and fills those the file does not hold from the defaults it is given. A store
//! written before the record existed may hold `bodies.json` (version 0: `maxBody` alone), which is
//! still read; a store with neither reads as the defaults.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{IoContext, StoreError};

/// File in a node's directory holding its [`WriteSettings`].
const SETTINGS_FILE: &str = "settings.json";
/// The record's older form, which held only `maxBody`.
const BODIES_FILE: &str = "bodies.json";
/// The version [`WriteSettings::record`] writes.
const VERSION: u64 = 1;

/// Everything that shapes the entries a node's packets give: recorded when the node is written, so
/// that dissecting its stored packets again gives back the same entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WriteSettings {
    /// Most bytes of a request or response body an entry holds (`--max-body`).
    pub max_body: usize,
    /// Bytes of a body the index keeps inline (`--index-body`).
    pub index_body: usize,
    /// A TCP connection idle this long is closed, ns.
    pub flow_timeout_ns: u64,
    /// A UDP conversation idle this long is closed, ns.
    pub udp_timeout_ns: u64,
    /// Flows tracked at once before the longest-idle ones are closed.
    pub max_flows: usize,
    /// Bytes buffered out of order per direction before a hole becomes a gap.
    pub reassembly_bytes: usize,
    /// Segments buffered out of order per direction before a hole becomes a gap.
    pub reassembly_segments: usize,
    /// Bytes buffered out of order across all flows before holes become gaps.
    pub buffered_total: usize,
    /// IP datagrams reassembled from fragments at once.
    pub fragment_datagrams: usize,
    /// Bytes held in IP fragments at once.
    pub fragment_bytes: usize,
    /// A datagram whose fragments stop arriving for this long is dropped, ns.
    pub fragment_timeout_ns: u64,
}

impl WriteSettings {
    /// Records that node `node` under `root` is written with these settings (the last writer's
    /// stand). The node's directory must exist (a `NodeWriter` made it); the file is written whole
    /// and renamed into place, so a reader never sees half of it, and the older `bodies.json` is
    /// removed so that one record stands.
    pub fn record(&self, root: &Path, node: &str) -> Result<(), StoreError> {
        let path = settings_file(root, node);
        let tmp = path.with_extension("json.tmp");
        let mut fields = match serde_json::to_value(self) {
            Ok(Value::Object(fields)) => fields,
            _ => Map::new(),
        };
        fields.insert("version".into(), VERSION.into());
        let bytes = serde_json::to_vec_pretty(&Value::Object(fields))
            .map_err(std::io::Error::other)
            .at(&tmp)?;
        std::fs::write(&tmp, bytes).at(&tmp)?;
        std::fs::rename(&tmp, &path).at(&path)?;
        let old = root.join(node).join(BODIES_FILE);
        match std::fs::remove_file(&old) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e).at(&old),
            _ => Ok(()),
        }
    }

    /// The settings node `node` under `root` was written with: each field the record holds, the
    /// others from `defaults` (all of them when there is no record). A record that cannot be read
    /// or parsed gives `defaults`, with a warning naming it (once per process: bodies read back
    /// one by one each read the record).
    pub fn recorded(root: &Path, node: &str, defaults: &WriteSettings) -> WriteSettings {
        for path in [settings_file(root, node), root.join(node).join(BODIES_FILE)] {
            let why = match std::fs::read(&path) {
                Ok(bytes) => match overlay(&bytes, defaults) {
                    Ok(settings) => return settings,
                    Err(why) => why,
                },
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => e.to_string(),
            };
            if !WARNED.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    "ignoring {}: {why}; reading the node as written with the defaults",
                    path.display()
                );
            }
            return *defaults;
        }
        *defaults
    }
}

/// Whether an unreadable record has been warned about.
static WARNED: AtomicBool = AtomicBool::new(false);

fn settings_file(root: &Path, node: &str) -> PathBuf {
    root.join(node).join(SETTINGS_FILE)
}

/// `defaults` with each field the JSON object `bytes` holds taken from it instead.
fn overlay(bytes: &[u8], defaults: &WriteSettings) -> Result<WriteSettings, String> {
    let Value::Object(recorded) = serde_json::from_slice(bytes).map_err(|e| e.to_string())? else {
        return Err("not a JSON object".into());
    };
    let Value::Object(mut fields) = serde_json::to_value(defaults).map_err(|e| e.to_string())?
    else {
        return Err("the defaults are not an object".into());
    };
    for (name, value) in recorded {
        if let Some(field) = fields.get_mut(&name) {
            *field = value;
        }
    }
    serde_json::from_value(Value::Object(fields)).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> WriteSettings {
        WriteSettings {
            max_body: 65_536,
            index_body: 32,
            flow_timeout_ns: 600_000_000_000,
            udp_timeout_ns: 120_000_000_000,
            max_flows: 1 << 20,
            reassembly_bytes: 256 << 10,
            reassembly_segments: 256,
            buffered_total: 256 << 20,
            fragment_datagrams: 4096,
            fragment_bytes: 32 << 20,
            fragment_timeout_ns: 30_000_000_000,
        }
    }

    #[test]
    fn a_recorded_node_reads_back_what_was_recorded() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join("n")).expect("node dir");
        let written = WriteSettings {
            max_body: 100,
            index_body: 7,
            flow_timeout_ns: 5,
            ..defaults()
        };
        written.record(dir.path(), "n").expect("recorded");
        assert_eq!(
            WriteSettings::recorded(dir.path(), "n", &defaults()),
            written
        );
        let text = std::fs::read_to_string(dir.path().join("n").join(SETTINGS_FILE)).expect("file");
        assert!(text.contains("\"version\": 1"), "{text}");
    }

    #[test]
    fn an_old_bodies_file_gives_its_max_body_and_is_replaced_by_the_record() {
        let dir = tempfile::tempdir().expect("temp dir");
        let node = dir.path().join("n");
        std::fs::create_dir(&node).expect("node dir");
        std::fs::write(node.join(BODIES_FILE), br#"{"maxBody":1024}"#).expect("old file");
        let read = WriteSettings::recorded(dir.path(), "n", &defaults());
        assert_eq!(
            read,
            WriteSettings {
                max_body: 1024,
                ..defaults()
            }
        );
        read.record(dir.path(), "n").expect("recorded");
        assert!(!node.join(BODIES_FILE).exists(), "one record stands");
    }

    #[test]
    fn fields_a_record_lacks_or_does_not_know_come_from_the_defaults() {
        let dir = tempfile::tempdir().expect("temp dir");
        let node = dir.path().join("n");
        std::fs::create_dir(&node).expect("node dir");
        std::fs::write(
            node.join(SETTINGS_FILE),
            br#"{"version":9,"indexBody":3,"aFieldFromTheFuture":true}"#,
        )
        .expect("file");
        let read = WriteSettings::recorded(dir.path(), "n", &defaults());
        assert_eq!(
            read,
            WriteSettings {
                index_body: 3,
                ..defaults()
            }
        );
        assert_eq!(
            WriteSettings::recorded(dir.path(), "none", &defaults()),
            defaults()
        );
        for bad in [&b"[1]"[..], b"{\"maxBody\":-1}", b"{not json"] {
            std::fs::write(node.join(SETTINGS_FILE), bad).expect("file");
            assert_eq!(
                WriteSettings::recorded(dir.path(), "n", &defaults()),
                defaults()
            );
        }
    }
}
