//! The verification cache: recent lookups by digest, so the hot path skips the database.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use auren_core::{ttl_cache, TtlCache};

use crate::metrics::{record_cache_lookup, CacheResult};
use crate::unix_time::system_now_ns;
use crate::{CachedKey, KeyDigest};

/// Entries the cache holds at most, unless configured.
pub const DEFAULT_MAX_ENTRIES: u64 = 100_000;

/// How long a found key stays cached at most: the safety net should a notice be lost.
pub const DEFAULT_TTL: Duration = Duration::from_secs(30);

/// How long an unknown digest stays cached, so floods of made-up keys skip the database.
pub const DEFAULT_NEGATIVE_TTL: Duration = Duration::from_secs(5);

/// Hashes digests: they are uniformly random, so a fast hasher with a random seed per cache
/// spreads them as well as SipHash would, at a fraction of the cost.
type DigestHasher = foldhash::fast::RandomState;

/// What a cached lookup found.
#[derive(Debug, Clone)]
pub enum CachedLookup {
    /// A stored key.
    Known(Arc<CachedKey>),
    /// No key has this digest.
    Unknown,
}

/// A bounded cache of key lookups in front of a slow [`KeyStore`](crate::KeyStore).
///
/// Entries expire after a TTL (30 s for found keys, 5 s for unknown digests) and are
/// dropped on every change notice from
/// [`InvalidationListener`](crate::InvalidationListener).
///
/// **The fill race.** A lookup that read a key from the database just before it was revoked
/// may try to cache it just after the revocation notice was handled, which would bring the
/// revoked key back until the TTL ends. To prevent that, every invalidation bumps an
/// epoch, and a fill caches its result only if the epoch is still the one it read before
/// going to the database ([`VerificationCache::fill`]). The check and the insert happen
/// under a lock that invalidations take exclusively, so no invalidation can slip between.
///
/// While the cache is not *live* (the listener has lost its connection, so notices may be
/// missed) it is empty and caches nothing: every verification goes to the database.
///
/// # Example
///
/// ```
/// use auren_auth::{CachedLookup, VerificationCache};
/// # let digest = auren_auth::KeyDigest::of(&auren_auth::KeyFormat::default().generate().unwrap());
///
/// let cache = VerificationCache::new();
/// let ticket = cache.ticket();
/// cache.invalidate(&digest); // a revocation lands while the lookup runs
/// assert!(!cache.fill(ticket, digest, CachedLookup::Unknown));
/// assert!(cache.get(&digest).is_none());
/// ```
#[derive(Debug)]
pub struct VerificationCache {
    /// Found keys with the system time (Unix ns) they were cached at; see `get_at`.
    known: TtlCache<KeyDigest, (Arc<CachedKey>, i64), DigestHasher>,
    known_ttl_ns: i64,
    unknown: TtlCache<KeyDigest, (), DigestHasher>,
    epoch: AtomicU64,
    live: AtomicBool,
    gate: RwLock<()>,
}

/// The epoch a lookup started in; see [`VerificationCache::fill`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FillTicket(u64);

impl Default for VerificationCache {
    fn default() -> Self {
        Self::new()
    }
}

impl VerificationCache {
    /// A live cache with the default bounds and TTLs.
    pub fn new() -> Self {
        Self::with_limits(DEFAULT_MAX_ENTRIES, DEFAULT_TTL, DEFAULT_NEGATIVE_TTL)
    }

    /// A live cache of at most `max_entries` found keys and as many unknown digests (each
    /// rounded up to a multiple of 16 shards), keeping found keys for `ttl` and unknown
    /// digests for `negative_ttl`.
    pub fn with_limits(max_entries: u64, ttl: Duration, negative_ttl: Duration) -> Self {
        // Two caches with fixed TTLs rather than one with per-entry expiry, so a valid key
        // costs one probe. Digests are uniformly random, so a fast (seeded) hasher suffices.
        let max_entries = usize::try_from(max_entries).unwrap_or(usize::MAX);
        let shards = ttl_cache::DEFAULT_SHARDS;

        // Found keys expire by the system time the verifier reads anyway (see `get_at`),
        // so the map's own clock is stopped: a hit then costs one clock reading, not two.
        let stopped = Instant::now();
        let known = TtlCache::with_hasher(max_entries, ttl, shards, DigestHasher::default())
            .with_time_source(Arc::new(move || stopped));
        Self {
            known,
            known_ttl_ns: i64::try_from(ttl.as_nanos()).unwrap_or(i64::MAX),
            unknown: TtlCache::with_hasher(
                max_entries,
                negative_ttl,
                shards,
                DigestHasher::default(),
            ),
            epoch: AtomicU64::new(0),
            live: AtomicBool::new(true),
            gate: RwLock::new(()),
        }
    }

    /// The cached lookup of `digest`, if any. Each call counts as a `hit`, `negative_hit`
    /// or `miss` in [`AUTH_CACHE_LOOKUPS_TOTAL`](crate::metrics::AUTH_CACHE_LOOKUPS_TOTAL).
    pub fn get(&self, digest: &KeyDigest) -> Option<CachedLookup> {
        self.get_at(digest, system_now_ns())
    }

    /// As [`get`](Self::get), with the system time already read (Unix nanoseconds).
    ///
    /// A found key counts only from the moment it was cached until the TTL has passed; a
    /// system clock set back before that moment also makes it a miss, so no clock change
    /// can stretch an entry's life.
    pub(crate) fn get_at(&self, digest: &KeyDigest, now_ns: i64) -> Option<CachedLookup> {
        if let Some((cached, cached_at)) = self.known.get(digest) {
            let age = now_ns.saturating_sub(cached_at);
            if (0..self.known_ttl_ns).contains(&age) {
                record_cache_lookup(CacheResult::Hit);
                return Some(CachedLookup::Known(cached));
            }
        }

        let found = self.unknown.get(digest).map(|()| CachedLookup::Unknown);
        let result = match found {
            Some(_) => CacheResult::NegativeHit,
            None => CacheResult::Miss,
        };
        record_cache_lookup(result);
        found
    }

    /// Marks the start of a lookup: take the ticket *before* reading the store.
    pub fn ticket(&self) -> FillTicket {
        FillTicket(self.epoch.load(Ordering::Acquire))
    }

    /// Caches the result of a lookup that started with `ticket`, unless an invalidation
    /// happened since (or the cache is not live). Returns whether it was cached.
    pub fn fill(&self, ticket: FillTicket, digest: KeyDigest, lookup: CachedLookup) -> bool {
        let _gate = self.read_gate();
        let current = self.epoch.load(Ordering::Acquire);
        if current != ticket.0 || !self.live.load(Ordering::Acquire) {
            tracing::trace!("a key lookup raced an invalidation; not caching it");
            return false;
        }
        match lookup {
            CachedLookup::Known(cached) => self.known.insert(digest, (cached, system_now_ns())),
            CachedLookup::Unknown => self.unknown.insert(digest, ()),
        }
        true
    }

    /// Drops the entry of `digest` and voids every fill in flight.
    pub fn invalidate(&self, digest: &KeyDigest) {
        let _gate = self.write_gate();
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.known.invalidate(digest);
        self.unknown.invalidate(digest);
    }

    /// Drops every entry and voids every fill in flight.
    pub fn invalidate_all(&self) {
        let _gate = self.write_gate();
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.known.invalidate_all();
        self.unknown.invalidate_all();
    }

    /// Turns caching on or off; either way the cache is emptied.
    ///
    /// The invalidation listener turns it off while it cannot hear notices.
    pub fn set_live(&self, live: bool) {
        let _gate = self.write_gate();
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.live.store(live, Ordering::Release);
        self.known.invalidate_all();
        self.unknown.invalidate_all();
    }

    /// Whether the cache currently caches.
    pub fn is_live(&self) -> bool {
        self.live.load(Ordering::Acquire)
    }

    // A panic cannot happen while a gate is held (the guarded code only touches atomics and
    // the cache), so a poisoned lock still guards consistent state.
    fn read_gate(&self) -> RwLockReadGuard<'_, ()> {
        self.gate
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write_gate(&self) -> RwLockWriteGuard<'_, ()> {
        self.gate
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoredKey;
    use crate::{KeyFormat, KeyRecord, NewKey};
    use auren_core::Role;

    fn stored() -> (KeyDigest, CachedLookup) {
        let key = KeyFormat::default().generate().expect("random");
        let digest = KeyDigest::of(&key);
        let record = KeyRecord::new(NewKey::new("u", Role::User), "p".into(), chrono::Utc::now());
        let stored = StoredKey { record, digest };
        let lookup = CachedLookup::Known(Arc::new(CachedKey::new(stored)));
        (digest, lookup)
    }

    #[test]
    fn a_fill_without_invalidation_is_cached() {
        let cache = VerificationCache::new();
        let (digest, lookup) = stored();
        let ticket = cache.ticket();
        assert!(cache.fill(ticket, digest, lookup));
        assert!(matches!(cache.get(&digest), Some(CachedLookup::Known(_))));
    }

    #[test]
    fn a_fill_that_started_before_a_revocation_is_not_cached() {
        let cache = VerificationCache::new();
        let (digest, lookup) = stored();
        let ticket = cache.ticket();
        cache.invalidate(&digest);
        assert!(!cache.fill(ticket, digest, lookup));
        assert!(cache.get(&digest).is_none());
    }

    #[test]
    fn an_invalidation_after_the_fill_removes_it() {
        let cache = VerificationCache::new();
        let (digest, lookup) = stored();
        assert!(cache.fill(cache.ticket(), digest, lookup));
        cache.invalidate(&digest);
        assert!(cache.get(&digest).is_none());
    }

    #[test]
    fn a_cache_that_is_not_live_caches_nothing() {
        let cache = VerificationCache::new();
        let (digest, lookup) = stored();
        cache.set_live(false);
        assert!(!cache.fill(cache.ticket(), digest, lookup.clone()));
        cache.set_live(true);
        assert!(cache.fill(cache.ticket(), digest, lookup));
    }

    /// Threads fill and invalidate the same digest at random; after the last
    /// invalidation, nothing that started before it may be cached.
    #[test]
    fn racing_fills_never_outlive_the_last_invalidation() {
        for _ in 0..200 {
            let cache = Arc::new(VerificationCache::new());
            let (digest, lookup) = stored();
            let tickets: Vec<FillTicket> = (0..4).map(|_| cache.ticket()).collect();

            let fillers: Vec<_> = tickets
                .into_iter()
                .map(|ticket| {
                    let cache = Arc::clone(&cache);
                    let lookup = lookup.clone();
                    std::thread::spawn(move || cache.fill(ticket, digest, lookup))
                })
                .collect();
            cache.invalidate(&digest);
            for filler in fillers {
                filler.join().expect("filler thread");
            }

            assert!(cache.get(&digest).is_none(), "a stale fill survived");
        }
    }

    #[test]
    fn found_keys_expire_by_the_system_time_either_way() {
        let cache = VerificationCache::with_limits(100, Duration::from_secs(30), DEFAULT_TTL);
        let key = KeyFormat::default().generate().expect("random");
        let digest = KeyDigest::of(&key);
        let record = KeyRecord::new(NewKey::new("u", Role::User), "p".into(), chrono::Utc::now());
        let cached = Arc::new(CachedKey::new(StoredKey { record, digest }));
        assert!(cache.fill(cache.ticket(), digest, CachedLookup::Known(cached)));

        let now = system_now_ns();
        let second = 1_000_000_000;
        assert!(cache.get_at(&digest, now).is_some());
        assert!(cache.get_at(&digest, now + 29 * second).is_some());
        assert!(
            cache.get_at(&digest, now + 31 * second).is_none(),
            "past the TTL"
        );
        assert!(
            cache.get_at(&digest, now - 10 * second).is_none(),
            "clock set back"
        );
    }
}
