//! Per-key limits shared by every stream of a key (a device, a source
//! address): token buckets that one new stream cannot reset, and counts of
//! what a key holds open, with a cap. Pure: time is an argument.

use std::collections::HashMap;
use std::hash::Hash;

use crate::ratelimit::Bucket;

/// A token bucket per key, made full on first use. Keys whose bucket is
/// full again (idle for long enough) are dropped when the table grows, so
/// a flood of keys does not grow it without bound.
#[derive(Debug)]
pub struct Buckets<K> {
    rate: u64,
    burst: u64,
    map: HashMap<K, Bucket>,
    /// Size at which full buckets are pruned next.
    prune_at: usize,
}

impl<K: Hash + Eq + Clone> Buckets<K> {
    /// Buckets refilling at `rate` per second up to `burst`.
    pub fn new(rate: u64, burst: u64) -> Self {
        Self {
            rate,
            burst,
            map: HashMap::new(),
            prune_at: 1024,
        }
    }

    /// Takes `n` from `key`'s bucket; how long (ms) until it is out of
    /// debt (0: within its limit).
    pub fn take(&mut self, key: &K, n: u64, now_ms: u64) -> u64 {
        if self.map.len() >= self.prune_at {
            self.map.retain(|_, b| {
                b.take(0, now_ms);
                !b.is_full()
            });
            self.prune_at = (self.map.len() * 2).max(1024);
        }
        self.map
            .entry(key.clone())
            .or_insert_with(|| Bucket::new(self.rate, self.burst, now_ms))
            .take(n, now_ms)
    }

    /// Takes `n` from `key`'s bucket if it holds them (true), else nothing.
    pub fn try_take(&mut self, key: &K, n: u64, now_ms: u64) -> bool {
        self.take(key, 0, now_ms);
        self.map.get_mut(key).is_some_and(|b| b.try_take(n, now_ms))
    }

    /// Keys held (for tests and the pruning bound).
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True if no key is held.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// How many of something each key holds open, each at most `max`.
#[derive(Debug)]
pub struct Counts<K> {
    max: usize,
    map: HashMap<K, usize>,
}

impl<K: Hash + Eq + Clone> Counts<K> {
    /// At most `max` per key (0: no limit).
    pub fn new(max: usize) -> Self {
        Self {
            max,
            map: HashMap::new(),
        }
    }

    /// Counts one more for `key`, unless it holds `max` already (false).
    pub fn open(&mut self, key: &K) -> bool {
        let n = self.map.entry(key.clone()).or_insert(0);
        if self.max > 0 && *n >= self.max {
            return false;
        }
        *n += 1;
        true
    }

    /// Counts one less.
    pub fn close(&mut self, key: &K) {
        if let Some(n) = self.map.get_mut(key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.map.remove(key);
            }
        }
    }

    /// What `key` holds.
    pub fn get(&self, key: &K) -> usize {
        self.map.get(key).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_shares_one_bucket_however_many_streams_ask() {
        let mut b = Buckets::new(1000, 1000);
        // Two "streams" of one key: the second does not get a fresh burst.
        assert_eq!(b.take(&"dev", 1000, 0), 0);
        assert_eq!(b.take(&"dev", 500, 0), 500);
        // Another key has its own.
        assert_eq!(b.take(&"other", 1000, 0), 0);
    }

    #[test]
    fn full_idle_buckets_are_pruned() {
        let mut b = Buckets::new(1000, 1000);
        for k in 0..2000u32 {
            b.take(&k, 1, 0);
        }
        // An hour later those are full again: growing past the bound
        // prunes them, so the table holds about the keys in use.
        for k in 10_000..12_100u32 {
            b.take(&k, 1, 3_600_000);
        }
        assert!(b.len() <= 2100, "{}", b.len());
    }

    #[test]
    fn counts_cap_each_key() {
        let mut c = Counts::new(2);
        assert!(c.open(&"ip"));
        assert!(c.open(&"ip"));
        assert!(!c.open(&"ip"), "the third is refused");
        assert!(c.open(&"other"));
        c.close(&"ip");
        assert!(c.open(&"ip"));
        assert_eq!(c.get(&"ip"), 2);
    }
}
