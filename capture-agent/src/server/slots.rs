//! Connection slots: at most so many connections at once, shared fairly between client addresses.
//!
//! When every slot is taken, a new connection takes the slot of the oldest *idle* connection (one
//! with no request in flight: connected and silent, or waiting between requests) of the address
//! that holds the most connections. A flood of idle or slowloris connections therefore only ever
//! displaces its own sender's connections, and a newcomer (the kubelet's probe, the plugin) always
//! gets in; connections serving a request (a follow, an export) are never displaced. Only when no
//! connection is idle is the newcomer refused.

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

/// The open connections, by age.
pub struct Slots {
    max: usize,
    table: Mutex<Table>,
}

#[derive(Default)]
struct Table {
    next_id: u64,
    /// Open connections by id: the lowest id is the oldest.
    open: BTreeMap<u64, Open>,
}

struct Open {
    ip: IpAddr,
    /// Requests in flight.
    busy: usize,
    evicted: Arc<Notify>,
}

/// One admitted connection's slot, given back when dropped.
pub struct Slot {
    id: u64,
    slots: Arc<Slots>,
    evicted: Arc<Notify>,
}

/// Marks its connection busy (a request in flight) until dropped.
pub struct Busy {
    id: u64,
    slots: Arc<Slots>,
}

impl Slots {
    /// Room for `max` connections at once (at least one).
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(Slots {
            max: max.max(1),
            table: Mutex::new(Table::default()),
        })
    }

    fn table(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A slot for a new connection from `ip`, displacing an idle connection when all are taken
    /// (see the module doc); `None` when every connection is busy.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<Slot> {
        let mut table = self.table();
        if table.open.len() >= self.max {
            let victim = table.victim()?;
            if let Some(open) = table.open.remove(&victim) {
                open.evicted.notify_one();
            }
        }
        let id = table.next_id;
        table.next_id += 1;
        let evicted = Arc::new(Notify::new());
        table.open.insert(
            id,
            Open {
                ip,
                busy: 0,
                evicted: Arc::clone(&evicted),
            },
        );
        Some(Slot {
            id,
            slots: Arc::clone(self),
            evicted,
        })
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.table().open.len()
    }
}

impl Table {
    /// The oldest idle connection of the address holding the most connections (of those with an
    /// idle one).
    fn victim(&self) -> Option<u64> {
        let mut held: HashMap<IpAddr, usize> = HashMap::new();
        let mut oldest_idle: HashMap<IpAddr, u64> = HashMap::new();
        for (&id, open) in &self.open {
            *held.entry(open.ip).or_default() += 1;
            if open.busy == 0 {
                oldest_idle.entry(open.ip).or_insert(id);
            }
        }
        oldest_idle
            .into_iter()
            .max_by_key(|&(ip, id)| (held.get(&ip).copied().unwrap_or(0), std::cmp::Reverse(id)))
            .map(|(_, id)| id)
    }
}

impl Slot {
    /// Resolves when the connection was displaced: close it.
    pub async fn evicted(&self) {
        self.evicted.notified().await;
    }

    /// Marks the connection busy until the guard is dropped.
    pub fn busy(&self) -> Busy {
        if let Some(open) = self.slots.table().open.get_mut(&self.id) {
            open.busy += 1;
        }
        Busy {
            id: self.id,
            slots: Arc::clone(&self.slots),
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.slots.table().open.remove(&self.id);
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        if let Some(open) = self.slots.table().open.get_mut(&self.id) {
            open.busy = open.busy.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, last])
    }

    #[test]
    fn a_flood_displaces_only_its_own_idle_connections() {
        let slots = Slots::new(4);
        let mut prober = vec![slots.admit(ip(1)).expect("room")];
        let busy = prober[0].busy();
        let flood: Vec<Slot> = (0..100).filter_map(|_| slots.admit(ip(2))).collect();
        assert_eq!(slots.open(), 4);
        assert_eq!(
            flood.len(),
            100,
            "each flood connection displaced an older one"
        );
        // The newcomer from another address gets in; the busy connection stays.
        prober.push(slots.admit(ip(1)).expect("room for the prober"));
        assert_eq!(slots.open(), 4);
        let table = slots.table();
        let from = |n: u8| table.open.values().filter(|o| o.ip == ip(n)).count();
        assert_eq!((from(1), from(2)), (2, 2));
        drop(table);
        drop(busy);
    }

    #[test]
    fn the_heaviest_address_loses_its_oldest_idle_connection_first() {
        let slots = Slots::new(3);
        let a = slots.admit(ip(1)).expect("room");
        let b1 = slots.admit(ip(2)).expect("room");
        let _b2 = slots.admit(ip(2)).expect("room");
        let _c = slots.admit(ip(3)).expect("room");
        let table = slots.table();
        assert!(
            table.open.contains_key(&a.id),
            "the lighter address keeps its connection"
        );
        assert!(
            !table.open.contains_key(&b1.id),
            "the oldest of the heaviest went"
        );
    }

    #[test]
    fn when_every_connection_is_busy_the_newcomer_is_refused() {
        let slots = Slots::new(2);
        let first = slots.admit(ip(1)).expect("room");
        let second = slots.admit(ip(2)).expect("room");
        let _busy = (first.busy(), second.busy());
        assert!(slots.admit(ip(3)).is_none());
        drop(first);
        assert!(
            slots.admit(ip(3)).is_some(),
            "a closed connection frees its slot"
        );
    }
}
