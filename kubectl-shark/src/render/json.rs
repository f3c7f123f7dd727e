//! NDJSON output: one entry per line with KFL's field names as nested keys.
//!
//! [`EntryJson`] writes an entry straight to the output, its keys in the sorted order a JSON map
//! keeps them in (the order `-o json` has always printed), without building a JSON value first:
//! `query -o json` prints hundreds of thousands of entries, and a value per entry cost as much
//! as writing it. `query` ([`EntryJson::write_line`]) and `follow` write it with sonic-rs rather
//! than serde_json: the same bytes, but long bodies are escaped with SIMD instead of a byte at a
//! time, which was most of the CPU that serializing took.

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

    /// Appends the entry to `line` as one NDJSON line: the bytes `serde_json::to_writer` writes
    /// (escapes, numbers, `null` for a NaN), then `\n`.
    pub fn write_line(&self, line: &mut Vec<u8>) -> std::io::Result<()> {
        sonic_rs::to_writer(&mut *line, self)?;
        line.push(b'\n');
        Ok(())
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
            let written = line(&EntryJson {
                cluster,
                entry,
                named,
            });
            assert_eq!(written, as_value(cluster, entry, named) + "\n");
            assert_eq!(
                entry_json_in(cluster, entry, named)
                    .map(|v| v.to_string() + "\n")
                    .ok(),
                Some(written)
            );
        }
    }

    /// The line [`EntryJson::write_line`] writes.
    fn line(json: &EntryJson) -> String {
        let mut line = Vec::new();
        json.write_line(&mut line).unwrap_or_default();
        String::from_utf8_lossy(&line).into_owned()
    }

    /// The line serde_json writes for the entry, as `-o json` printed it before sonic-rs.
    fn serde_line(json: &EntryJson) -> String {
        serde_json::to_string(json).unwrap_or_default() + "\n"
    }

    /// Strings for every kind of escape serde_json writes, and of character it leaves as is.
    fn awkward_strings() -> Vec<String> {
        let mut strings = vec![
            String::new(),
            (0u8..0x20).map(char::from).collect(),
            "\u{7f} \\ \" / ' < > & %".into(),
            "é ü ß 中文 日本語 \u{2028}\u{2029} \u{feff} \u{10ffff}".into(),
            "😀 👩‍👩‍👧 🇫🇷".into(),
        ];
        // An escape at each offset of strings up to 80 bytes: before, across and after the edges
        // of the 16- and 32-byte blocks SIMD escaping works in.
        for len in 1..80 {
            for at in 0..len {
                let mut s = "a".repeat(len);
                s.replace_range(at..=at, ["\"", "\\", "\n", "\u{1}"][at % 4]);
                strings.push(s);
            }
        }
        // A long body: mostly plain, with a quote, a backslash, a control character or a
        // multi-byte character now and then.
        let mut body = String::new();
        for i in 0..20_000 {
            body.push_str(["{\"k\": \"v\"}", "C:\\dir\t", "plain text ", "é😀", "\r\n"][i % 5]);
        }
        strings.push(body);
        strings
    }

    /// Asserts that [`EntryJson::write_line`] writes what serde_json writes for `json`, saying
    /// where they part rather than printing two long lines.
    fn assert_written_as_serde_json(json: &EntryJson, what: &str) {
        let (written, expected) = (line(json), serde_line(json));
        let at = written
            .bytes()
            .zip(expected.bytes())
            .position(|(a, b)| a != b)
            .unwrap_or(written.len().min(expected.len()));
        let around = |s: &str| {
            String::from_utf8_lossy(&s.as_bytes()[at.saturating_sub(40)..(at + 40).min(s.len())])
                .into_owned()
        };
        assert!(
            written == expected,
            "{what}: byte {at} differs: {:?} where serde_json wrote {:?}",
            around(&written),
            around(&expected)
        );
    }

    #[test]
    fn awkward_strings_are_written_as_serde_json_writes_them() {
        let mut entry = entry();
        for (i, s) in awkward_strings().into_iter().enumerate() {
            entry.request.insert(format!("s{i}"), json!(s));
            entry.response.insert(s.clone(), json!([s, i]));
            entry.src.labels.insert(s.clone(), s);
        }
        entry.node.name = "node \"a\"\u{0}".into();
        entry.error = Some("reset\u{1f}\u{7f}".into());
        let named = [Some("east\"\u{7}".to_string()), Some("wést".to_string())];
        assert_written_as_serde_json(&EntryJson::local(&entry), "local");
        assert_written_as_serde_json(
            &EntryJson {
                cluster: "prod\\😀",
                entry: &entry,
                named: &named,
            },
            "with clusters",
        );
    }

    #[test]
    fn numbers_are_written_as_serde_json_writes_them() {
        let mut entry = Entry {
            id: u64::MAX,
            timestamp: i64::MIN,
            stream: u64::MAX,
            ..entry()
        };
        entry.response.insert(
            "numbers".into(),
            json!([
                u64::MAX,
                i64::MIN,
                0,
                -1,
                0.1,
                -0.0,
                1e-7,
                1e16,
                1e21,
                123_456.0,
                f64::MAX,
                f64::MIN_POSITIVE,
                5e-324,
                true,
                null
            ]),
        );
        for elapsed in [
            0.294322,
            0.0,
            -0.0,
            1.0,
            1e-7,
            0.000_001,
            1e15,
            1e16,
            1e21,
            123_456_789.0,
            1.0 / 3.0,
            f64::MAX,
            f64::MIN_POSITIVE,
            5e-324,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ] {
            entry.elapsed_time = elapsed;
            assert_written_as_serde_json(
                &EntryJson::local(&entry),
                &format!("elapsedTime {elapsed}"),
            );
        }
    }
}
