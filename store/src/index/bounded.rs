//! [`BoundedMap`]: a cache that keeps what is used often and forgets the rest, so a writer's memory
//! does not grow with every identity or name a flood brings (a million scanned addresses).

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;

use foldhash::fast::RandomState;

/// A map of at most `2 × limit` entries in two generations: new entries go into the young one;
/// when it is full it becomes the old one and the old one is dropped. A hit in the old generation
/// moves the entry back into the young one, so what keeps being used stays. Keys are hashed with
/// foldhash (seeded per process): an identity's JSON is hashed for every block of the index, and
/// SipHash over it was a twentieth of the index thread's time.
pub(crate) struct BoundedMap<K, V> {
    young: HashMap<K, V, RandomState>,
    old: HashMap<K, V, RandomState>,
    limit: usize,
}

impl<K: Hash + Eq, V> BoundedMap<K, V> {
    /// An empty map that keeps about `limit` to `2 × limit` entries.
    pub fn new(limit: usize) -> Self {
        BoundedMap {
            young: HashMap::default(),
            old: HashMap::default(),
            limit: limit.max(1),
        }
    }

    /// The value of `key`, if it is remembered.
    pub fn get<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if !self.young.contains_key(key)
            && let Some((key, value)) = self.old.remove_entry(key)
        {
            self.insert(key, value);
        }
        self.young.get_mut(key)
    }

    /// Remembers `value` for `key`.
    pub fn insert(&mut self, key: K, value: V) {
        if self.young.len() >= self.limit && !self.young.contains_key(&key) {
            self.old = std::mem::take(&mut self.young);
        }
        self.young.insert(key, value);
    }

    /// Forgets everything.
    pub fn clear(&mut self) {
        self.young.clear();
        self.old.clear();
    }

    /// Entries remembered.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.young.len() + self.old.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_stays_bounded_and_what_is_used_stays() {
        let mut map = BoundedMap::new(100);
        map.insert(0u64, 0u64);
        for i in 1..10_000u64 {
            map.insert(i, i);
            assert!(map.get(&0).is_some(), "a key used all along is kept ({i})");
            assert!(map.len() <= 200);
        }
        assert!(map.get(&1).is_none(), "a key not used since is forgotten");
        assert_eq!(map.get(&9_999).copied(), Some(9_999));
        map.clear();
        assert!(map.get(&0).is_none());
    }
}
