//! NDJSON output: one entry per line with KFL's field names as nested keys.
//!
//! [`EntryJson`] writes an entry straight to the output, its keys in the sorted order a JSON map
//! keeps them in (the order `-o json` has always printed), without building a JSON value first:
//! `query -o json` prints hundreds of thousands of entries, and a value per entry cost as much
//! as writing it.

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;
use shark_store::{Endpoint, Entry};

use crate::timefmt::format_rfc3339;

/// An entry as `-o json` prints it: `timestamp` RFC3339 with nanoseconds (UTC); with the cluster
/// it came from as `cluster` (left out when "": one unnamed cluster or a local store), and the
/// cluster that named each side (`src`, `dst`) when another did, as that side's `cluster`.
pub struct EntryJson<'a> {
    /// The cluster the entry came from, or "".
    pub cluster: &'a str,
    /// The entry.
    pub entry: &'a Entry,
    /// The cluster that named each side (src, dst), when not the entry's own.
    pub named: &'a [Option<String>; 2],
}

impl<'a> EntryJson<'a> {
    /// `entry` of a local store (no cluster, no side named by another).
    pub fn local(entry: &'a Entry) -> Self {
        EntryJson {
            cluster: "",
            entry,
            named: &[None, None],
        }
    }
}

impl Serialize for EntryJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let e = self.entry;
        let [src_cluster, dst_cluster] = self.named;
        let mut map = serializer.serialize_map(None)?;
        // Sorted by key, as a JSON map keeps them.
        if !self.cluster.is_empty() {
            map.serialize_entry("cluster", self.cluster)?;
        }
        map.serialize_entry("dst", &EndpointJson(&e.dst, dst_cluster.as_deref()))?;
        map.serialize_entry("elapsedTime", &e.elapsed_time)?;
        if let Some(error) = &e.error {
            map.serialize_entry("error", error)?;
        }
        map.serialize_entry("id", &e.id)?;
        map.serialize_entry(
            "node",
            &Sorted([("ip", &e.node.ip), ("name", &e.node.name)]),
        )?;
        map.serialize_entry(
            "packets",
            &Sorted([("first", &e.packets.first), ("last", &e.packets.last)]),
        )?;
        map.serialize_entry(
            "protocol",
            &Sorted([("name", &e.protocol.name), ("version", &e.protocol.version)]),
        )?;
        map.serialize_entry("request", &e.request)?;
        map.serialize_entry("response", &e.response)?;
        map.serialize_entry("src", &EndpointJson(&e.src, src_cluster.as_deref()))?;
        map.serialize_entry("stream", &e.stream)?;
        map.serialize_entry("timestamp", &format_rfc3339(e.timestamp))?;
        map.end()
    }
}

/// One side of an exchange, with the cluster that named it when another did.
struct EndpointJson<'a>(&'a Endpoint, Option<&'a str>);

impl Serialize for EndpointJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let EndpointJson(side, cluster) = *self;
        let mut map = serializer.serialize_map(None)?;
        if let Some(cluster) = cluster {
            map.serialize_entry("cluster", cluster)?;
        }
        map.serialize_entry("ip", &side.ip)?;
        map.serialize_entry("kind", &side.kind)?;
        if !side.labels.is_empty() {
            map.serialize_entry("labels", &side.labels)?;
        }
        map.serialize_entry("name", &side.name)?;
        map.serialize_entry("namespace", &side.namespace)?;
        map.serialize_entry("node", &side.node)?;
        map.serialize_entry("pod", &side.pod)?;
        map.serialize_entry("port", &side.port)?;
        map.serialize_entry("service", &side.service)?;
        map.serialize_entry("workload", &side.workload)?;
        map.end()
    }
}

/// A small object whose keys are given in sorted order.
struct Sorted<'a, T, const N: usize>([(&'static str, &'a T); N]);

impl<T: Serialize, const N: usize> Serialize for Sorted<'_, T, N> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(N))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

/// The entry as a JSON object, as [`EntryJson`] prints it for `cluster` and `named`.
pub fn entry_json_in(
    cluster: &str,
    entry: &Entry,
    named: &[Option<String>; 2],
) -> serde_json::Result<Value> {
    serde_json::to_value(EntryJson {
        cluster,
        entry,
        named,
    })
}

/// Shows the sides of `entry` another cluster named (`named`, src and dst) as
/// `CLUSTER:namespace/name` in a table.
pub fn show_named(entry: &mut Entry, named: &[Option<String>; 2]) {
    for (side, other) in [&mut entry.src, &mut entry.dst].into_iter().zip(named) {
        if let Some(other) = other {
            side.namespace = format!("{other}:{}", side.namespace);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;
    use shark_store::{Message, Node, PacketSpan, Protocol};

    use super::*;

    /// What `-o json` printed before it wrote entries straight out: the entry as a JSON value (a
    /// map, so its keys sorted), `timestamp` as text, the clusters added.
    fn as_value(cluster: &str, entry: &Entry, named: &[Option<String>; 2]) -> String {
        let mut value = serde_json::to_value(entry).unwrap_or_default();
        value["timestamp"] = Value::String(format_rfc3339(entry.timestamp));
        if !cluster.is_empty() {
            value["cluster"] = Value::String(cluster.into());
        }
        for (side, other) in ["src", "dst"].into_iter().zip(named) {
            if let Some(other) = other {
                value[side]["cluster"] = Value::String(other.clone());
            }
        }
        value.to_string()
    }

    fn entry() -> Entry {
        let mut request = Message::new();
        request.insert("method".into(), json!("POST"));
        request.insert("headers".into(), json!({"Host": "a", "X-Id": "é\"\n"}));
        request.insert("body".into(), json!("{\"a\": 1}"));
        let mut response = Message::new();
        response.insert("status".into(), json!(201));
        response.insert("bodyTruncated".into(), json!(true));
        Entry {
            id: 42,
            timestamp: 1_795_651_200_123_456_789,
            elapsed_time: 1.25,
            node: Node {
                name: "node-a".into(),
                ip: "10.0.0.1".into(),
            },
            src: Endpoint {
                ip: "10.1.0.7".into(),
                port: 51234,
                name: "web-1".into(),
                namespace: "shop".into(),
                kind: "Pod".into(),
                pod: "web-1".into(),
                workload: "web".into(),
                node: "node-a".into(),
                labels: BTreeMap::from([("app".into(), "web".into()), ("z".into(), "1".into())]),
                ..Endpoint::default()
            },
            dst: Endpoint {
                ip: "fd00::1".into(),
                port: 80,
                kind: "External".into(),
                ..Endpoint::default()
            },
            protocol: Protocol {
                name: "http".into(),
                version: "1.1".into(),
            },
            request,
            response,
            error: Some("reset".into()),
            stream: 7,
            packets: PacketSpan { first: 3, last: 9 },
        }
    }

    #[test]
    fn an_entry_is_written_as_its_json_value_was_byte_for_byte() {
        let whole = entry();
        let plain = Entry {
            error: None,
            elapsed_time: f64::NAN,
            src: Endpoint::default(),
            ..entry()
        };
        let named = [Some("east".to_string()), None];
        let other = [None, Some("west".to_string())];
        for (cluster, entry, named) in [
            ("", &whole, &[None, None]),
            ("", &plain, &[None, None]),
            ("prod", &whole, &named),
            ("prod", &plain, &other),
        ] {
            let written = serde_json::to_string(&EntryJson {
                cluster,
                entry,
                named,
            })
            .unwrap_or_default();
            assert_eq!(written, as_value(cluster, entry, named));
            assert_eq!(
                entry_json_in(cluster, entry, named)
                    .map(|v| v.to_string())
                    .ok(),
                Some(written)
            );
        }
    }
}
