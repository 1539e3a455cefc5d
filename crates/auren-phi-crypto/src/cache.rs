//! Bounded, expiring caches of unwrapped data keys and derived per-user keys, so a steady
//! stream of calls does no key derivation and no key store round trip.

use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use auren_core::TtlCache;
use ring::aead::LessSafeKey;

use crate::data_key::{DataKey, DataKeyId};
use crate::derive;
use crate::error::PhiError;
use crate::metrics::{record_cache_lookup, KeyCacheKind};

/// How the key caches are sized and how long entries live.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use auren_phi_crypto::CacheConfig;
///
/// let config = CacheConfig::default().ttl(Duration::from_secs(60)).max_users(1_000);
/// assert_eq!(config.ttl_value(), Duration::from_secs(60));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheConfig {
    ttl: Duration,
    max_data_keys: u64,
    max_users: u64,
    active_refresh: Duration,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(15 * 60),
            max_data_keys: 64,
            max_users: 10_000,
            active_refresh: Duration::from_secs(60),
        }
    }
}

impl CacheConfig {
    /// How long an unwrapped data key or a derived key stays cached (default 15 minutes).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The configured time to live.
    pub fn ttl_value(&self) -> Duration {
        self.ttl
    }

    /// How many unwrapped data keys are kept at most (default 64).
    pub fn max_data_keys(mut self, max: u64) -> Self {
        self.max_data_keys = max;
        self
    }

    /// How many derived per-user keys are kept at most per data key (default 10 000).
    pub fn max_users(mut self, max: u64) -> Self {
        self.max_users = max;
        self
    }

    /// How often the active key is looked up again, so that a rotation made by another
    /// process is picked up (default 60 seconds).
    pub fn active_refresh(mut self, every: Duration) -> Self {
        self.active_refresh = every;
        self
    }
}

/// An unwrapped data key with the per-user keys derived from it, and the parts of every
/// sealed value that only depend on the key, computed once.
pub(crate) struct CachedDataKey {
    key: DataKey,
    id_text: String,
    aad_prefix: Vec<u8>,
    users: Option<TtlCache<String, Arc<LessSafeKey>>>,
}

impl fmt::Debug for CachedDataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedDataKey")
            .field("id", &self.key.id)
            .finish_non_exhaustive()
    }
}

impl CachedDataKey {
    /// A data key whose derived keys are cached as `config` says.
    pub(crate) fn cached(key: DataKey, config: &CacheConfig) -> Self {
        // User ids may be chosen by callers, so their hasher is the flood-resistant default.
        let users = TtlCache::new(entries(config.max_users), config.ttl);
        Self::with_users(key, Some(users))
    }

    /// A data key that derives on every call.
    pub(crate) fn uncached(key: DataKey) -> Self {
        Self::with_users(key, None)
    }

    fn with_users(key: DataKey, users: Option<TtlCache<String, Arc<LessSafeKey>>>) -> Self {
        Self {
            id_text: key.id.to_string(),
            aad_prefix: derive::aad_prefix(key.id),
            key,
            users,
        }
    }

    pub(crate) fn id(&self) -> DataKeyId {
        self.key.id
    }

    /// The key id as it appears in sealed values.
    pub(crate) fn id_text(&self) -> &str {
        &self.id_text
    }

    /// Calls `use_aad` with the associated data of a value sealed by this key for
    /// `user_id` and `field`.
    pub(crate) fn with_aad<R>(
        &self,
        user_id: &str,
        field: Option<&str>,
        use_aad: impl FnOnce(&[u8]) -> R,
    ) -> R {
        derive::with_field_aad(&self.aad_prefix, user_id, field, use_aad)
    }

    /// The key of `user_id`, from the cache when it is there.
    pub(crate) fn user_key(&self, user_id: &str) -> Result<Arc<LessSafeKey>, PhiError> {
        let Some(users) = &self.users else {
            return Ok(Arc::new(derive::user_key(&self.key, user_id)?));
        };
        let cached = users.get(user_id);
        record_cache_lookup(KeyCacheKind::DerivedKey, cached.is_some());
        if let Some(key) = cached {
            return Ok(key);
        }

        let key = Arc::new(derive::user_key(&self.key, user_id)?);
        users.insert(user_id.to_owned(), key.clone());
        Ok(key)
    }
}

/// The caches of one [`PhiCrypto`](crate::PhiCrypto).
pub(crate) struct KeyCache {
    config: CacheConfig,
    data_keys: TtlCache<DataKeyId, Arc<CachedDataKey>>,
    active: RwLock<Option<(Arc<CachedDataKey>, Instant)>>,
}

impl fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyCache")
            .field("config", &self.config)
            .field("data_keys", &self.data_keys.len())
            .finish_non_exhaustive()
    }
}

impl KeyCache {
    pub(crate) fn new(config: CacheConfig) -> Self {
        let data_keys = TtlCache::new(entries(config.max_data_keys), config.ttl);
        Self {
            config,
            data_keys,
            active: RwLock::new(None),
        }
    }

    pub(crate) fn config(&self) -> &CacheConfig {
        &self.config
    }

    /// The active key, unless it is older than the refresh interval.
    pub(crate) fn active(&self) -> Option<Arc<CachedDataKey>> {
        let active = self
            .active
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let (key, fetched) = active.as_ref()?;
        (fetched.elapsed() < self.config.active_refresh).then(|| key.clone())
    }

    pub(crate) fn set_active(&self, key: Arc<CachedDataKey>) {
        self.data_keys.insert(key.id(), key.clone());
        let mut active = self
            .active
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *active = Some((key, Instant::now()));
    }

    /// The unwrapped key `id`: the active key when it is that one (most values were
    /// sealed by it, and a key's bytes never change, however old the active slot is),
    /// else from the cache of data keys.
    pub(crate) fn data_key(&self, id: DataKeyId) -> Option<Arc<CachedDataKey>> {
        let active = self
            .active
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((key, _)) = active.as_ref().filter(|(key, _)| key.id() == id) {
            return Some(key.clone());
        }
        drop(active);

        self.data_keys.get(&id)
    }

    pub(crate) fn insert_data_key(&self, key: Arc<CachedDataKey>) {
        self.data_keys.insert(key.id(), key);
    }
}

/// A configured entry count as a capacity; beyond `usize` it is unbounded in effect.
fn entries(max: u64) -> usize {
    usize::try_from(max).unwrap_or(usize::MAX)
}
