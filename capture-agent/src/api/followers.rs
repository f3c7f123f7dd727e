//! Places for follows, shared fairly between client addresses.
//!
//! At most `max` follows stream at once. When all places are taken, a follow from an address
//! holding fewer than the heaviest address by at least two takes the place of that address's
//! oldest follow (which ends, as when the agent stops, so its client may resume elsewhere or
//! later); otherwise it is refused. One address may use every place while nobody else asks, but
//! can never lock another address out: each keeps at least its fair share.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

/// The follows streaming now, by age.
pub struct Followers {
    max: usize,
    table: Mutex<Table>,
}

#[derive(Default)]
struct Table {
    next_id: u64,
    /// Open follows by id (the lowest is the oldest): the client's address and how to end it.
    open: BTreeMap<u64, (IpAddr, Arc<Notify>)>,
}

/// One follow's place, given back when dropped.
pub struct Follower {
    id: u64,
    followers: Arc<Followers>,
    displaced: Arc<Notify>,
}

impl Followers {
    /// Room for `max` follows at once.
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(Followers {
            max,
            table: Mutex::new(Table::default()),
        })
    }

    /// The most follows at once.
    pub fn max(&self) -> usize {
        self.max
    }

    fn table(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A place for a follow from `ip`, displacing the heaviest address's oldest follow when all
    /// are taken and that address holds at least two more than `ip` (see the module doc).
    pub fn join(self: &Arc<Self>, ip: IpAddr) -> Option<Follower> {
        let mut table = self.table();
        if table.open.len() >= self.max {
            let victim = table.victim(ip)?;
            if let Some((_, displaced)) = table.open.remove(&victim) {
                displaced.notify_one();
            }
        }
        let id = table.next_id;
        table.next_id += 1;
        let displaced = Arc::new(Notify::new());
        table.open.insert(id, (ip, Arc::clone(&displaced)));
        Some(Follower {
            id,
            followers: Arc::clone(self),
            displaced,
        })
    }

    /// Follows open now from `ip`.
    #[cfg(test)]
    fn from(&self, ip: IpAddr) -> usize {
        self.table().open.values().filter(|(o, _)| *o == ip).count()
    }
}

impl Table {
    /// The oldest follow of the address holding the most, if it holds at least two more than
    /// `newcomer` does (after the swap it still holds at least as many).
    fn victim(&self, newcomer: IpAddr) -> Option<u64> {
        let mut held: HashMap<IpAddr, (usize, u64)> = HashMap::new();
        for (&id, &(ip, _)) in &self.open {
            held.entry(ip).or_insert((0, id)).0 += 1;
        }
        let mine = held.get(&newcomer).map_or(0, |&(n, _)| n);
        let (_, &(most, oldest)) = held
            .iter()
            .max_by_key(|(_, (n, id))| (*n, std::cmp::Reverse(*id)))?;
        (most >= mine + 2).then_some(oldest)
    }
}

impl Follower {
    /// Resolves when a follow from a lighter address took this place: end the stream.
    pub async fn displaced(&self) {
        self.displaced.notified().await;
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.followers.table().open.remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, last])
    }

    #[test]
    fn one_address_may_take_every_place_but_not_keep_another_out() {
        let followers = Followers::new(10);
        let flood: Vec<Follower> = (0..10).filter_map(|_| followers.join(ip(2))).collect();
        assert_eq!(flood.len(), 10, "alone, an address may use every place");
        assert!(followers.join(ip(2)).is_none(), "but no more");
        // Others get in, each displacing the flood's oldest, until they hold their share.
        let others: Vec<Follower> = (0..4)
            .flat_map(|_| [followers.join(ip(3)), followers.join(ip(4))])
            .flatten()
            .collect();
        assert_eq!(others.len(), 6, "the rest found the flood at its share");
        assert_eq!(
            (
                followers.from(ip(2)),
                followers.from(ip(3)),
                followers.from(ip(4))
            ),
            (4, 3, 3)
        );
        assert!(
            followers.join(ip(3)).is_none(),
            "an address at its share displaces nobody"
        );
        // The displaced ones were told, oldest first; the newest of the flood were not.
        let told = |f: &Follower| futures::FutureExt::now_or_never(f.displaced()).is_some();
        assert!(told(&flood[0]) && told(&flood[5]));
        assert!(!told(&flood[6]) && !told(&flood[9]));
    }

    #[test]
    fn a_place_given_back_is_free_for_anyone() {
        let followers = Followers::new(2);
        let a = followers.join(ip(1)).expect("room");
        let _b = followers.join(ip(2)).expect("room");
        assert!(followers.join(ip(3)).is_none(), "nobody holds two more");
        drop(a);
        assert!(followers.join(ip(3)).is_some());
    }
}
