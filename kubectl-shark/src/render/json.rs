//! NDJSON output: one entry per line with KFL's field names as nested keys.
//!
//! [`EntryJson`] writes an entry straight to the output, its keys in the sorted order a JSON map
//! keeps them in (the order `-o json` has always printed), as serde_json would write its value
//! but without building one and with strings escaped faster ([`json_text`](super::json_text)):
//! `query -o json` prints hundreds of thousands of entries, and a value per entry cost as much
//! as writing it.

use std::io::{self, Write};

use serde_json::Value;
use shark_store::{Endpoint, Entry};

use super::json_text::{write_map, write_str};
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

    /// Writes the entry as one line of JSON (without the line break), its keys sorted.
    pub fn write_to<W: Write + ?Sized>(&self, out: &mut W) -> io::Result<()> {
        let e = self.entry;
        let [src_cluster, dst_cluster] = self.named;
        out.write_all(b"{")?;
        if !self.cluster.is_empty() {
            out.write_all(b"\"cluster\":")?;
            write_str(out, self.cluster)?;
            out.write_all(b",")?;
        }
        out.write_all(b"\"dst\":")?;
        write_endpoint(out, &e.dst, dst_cluster.as_deref())?;
        out.write_all(b",\"elapsedTime\":")?;
        serde_json::to_writer(&mut *out, &e.elapsed_time)?;
        if let Some(error) = &e.error {
            out.write_all(b",\"error\":")?;
            write_str(out, error)?;
        }
        write!(out, ",\"id\":{},\"node\":{{\"ip\":", e.id)?;
        write_str(out, &e.node.ip)?;
        out.write_all(b",\"name\":")?;
        write_str(out, &e.node.name)?;
        write!(
            out,
            "}},\"packets\":{{\"first\":{},\"last\":{}}},\"protocol\":{{\"name\":",
            e.packets.first, e.packets.last
        )?;
        write_str(out, &e.protocol.name)?;
        out.write_all(b",\"version\":")?;
        write_str(out, &e.protocol.version)?;
        out.write_all(b"},\"request\":")?;
        write_map(out, &e.request)?;
        out.write_all(b",\"response\":")?;
        write_map(out, &e.response)?;
        out.write_all(b",\"src\":")?;
        write_endpoint(out, &e.src, src_cluster.as_deref())?;
        write!(out, ",\"stream\":{},\"timestamp\":", e.stream)?;
        write_str(out, &format_rfc3339(e.timestamp))?;
        out.write_all(b"}")
    }

    /// The entry as one line of JSON (without the line break).
    pub fn to_line(&self) -> io::Result<String> {
        let mut line = Vec::new();
        self.write_to(&mut line)?;
        String::from_utf8(line).map_err(io::Error::other)
    }
}

/// Writes one side of an exchange, with the cluster that named it when another did.
fn write_endpoint<W: Write + ?Sized>(
    out: &mut W,
    side: &Endpoint,
    cluster: Option<&str>,
) -> io::Result<()> {
    out.write_all(b"{")?;
    if let Some(cluster) = cluster {
        out.write_all(b"\"cluster\":")?;
        write_str(out, cluster)?;
        out.write_all(b",")?;
    }
    out.write_all(b"\"ip\":")?;
    write_str(out, &side.ip)?;
    out.write_all(b",\"kind\":")?;
    write_str(out, &side.kind)?;
    if !side.labels.is_empty() {
        out.write_all(b",\"labels\":{")?;
        for (i, (key, value)) in side.labels.iter().enumerate() {
            if i > 0 {
                out.write_all(b",")?;
            }
            write_str(out, key)?;
            out.write_all(b":")?;
            write_str(out, value)?;
        }
        out.write_all(b"}")?;
    }
    for (key, value) in [
        (&b",\"name\":"[..], &side.name),
        (b",\"namespace\":", &side.namespace),
        (b",\"node\":", &side.node),
        (b",\"pod\":", &side.pod),
    ] {
        out.write_all(key)?;
        write_str(out, value)?;
    }
    write!(out, ",\"port\":{},\"service\":", side.port)?;
    write_str(out, &side.service)?;
    out.write_all(b",\"workload\":")?;
    write_str(out, &side.workload)?;
    out.write_all(b"}")
}

/// The entry as a JSON object, as [`EntryJson`] prints it for `cluster` and `named`.
pub fn entry_json_in(
    cluster: &str,
    entry: &Entry,
    named: &[Option<String>; 2],
) -> serde_json::Result<Value> {
    let line = EntryJson {
        cluster,
        entry,
        named,
    }
    .to_line()
    .map_err(serde_json::Error::io)?;
    serde_json::from_str(&line)
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
            let written = EntryJson {
                cluster,
                entry,
                named,
            }
            .to_line()
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
