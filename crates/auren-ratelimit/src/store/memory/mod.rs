//! The in-memory store: sharded mutexes over hash tables, with a hard cap on keys.

mod clock;
mod shard;

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use auren_core::{KeyId, SharedClock};

use self::clock::StoreClock;
use self::shard::{make_room, remove, Entry, KeyHasher, Shard, Slot};
use super::{KeyStatus, RateLimitStore, StatusPage};
use crate::gcra::period_us;
use crate::{ConfigError, Gcra, RateLimitDecision, StoreError, DEFAULT_PERIOD};

/// The default cap on keys held by a [`MemoryStore`].
pub const DEFAULT_MAX_KEYS: usize = 100_000;

/// Shards of the map; a power of two keeps the pick cheap.
const SHARDS: usize = 64;

/// GCRA state for one process, exact under any number of tasks.
///
/// Keys spread over 64 mutex-guarded shards; a check hashes the key once, holds one
/// shard's lock for a few dozen nanoseconds and never across an `.await`. The time comes
/// from the CPU's counter (through `quanta`), anchored to the wall clock when the store is
/// built, unless a [`Clock`](auren_core::Clock) is given. Memory is bounded: the store
/// holds at most `max_keys` keys (rounded up to a multiple of the shard count). When a
/// shard is full, its idle keys (TAT in the past: they carry no state) are dropped first;
/// if every key in the shard is still active, the one closest to idle is dropped, which
/// at worst hands that key a fresh limit early. [`evict_idle`](Self::evict_idle) sweeps
/// all shards.
///
/// # Example
///
/// ```
/// use auren_core::{KeyId, ManualClock};
/// use auren_ratelimit::MemoryStore;
///
/// let clock = ManualClock::starting_now();
/// let store = MemoryStore::builder().clock(clock.clone()).build().unwrap();
/// let key = KeyId::new();
///
/// assert!(store.check_now(key, 2).allowed);
/// assert!(store.check_now(key, 2).allowed);
/// assert!(!store.check_now(key, 2).allowed);
///
/// clock.advance(chrono::Duration::seconds(30));
/// assert!(store.check_now(key, 2).allowed);
/// ```
#[derive(Debug)]
pub struct MemoryStore {
    shards: Box<[Mutex<Shard>]>,
    hasher: KeyHasher,
    shard_capacity: usize,
    period: Duration,
    period_us: i64,
    clock: StoreClock,
}

impl MemoryStore {
    /// A store with the default cap, a one-minute period and the CPU's counter as clock.
    pub fn new() -> Self {
        Self::with_parts(DEFAULT_MAX_KEYS, DEFAULT_PERIOD, StoreClock::counter())
    }

    /// A builder for the cap, the period and the clock.
    pub fn builder() -> MemoryStoreBuilder {
        MemoryStoreBuilder::default()
    }

    fn with_parts(max_keys: usize, period: Duration, clock: StoreClock) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::new())).collect(),
            hasher: KeyHasher::new(),
            shard_capacity: max_keys.div_ceil(SHARDS).max(1),
            period,
            period_us: period_us(period),
            clock,
        }
    }

    /// Checks and counts one request of `key` against `limit` per period, synchronously.
    ///
    /// A limit of zero rejects every request.
    pub fn check_now(&self, key: KeyId, limit: u32) -> RateLimitDecision {
        if limit == 0 {
            return RateLimitDecision::blocked(self.period);
        }
        let now = self.clock.now_us();
        let hash = self.hasher.hash(key);
        let mut shard = self.shard(hash);

        // One probe for a known key: the entry is updated in place.
        if let Some(slot) = shard.find_mut(hash, |slot| slot.key == key) {
            let gcra = slot.entry.gcra(limit, self.period_us);
            let (decision, new_tat) = gcra.check(Some(slot.entry.tat_us), now);
            if let Some(tat_us) = new_tat {
                slot.entry = Entry::new(&gcra, tat_us);
            }
            return decision;
        }

        let gcra = Gcra::from_period_us(limit, self.period_us);
        let (decision, new_tat) = gcra.check(None, now);
        if let Some(tat_us) = new_tat {
            if shard.len() >= self.shard_capacity {
                make_room(&mut shard, now);
            }
            let hasher = self.hasher;
            let slot = Slot {
                key,
                entry: Entry::new(&gcra, tat_us),
            };
            shard.insert_unique(hash, slot, |slot| hasher.hash(slot.key));
        }
        decision
    }

    /// Drops every idle key (whose TAT is in the past) from every shard; returns how many
    /// keys were dropped.
    pub fn evict_idle(&self) -> usize {
        let now = self.clock.now_us();
        let mut dropped = 0;
        for shard in self.shards.iter() {
            let mut shard = lock(shard);
            let before = shard.len();
            shard.retain(|slot| slot.entry.tat_us > now);
            dropped += before - shard.len();
        }
        dropped
    }

    /// The number of keys held now, idle ones included.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|shard| lock(shard).len()).sum()
    }

    /// Whether the store holds no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most keys this store will ever hold.
    pub fn capacity(&self) -> usize {
        self.shard_capacity * SHARDS
    }

    fn status_now(&self, key: KeyId) -> Option<KeyStatus> {
        let now = self.clock.now_us();
        let hash = self.hasher.hash(key);
        let entry = self.shard(hash).find(hash, |slot| slot.key == key)?.entry;
        (entry.tat_us > now).then(|| self.status_of(key, entry, now))
    }

    fn status_of(&self, key: KeyId, entry: Entry, now: i64) -> KeyStatus {
        let gcra = entry.gcra(entry.limit, self.period_us);
        KeyStatus::new(key, &gcra.status(entry.tat_us, now))
    }

    fn shard(&self, hash: u64) -> MutexGuard<'_, Shard> {
        lock(&self.shards[KeyHasher::shard_index(hash, SHARDS)])
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

/// A poisoned shard still holds consistent entries (no code panics mid-update), so the
/// lock is taken regardless.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[async_trait]
impl RateLimitStore for MemoryStore {
    fn period(&self) -> Duration {
        self.period
    }

    async fn check(&self, key: KeyId, limit: u32) -> Result<RateLimitDecision, StoreError> {
        Ok(self.check_now(key, limit))
    }

    async fn status(&self, key: KeyId) -> Result<Option<KeyStatus>, StoreError> {
        Ok(self.status_now(key))
    }

    async fn reset(&self, key: KeyId) -> Result<bool, StoreError> {
        let hash = self.hasher.hash(key);
        Ok(remove(&mut self.shard(hash), key, hash))
    }

    async fn list(&self, cursor: Option<&str>, limit: usize) -> Result<StatusPage, StoreError> {
        let after = match cursor {
            Some(text) => Some(
                text.parse::<KeyId>()
                    .map_err(|_| StoreError::InvalidCursor)?,
            ),
            None => None,
        };
        let now = self.clock.now_us();

        let mut active: Vec<(KeyId, Entry)> = Vec::new();
        for shard in self.shards.iter() {
            let shard = lock(shard);
            active.extend(
                shard
                    .iter()
                    .filter(|slot| slot.entry.tat_us > now && after.is_none_or(|a| slot.key > a))
                    .map(|slot| (slot.key, slot.entry)),
            );
        }
        active.sort_unstable_by_key(|(key, _)| *key);

        let limit = limit.max(1);
        let next_cursor = (active.len() > limit).then(|| active[limit - 1].0.to_string());
        active.truncate(limit);
        let keys = active
            .into_iter()
            .map(|(key, entry)| self.status_of(key, entry, now))
            .collect();
        Ok(StatusPage::new(keys, next_cursor))
    }
}

/// Configures a [`MemoryStore`].
///
/// ```
/// use std::time::Duration;
/// use auren_ratelimit::MemoryStore;
///
/// let store = MemoryStore::builder()
///     .max_keys(1_000)
///     .period(Duration::from_secs(1))
///     .build()
///     .unwrap();
/// assert!(store.capacity() >= 1_000);
/// ```
#[derive(Debug, Clone)]
pub struct MemoryStoreBuilder {
    max_keys: usize,
    period: Duration,
    clock: Option<SharedClock>,
}

impl Default for MemoryStoreBuilder {
    fn default() -> Self {
        Self {
            max_keys: DEFAULT_MAX_KEYS,
            period: DEFAULT_PERIOD,
            clock: None,
        }
    }
}

impl MemoryStoreBuilder {
    /// The hard cap on keys (default 100 000).
    pub fn max_keys(mut self, max_keys: usize) -> Self {
        self.max_keys = max_keys;
        self
    }

    /// The period a limit counts over (default one minute).
    pub fn period(mut self, period: Duration) -> Self {
        self.period = period;
        self
    }

    /// The clock (default the CPU's counter, anchored to the system clock).
    pub fn clock(mut self, clock: impl auren_core::Clock) -> Self {
        self.clock = Some(std::sync::Arc::new(clock));
        self
    }

    /// The clock, already shared (default the CPU's counter, anchored to the system
    /// clock).
    pub fn shared_clock(mut self, clock: SharedClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The store.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] for a zero cap or a period under a millisecond.
    pub fn build(self) -> Result<MemoryStore, ConfigError> {
        if self.max_keys == 0 {
            return Err(ConfigError::ZeroCapacity);
        }
        if self.period < Duration::from_millis(1) {
            return Err(ConfigError::PeriodTooShort(self.period));
        }
        let clock = self
            .clock
            .map_or_else(StoreClock::counter, StoreClock::Shared);
        Ok(MemoryStore::with_parts(self.max_keys, self.period, clock))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use auren_core::ManualClock;

    fn store(max_keys: usize) -> (MemoryStore, ManualClock) {
        let clock = ManualClock::starting_now();
        let store = MemoryStore::builder()
            .max_keys(max_keys)
            .clock(clock.clone())
            .build()
            .expect("valid");
        (store, clock)
    }

    #[test]
    fn window_refills_on_the_manual_clock() {
        let (store, clock) = store(100);
        let key = KeyId::new();
        assert_eq!(
            (0..20).filter(|_| store.check_now(key, 10).allowed).count(),
            10
        );

        clock.advance(chrono::Duration::seconds(6));
        assert!(store.check_now(key, 10).allowed);
        assert!(!store.check_now(key, 10).allowed);

        clock.advance(chrono::Duration::seconds(60));
        let decision = store.check_now(key, 10);
        assert_eq!(decision.remaining, 9);
    }

    #[test]
    fn the_cap_holds_under_a_flood_of_distinct_keys() {
        let (store, _clock) = store(1_000);
        for _ in 0..50_000 {
            assert!(store.check_now(KeyId::new(), 60).allowed);
        }
        assert!(store.len() <= store.capacity());
        assert!(store.capacity() < 1_100);
    }

    #[test]
    fn idle_keys_are_evicted_and_active_ones_kept() {
        let (store, clock) = store(1_000);
        let idle = KeyId::new();
        store.check_now(idle, 60);
        clock.advance(chrono::Duration::seconds(2));
        let active = KeyId::new();
        store.check_now(active, 1);

        assert_eq!(store.evict_idle(), 1);
        assert_eq!(store.len(), 1);
        assert!(!store.check_now(active, 1).allowed);
    }

    #[test]
    fn zero_limit_blocks() {
        let (store, _clock) = store(10);
        assert!(!store.check_now(KeyId::new(), 0).allowed);
        assert!(store.is_empty());
    }

    #[tokio::test]
    async fn listing_pages_through_active_keys_in_order() {
        let (store, _clock) = store(1_000);
        let mut keys: Vec<KeyId> = (0..25).map(|_| KeyId::new()).collect();
        for key in &keys {
            store.check_now(*key, 60);
        }
        keys.sort();

        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let page = store.list(cursor.as_deref(), 10).await.expect("list");
            assert!(page.keys.len() <= 10);
            seen.extend(page.keys.iter().map(|status| status.key_id));
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert_eq!(seen, keys);
        assert!(matches!(
            store.list(Some("nope"), 10).await,
            Err(StoreError::InvalidCursor)
        ));
    }
}
