//! [`TtlCache`]: a small, bounded, expiring, sharded map for hot-path lookups.

use std::borrow::Borrow;
use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

/// Shards a cache gets unless told otherwise.
pub const DEFAULT_SHARDS: usize = 16;

/// Shards a cache gets at most.
const MAX_SHARDS: usize = 256;

/// Where a [`TtlCache`] reads the current instant; see [`TtlCache::with_time_source`].
pub type TimeSource = Arc<dyn Fn() -> Instant + Send + Sync>;

/// One shard: each value with the instant it was inserted.
type Shard<K, V, S> = RwLock<HashMap<K, (V, Instant), S>>;

/// A bounded map whose entries expire a fixed time after they were inserted.
///
/// Built for lookups on the hot path (verified API keys, derived encryption keys): the map
/// is split into shards, each a `RwLock<HashMap<K, (V, Instant)>>`, so a read takes one
/// shared lock, one hash probe and one clock read, and writers only block their shard.
///
/// - **Bounded.** Each shard holds at most [`capacity`](Self::capacity) / shards entries.
///   An insert into a full shard first drops the shard's expired entries; if that frees
///   less than an eighth of the shard, it also drops arbitrary live entries down to
///   seven eighths, so a flood of inserts costs amortized O(1) each and never grows the map.
/// - **Expiring.** [`get`](Self::get) never returns an entry older than the TTL. Expired
///   entries stay in memory until an insert into their shard needs the room (or an
///   invalidation), so [`len`](Self::len) counts them.
/// - **Dropped normally.** Removed and replaced values are dropped at once, so a value
///   whose `Drop` wipes secrets (`zeroize`) is wiped when it leaves the cache.
///
/// `S` hashes the keys, both to pick a shard and inside the shard. The default,
/// [`RandomState`], resists hash flooding with keys an attacker chooses; a faster hasher
/// fits keys that are already uniformly random, such as SHA-256 digests.
///
/// `Debug` shows the sizes and the TTL, never a key or a value.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use auren_core::TtlCache;
///
/// let cache: TtlCache<String, u32> = TtlCache::new(1_000, Duration::from_secs(30));
/// cache.insert("user_1".to_owned(), 72);
/// assert_eq!(cache.get("user_1"), Some(72));
///
/// cache.invalidate("user_1");
/// assert_eq!(cache.get("user_1"), None);
/// assert!(cache.is_empty());
/// ```
pub struct TtlCache<K, V, S = RandomState> {
    shards: Box<[Shard<K, V, S>]>,
    hasher: S,
    shard_bits: u32,
    shard_capacity: usize,
    ttl: Duration,
    time: Option<TimeSource>,
}

impl<K, V, S> fmt::Debug for TtlCache<K, V, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TtlCache")
            .field("shards", &self.shards.len())
            .field("capacity", &self.capacity())
            .field("ttl", &self.ttl)
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

impl<K: Hash + Eq, V: Clone> TtlCache<K, V> {
    /// A cache of about `capacity` entries (see [`capacity`](Self::capacity)) that live
    /// for `ttl`, in [`DEFAULT_SHARDS`] shards, hashed with [`RandomState`].
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        Self::with_hasher(capacity, ttl, DEFAULT_SHARDS, RandomState::new())
    }
}

impl<K, V, S> TtlCache<K, V, S>
where
    K: Hash + Eq,
    V: Clone,
    S: BuildHasher + Clone,
{
    /// A cache of about `capacity` entries that live for `ttl`, in `shards` shards (rounded
    /// up to a power of two, at most 256 and no more than needed for `capacity`), hashed
    /// with `hasher`. A capacity of zero caches nothing.
    pub fn with_hasher(capacity: usize, ttl: Duration, shards: usize, hasher: S) -> Self {
        let mut count = shards.clamp(1, MAX_SHARDS).next_power_of_two();
        while count > 1 && count > capacity {
            count /= 2;
        }

        let shards = (0..count)
            .map(|_| RwLock::new(HashMap::with_hasher(hasher.clone())))
            .collect();
        Self {
            shards,
            hasher,
            shard_bits: count.trailing_zeros(),
            shard_capacity: capacity.div_ceil(count),
            ttl,
            time: None,
        }
    }

    /// Reads the current instant from `now` instead of [`Instant::now`], so tests can move
    /// time by hand.
    ///
    /// # Example
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use std::time::{Duration, Instant};
    /// use auren_core::TtlCache;
    ///
    /// let now = Arc::new(Mutex::new(Instant::now()));
    /// let reader = Arc::clone(&now);
    /// let cache: TtlCache<u32, &str> = TtlCache::new(10, Duration::from_secs(5))
    ///     .with_time_source(Arc::new(move || *reader.lock().unwrap()));
    ///
    /// cache.insert(1, "one");
    /// *now.lock().unwrap() += Duration::from_secs(5);
    /// assert_eq!(cache.get(&1), None);
    /// ```
    pub fn with_time_source(mut self, now: TimeSource) -> Self {
        self.time = Some(now);
        self
    }

    /// The value of `key`, unless it is absent or older than the TTL.
    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let shard = read(self.shard(key));
        let (value, inserted) = shard.get(key)?;
        (!self.is_expired(*inserted, self.now())).then(|| value.clone())
    }

    /// Stores `value` under `key` for the TTL, replacing (and dropping) any older value.
    ///
    /// A full shard makes room first; see the type's docs.
    pub fn insert(&self, key: K, value: V) {
        if self.shard_capacity == 0 {
            return;
        }

        let now = self.now();
        let mut shard = write(self.shard(&key));
        if shard.len() >= self.shard_capacity && !shard.contains_key(&key) {
            self.make_room(&mut shard, now);
        }
        shard.insert(key, (value, now));
    }

    /// Drops the entry of `key`, if any.
    pub fn invalidate<Q>(&self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let removed = write(self.shard(key)).remove(key);

        // Dropped after the lock is released: a value's Drop may take its time wiping.
        drop(removed);
    }

    fn shard<Q>(&self, key: &Q) -> &Shard<K, V, S>
    where
        Q: Hash + ?Sized,
    {
        // Bits from the middle of the hash: the map inside the shard uses the low bits
        // for its buckets and the top seven as tags.
        let hash = self.hasher.hash_one(key);
        let index = (hash >> 32) as usize & ((1 << self.shard_bits) - 1);
        &self.shards[index]
    }

    fn make_room(&self, shard: &mut HashMap<K, (V, Instant), S>, now: Instant) {
        shard.retain(|_, (_, inserted)| !self.is_expired(*inserted, now));

        let keep = self.shard_capacity - self.shard_capacity / 8 - 1;
        let mut surplus = shard.len().saturating_sub(keep);
        if surplus > 0 {
            tracing::trace!(surplus, "a full cache shard drops live entries");
            shard.retain(|_, _| {
                let dropped = surplus > 0;
                surplus = surplus.saturating_sub(1);
                !dropped
            });
        }
    }

    fn is_expired(&self, inserted: Instant, now: Instant) -> bool {
        now.saturating_duration_since(inserted) >= self.ttl
    }

    fn now(&self) -> Instant {
        match &self.time {
            Some(now) => now(),
            None => Instant::now(),
        }
    }
}

impl<K, V, S> TtlCache<K, V, S> {
    /// Drops every entry.
    pub fn invalidate_all(&self) {
        for shard in self.shards.iter() {
            write(shard).clear();
        }
    }

    /// How many entries are held, expired ones not yet dropped included.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|shard| read(shard).len()).sum()
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.shards.iter().all(|shard| read(shard).is_empty())
    }

    /// The most entries the cache holds: the capacity asked for, rounded up to a multiple
    /// of the shard count.
    pub fn capacity(&self) -> usize {
        self.shard_capacity * self.shards.len()
    }

    /// How long an entry lives.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }
}

// Every change under a shard lock is one std HashMap call, which leaves the map
// consistent even if it panics, so a poisoned lock still guards a usable map.
fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    use super::*;

    /// A cache whose time moves only when the returned handle is advanced.
    fn manual(shards: usize, ttl: Duration) -> (TtlCache<u64, u64>, Arc<Mutex<Instant>>) {
        let now = Arc::new(Mutex::new(Instant::now()));
        let reader = Arc::clone(&now);
        let cache = TtlCache::with_hasher(64, ttl, shards, RandomState::new())
            .with_time_source(Arc::new(move || *reader.lock().expect("time")));
        (cache, now)
    }

    fn advance(now: &Mutex<Instant>, by: Duration) {
        *now.lock().expect("time") += by;
    }

    #[test]
    fn a_stored_value_is_returned_until_invalidated() {
        let cache: TtlCache<String, u32> = TtlCache::new(100, Duration::from_secs(60));
        cache.insert("a".to_owned(), 1);
        cache.insert("a".to_owned(), 2);
        assert_eq!(cache.get("a"), Some(2));
        assert_eq!(cache.len(), 1);

        cache.invalidate("a");
        assert_eq!(cache.get("a"), None);
        assert!(cache.is_empty());
    }

    #[test]
    fn invalidate_all_empties_every_shard() {
        let cache: TtlCache<u64, u64> = TtlCache::new(1_000, Duration::from_secs(60));
        for key in 0..500 {
            cache.insert(key, key);
        }
        assert_eq!(cache.len(), 500);

        cache.invalidate_all();
        assert!(cache.is_empty());
        assert_eq!(cache.get(&7), None);
    }

    #[test]
    fn entries_expire_after_the_ttl_without_sleeping() {
        let (cache, now) = manual(DEFAULT_SHARDS, Duration::from_secs(30));
        cache.insert(1, 10);

        advance(&now, Duration::from_secs(29));
        assert_eq!(cache.get(&1), Some(10));

        advance(&now, Duration::from_secs(1));
        assert_eq!(cache.get(&1), None);
    }

    #[test]
    fn a_time_source_that_goes_back_does_not_expire_entries() {
        let (cache, now) = manual(DEFAULT_SHARDS, Duration::from_secs(30));
        cache.insert(1, 10);
        *now.lock().expect("time") -= Duration::from_secs(10);
        assert_eq!(cache.get(&1), Some(10));
    }

    #[test]
    fn capacity_holds_under_a_flood() {
        let cache: TtlCache<u64, u64> = TtlCache::new(1_000, Duration::from_secs(60));
        for key in 0..100_000 {
            cache.insert(key, key);
            assert!(cache.len() <= cache.capacity());
        }
        assert!(cache.capacity() >= 1_000 && cache.capacity() < 1_000 + DEFAULT_SHARDS);

        // The latest insert is always kept.
        assert_eq!(cache.get(&99_999), Some(99_999));
    }

    #[test]
    fn a_full_shard_drops_expired_entries_first() {
        // One shard, so the fresh entries cannot crowd a shard of their own.
        let (cache, now) = manual(1, Duration::from_secs(30));
        let old: Vec<u64> = (0..1_000).collect();
        for &key in &old {
            cache.insert(key, key);
        }
        advance(&now, Duration::from_secs(31));

        let fresh: Vec<u64> = (1_000..1_040).collect();
        for &key in &fresh {
            cache.insert(key, key);
        }
        assert!(fresh.iter().all(|key| cache.get(key) == Some(*key)));
        assert!(cache.len() <= cache.capacity());
    }

    #[test]
    fn a_zero_capacity_caches_nothing() {
        let cache: TtlCache<u64, u64> = TtlCache::new(0, Duration::from_secs(60));
        cache.insert(1, 1);
        assert_eq!(cache.get(&1), None);
        assert_eq!(cache.capacity(), 0);
    }

    #[test]
    fn dropped_values_are_dropped_when_they_leave() {
        #[derive(Clone)]
        struct Counted(Arc<AtomicUsize>);
        impl Drop for Counted {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }

        let drops = Arc::new(AtomicUsize::new(0));
        let cache: TtlCache<u64, Counted> = TtlCache::new(4, Duration::from_secs(60));
        cache.insert(1, Counted(Arc::clone(&drops)));
        cache.insert(1, Counted(Arc::clone(&drops)));
        assert_eq!(drops.load(Ordering::SeqCst), 1, "the replaced value");

        cache.invalidate(&1);
        assert_eq!(drops.load(Ordering::SeqCst), 2, "the invalidated value");
    }

    #[test]
    fn debug_shows_no_entries() {
        let cache: TtlCache<String, String> = TtlCache::new(10, Duration::from_secs(1));
        cache.insert("secret-key".to_owned(), "secret-value".to_owned());
        let shown = format!("{cache:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("len: 1"), "{shown}");
    }

    #[test]
    fn readers_and_writers_share_the_cache_across_threads() {
        let cache = Arc::new(TtlCache::<u64, u64>::new(256, Duration::from_secs(60)));
        let threads: Vec<_> = (0..4)
            .map(|thread| {
                let cache = Arc::clone(&cache);
                std::thread::spawn(move || {
                    for key in 0..2_000 {
                        cache.insert(thread * 10_000 + key, key);
                        let _ = cache.get(&key);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().expect("thread");
        }
        assert!(cache.len() <= cache.capacity());
    }
}
