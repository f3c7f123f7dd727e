//! Who an entry was between: each node and endpoint identity (an endpoint without its port) is
//! stored once in the `parts` table and stored entries refer to it by id, so an identity costs a
//! few bytes per entry instead of a few hundred.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, RandomState};
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::entry::{Endpoint, Node};
use crate::error::{SqlContext, StoreError};

/// An endpoint without its port, as the `parts` table keeps it.
#[derive(Serialize, PartialEq, Hash)]
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

/// Assigns ids to identities on the writer's thread; new ones travel with the next batch.
pub(crate) struct Interner {
    ids: HashMap<String, i64>,
    next: i64,
    fresh: Vec<(i64, String)>,
    /// The last node seen and its id.
    last_node: Option<(Node, i64)>,
    /// Endpoints seen lately (port 0) and their ids, each in the slot its hash picks.
    recent: Vec<Option<(Endpoint, i64)>>,
    hasher: RandomState,
}

impl Interner {
    /// The identities already in the index at `path`.
    pub fn load(conn: &Connection, path: &Path) -> Result<Self, StoreError> {
        let mut stmt = conn.prepare("SELECT json, id FROM parts").at(path)?;
        let ids = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .at(path)?
            .collect::<Result<HashMap<String, i64>, _>>()
            .at(path)?;
        let next = ids.values().max().copied().unwrap_or(0) + 1;
        Ok(Interner {
            ids,
            next,
            fresh: Vec::new(),
            last_node: None,
            recent: vec![None; RECENT_SLOTS],
            hasher: RandomState::new(),
        })
    }

    /// The id of `node`, assigning one if it is new.
    pub fn node(&mut self, node: &Node) -> i64 {
        if let Some((last, id)) = &self.last_node
            && last == node
        {
            return *id;
        }
        let id = self.id(node);
        self.last_node = Some((node.clone(), id));
        id
    }

    /// The id of `endpoint`'s identity (all but its port), assigning one if it is new.
    pub fn endpoint(&mut self, endpoint: &Endpoint) -> i64 {
        let key = EndpointKey::from(endpoint);
        let slot = (self.hasher.hash_one(&key) as usize) & (RECENT_SLOTS - 1);
        if let Some(Some((seen, id))) = self.recent.get(slot)
            && EndpointKey::from(seen) == key
        {
            return *id;
        }
        let id = self.id(&key);
        if let Some(cached) = self.recent.get_mut(slot) {
            *cached = Some((
                Endpoint {
                    port: 0,
                    ..endpoint.clone()
                },
                id,
            ));
        }
        id
    }

    /// The id of `part`, assigning one if it is new.
    fn id<T: Serialize>(&mut self, part: &T) -> i64 {
        // Serialising plain data to a String cannot fail: every map key is a string.
        let json = serde_json::to_string(part).unwrap_or_default();
        if let Some(&id) = self.ids.get(&json) {
            return id;
        }
        let id = self.next;
        self.next += 1;
        self.fresh.push((id, json.clone()));
        self.ids.insert(json, id);
        id
    }

    /// Identities assigned since the last call, for the index to insert.
    pub fn take_fresh(&mut self) -> Vec<(i64, String)> {
        std::mem::take(&mut self.fresh)
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

    fn endpoint(ip: &str, port: u16) -> Endpoint {
        Endpoint {
            ip: ip.into(),
            port,
            ..Endpoint::default()
        }
    }

    #[test]
    fn an_identity_keeps_its_id_whatever_the_port_and_however_many_come_between() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE parts (id INTEGER PRIMARY KEY, json TEXT NOT NULL)")
            .unwrap();
        let mut interner = Interner::load(&conn, Path::new("i")).unwrap();
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
        // Each identity is handed to the index once: two endpoints, the many, one node.
        assert_eq!(interner.take_fresh().len(), 2 + 3 * RECENT_SLOTS + 1);
    }
}
