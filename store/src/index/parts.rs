//! Who an entry was between: each node and endpoint identity (an endpoint without its port) is
//! stored once in the `parts` table and stored entries refer to it by id, so an identity costs a
//! few bytes per entry instead of a few hundred.

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use foldhash::fast::RandomState;
use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::bounded::BoundedMap;
use crate::entry::{Endpoint, Node};
use crate::error::{SqlContext, StoreError};
use crate::text_eq::same_text;

/// An endpoint without its port, as the `parts` table keeps it.
#[derive(Serialize, Hash)]
struct EndpointKey<'a> {
    ip: &'a str,
    name: &'a str,
    namespace: &'a str,
    kind: &'a str,
    pod: &'a str,
    service: &'a str,
    workload: &'a str,
    /// Left out when empty: parts written before endpoints had a node keep their JSON.
    #[serde(skip_serializing_if = "str::is_empty")]
    node: &'a str,
    labels: &'a BTreeMap<String, String>,
}

impl<'a> From<&'a Endpoint> for EndpointKey<'a> {
    fn from(e: &'a Endpoint) -> Self {
        EndpointKey {
            ip: &e.ip,
            name: &e.name,
            namespace: &e.namespace,
            kind: &e.kind,
            pod: &e.pod,
            service: &e.service,
            workload: &e.workload,
            node: &e.node,
            labels: &e.labels,
        }
    }
}

/// Field by field, with [`same_text`]: most fields are empty outside a cluster, and this compares
/// both endpoints of every entry written.
impl PartialEq for EndpointKey<'_> {
    fn eq(&self, other: &Self) -> bool {
        // Every field named, so a new one cannot be left out of the comparison.
        let EndpointKey {
            ip,
            name,
            namespace,
            kind,
            pod,
            service,
            workload,
            node,
            labels,
        } = self;
        same_text(ip, other.ip)
            && same_text(name, other.name)
            && same_text(namespace, other.namespace)
            && same_text(kind, other.kind)
            && same_text(pod, other.pod)
            && same_text(service, other.service)
            && same_text(workload, other.workload)
            && same_text(node, other.node)
            && *labels == other.labels
    }
}

/// What [`EndpointKey`] stored, read back.
#[derive(Deserialize)]
struct EndpointPart {
    ip: String,
    name: String,
    namespace: String,
    kind: String,
    pod: String,
    service: String,
    workload: String,
    #[serde(default)]
    node: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

/// Endpoint identities the interner remembers as values, so a repeated one is found without
/// writing its JSON (a power of two: slots are picked by hash).
const RECENT_SLOTS: usize = 1024;

/// Identities the interner remembers by JSON (between one and two times this many): opening a
/// writer reads none of the `parts` table, and a flood of new identities costs no more memory.
const KNOWN_PARTS: usize = 16_384;

/// Assigns ids to identities on the writer's thread. An identity it no longer remembers gets a
/// new id (a second row with the same JSON, which is harmless: rows are found by id), so it never
/// needs the table. Each block's batch carries every identity its entries use, with its JSON, so
/// the index thread can record when each was last used, and write it again if retention freed it
/// meanwhile ([`Worker`](super::writer)). Its maps and slots are hashed with foldhash (seeded per
/// process): it looks up both endpoints of every entry, and SipHash over their names was most of
/// that.
pub(crate) struct Interner {
    ids: BoundedMap<Arc<str>, (i64, Arc<str>)>,
    next: i64,
    /// The identities the block being built uses.
    used: HashMap<i64, Arc<str>, RandomState>,
    /// The last node seen, its id and JSON.
    last_node: Option<(Node, i64, Arc<str>)>,
    /// Endpoints seen lately (port 0), their ids and JSON, each in the slot its hash picks.
    recent: Vec<Option<(Endpoint, i64, Arc<str>)>>,
    hasher: RandomState,
}

impl Interner {
    /// An interner for the index at `path`, numbering new identities after those it holds.
    pub fn new(conn: &Connection, path: &Path) -> Result<Self, StoreError> {
        let max: Option<i64> = conn
            .query_row("SELECT max(id) FROM parts", [], |r| r.get(0))
            .at(path)?;
        Ok(Interner {
            ids: BoundedMap::new(KNOWN_PARTS),
            next: max.unwrap_or(0) + 1,
            used: HashMap::default(),
            last_node: None,
            recent: vec![None; RECENT_SLOTS],
            hasher: RandomState::default(),
        })
    }

    /// The id of `node`, assigning one if it is new.
    pub fn node(&mut self, node: &Node) -> i64 {
        if let Some((Node { name, ip }, id, json)) = &self.last_node
            && same_text(name, &node.name)
            && same_text(ip, &node.ip)
        {
            self.used.entry(*id).or_insert_with(|| Arc::clone(json));
            return *id;
        }
        let (id, json) = self.id(node);
        self.last_node = Some((node.clone(), id, json));
        id
    }

    /// The id of `endpoint`'s identity (all but its port), assigning one if it is new.
    pub fn endpoint(&mut self, endpoint: &Endpoint) -> i64 {
        let key = EndpointKey::from(endpoint);
        let slot = (self.hasher.hash_one(&key) as usize) & (RECENT_SLOTS - 1);
        if let Some(Some((seen, id, json))) = self.recent.get(slot)
            && EndpointKey::from(seen) == key
        {
            self.used.entry(*id).or_insert_with(|| Arc::clone(json));
            return *id;
        }
        let (id, json) = self.id(&key);
        if let Some(cached) = self.recent.get_mut(slot) {
            *cached = Some((
                Endpoint {
                    port: 0,
                    ..endpoint.clone()
                },
                id,
                json,
            ));
        }
        id
    }

    /// The id and JSON of `part`, assigning an id if it is new; marks it used.
    fn id<T: Serialize>(&mut self, part: &T) -> (i64, Arc<str>) {
        // Serialising plain data to a String cannot fail: every map key is a string.
        let json = serde_json::to_string(part).unwrap_or_default();
        let (id, json) = match self.ids.get(json.as_str()) {
            Some((id, known)) => (*id, Arc::clone(known)),
            None => {
                let id = self.next;
                self.next += 1;
                let json: Arc<str> = json.into();
                self.ids.insert(Arc::clone(&json), (id, Arc::clone(&json)));
                (id, json)
            }
        };
        self.used.entry(id).or_insert_with(|| Arc::clone(&json));
        (id, json)
    }

    /// The identities used since the last call (by the block just completed), with their JSON.
    pub fn take_used(&mut self) -> Vec<(i64, Arc<str>)> {
        self.used.drain().collect()
    }
}

/// Identities read back, fetched from the index at first use and kept.
pub(crate) struct Parts {
    path: PathBuf,
    endpoints: HashMap<i64, Endpoint>,
    nodes: HashMap<i64, Node>,
}

impl Parts {
    /// Reads identities from the index at `path` as they are needed.
    pub fn new(path: &Path) -> Self {
        Parts {
            path: path.to_path_buf(),
            endpoints: HashMap::new(),
            nodes: HashMap::new(),
        }
    }

    fn json(&self, conn: &Connection, id: i64) -> Result<String, StoreError> {
        let json: Option<String> = conn
            .prepare_cached("SELECT json FROM parts WHERE id = ?1")
            .at(&self.path)?
            .query_row([id], |r| r.get(0))
            .optional()
            .at(&self.path)?;
        json.ok_or_else(|| self.missing(id, "is missing".into()))
    }

    fn missing(&self, id: i64, reason: String) -> StoreError {
        StoreError::CorruptEntry {
            path: self.path.clone(),
            id,
            reason: format!("identity {id} {reason}"),
        }
    }

    /// Endpoint `id` with `port`.
    pub fn endpoint(
        &mut self,
        conn: &Connection,
        id: i64,
        port: u16,
    ) -> Result<Endpoint, StoreError> {
        if !self.endpoints.contains_key(&id) {
            let json = self.json(conn, id)?;
            let p: EndpointPart =
                serde_json::from_str(&json).map_err(|e| self.missing(id, e.to_string()))?;
            let endpoint = Endpoint {
                ip: p.ip,
                port: 0,
                name: p.name,
                namespace: p.namespace,
                kind: p.kind,
                pod: p.pod,
                service: p.service,
                workload: p.workload,
                node: p.node,
                labels: p.labels,
            };
            self.endpoints.insert(id, endpoint);
        }
        let mut endpoint = self.endpoints.get(&id).cloned().unwrap_or_default();
        endpoint.port = port;
        Ok(endpoint)
    }

    /// Node `id`.
    pub fn node(&mut self, conn: &Connection, id: i64) -> Result<Node, StoreError> {
        if !self.nodes.contains_key(&id) {
            let json = self.json(conn, id)?;
            let node: Node =
                serde_json::from_str(&json).map_err(|e| self.missing(id, e.to_string()))?;
            self.nodes.insert(id, node);
        }
        Ok(self.nodes.get(&id).cloned().unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An empty `parts` table.
    fn parts_table() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE parts (id INTEGER PRIMARY KEY, json TEXT NOT NULL)")
            .unwrap();
        conn
    }

    fn endpoint(ip: &str, port: u16) -> Endpoint {
        Endpoint {
            ip: ip.into(),
            port,
            ..Endpoint::default()
        }
    }

    #[test]
    fn an_identity_keeps_its_id_whatever_the_port_and_however_many_come_between() {
        let conn = parts_table();
        let mut interner = Interner::new(&conn, Path::new("i")).unwrap();
        let first = interner.endpoint(&endpoint("10.0.0.1", 40_000));
        assert_eq!(interner.endpoint(&endpoint("10.0.0.1", 40_001)), first);
        let mut labelled = endpoint("10.0.0.1", 40_000);
        labelled.labels.insert("app".into(), "web".into());
        let other = interner.endpoint(&labelled);
        assert_ne!(other, first);
        // More identities than the interner remembers as values: the early ones are still found.
        let many: Vec<i64> = (0..3 * RECENT_SLOTS)
            .map(|i| interner.endpoint(&endpoint(&format!("10.1.{}.{}", i / 256, i % 256), 80)))
            .collect();
        assert_eq!(interner.endpoint(&endpoint("10.0.0.1", 1)), first);
        assert_eq!(interner.endpoint(&labelled), other);
        let again: Vec<i64> = (0..3 * RECENT_SLOTS)
            .map(|i| interner.endpoint(&endpoint(&format!("10.1.{}.{}", i / 256, i % 256), 81)))
            .collect();
        assert_eq!(again, many);
        let node = Node {
            name: "worker-1".into(),
            ip: String::new(),
        };
        let node_id = interner.node(&node);
        assert_eq!(interner.node(&node), node_id);
        // Each identity used is handed to the index once per block: two endpoints, the many, one node.
        let used = interner.take_used();
        assert_eq!(used.len(), 2 + 3 * RECENT_SLOTS + 1);
        assert!(used.contains(&(node_id, r#"{"name":"worker-1","ip":""}"#.into())));
        assert!(interner.take_used().is_empty());
        assert_eq!(interner.node(&node), node_id);
        assert_eq!(
            interner.take_used().len(),
            1,
            "a block using a known identity names it"
        );
    }

    #[test]
    fn endpoints_that_differ_in_any_one_field_are_told_apart() {
        let conn = parts_table();
        let mut interner = Interner::new(&conn, Path::new("i")).unwrap();
        let base = Endpoint {
            ip: "10.0.0.1".into(),
            kind: "Pod".into(),
            ..Endpoint::default()
        };
        let changes: [fn(&mut Endpoint); 9] = [
            |e| e.ip = "10.0.0.2".into(),
            |e| e.name = "web".into(),
            |e| e.namespace = "shop".into(),
            |e| e.kind = String::new(),
            |e| e.pod = "web-1".into(),
            |e| e.service = "web".into(),
            |e| e.workload = "web".into(),
            |e| e.node = "worker-1".into(),
            |e| {
                e.labels.insert("app".into(), "web".into());
            },
        ];
        let first = interner.endpoint(&base);
        for (i, change) in changes.iter().enumerate() {
            let mut other = base.clone();
            change(&mut other);
            assert!(
                EndpointKey::from(&base) != EndpointKey::from(&other),
                "field {i}"
            );
            let id = interner.endpoint(&other);
            assert_ne!(id, first, "field {i}");
            assert_eq!(interner.endpoint(&base), first, "field {i}");
            assert_eq!(interner.endpoint(&other), id, "field {i}");
        }
        assert!(EndpointKey::from(&base) == EndpointKey::from(&base.clone()));
        let node = |name: &str, ip: &str| Node {
            name: name.into(),
            ip: ip.into(),
        };
        let bare = interner.node(&node("worker-1", ""));
        let with_ip = interner.node(&node("worker-1", "10.0.0.9"));
        let renamed = interner.node(&node("worker-2", "10.0.0.9"));
        assert!(bare != with_ip && with_ip != renamed && bare != renamed);
        assert_eq!(interner.node(&node("worker-1", "")), bare);
    }

    #[test]
    fn opening_reads_no_identity_and_numbers_after_the_stored_ones() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE parts (id INTEGER PRIMARY KEY, json TEXT NOT NULL);
             INSERT INTO parts VALUES (41, '{}');",
        )
        .unwrap();
        let mut interner = Interner::new(&conn, Path::new("i")).unwrap();
        assert_eq!(interner.endpoint(&endpoint("10.0.0.1", 1)), 42);
        assert_eq!(interner.ids.len(), 1);
    }
}
