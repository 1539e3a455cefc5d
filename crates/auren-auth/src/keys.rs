//! [`ApiKeys`]: verifying keys on the hot path and managing them for operators.

use std::sync::Arc;
use std::time::Duration;

use auren_core::{CallerIdentity, KeyId, SharedClock, SystemClock};

use crate::cache::{CachedLookup, VerificationCache};
use crate::last_used::{LastUsedGate, LastWrite};
use crate::store::{KeyStore, Revocation, StoreError, StoredKey};
use crate::unix_time::{from_unix_ns, system_now_ns, unix_ns};
use crate::{
    ApiKey, AuthRejection, CachedKey, InvalidKeySettings, KeyDigest, KeyFormat, KeyRecord,
    KeyState, KeyUpdate, NewKey, RandomError,
};

/// How often at most `last_used_at` is written for one key by one instance.
pub const DEFAULT_LAST_USED_INTERVAL: Duration = Duration::from_secs(60);

/// The grace period of a rotated key unless another is given: 24 hours.
pub const DEFAULT_ROTATION_GRACE: Duration = Duration::from_secs(24 * 60 * 60);

/// API keys: verification for the auth layer, and issue, list, revoke, rotate and update
/// for the admin endpoints and the CLI.
///
/// Verification parses the key offline (prefix, length, alphabet, checksum), hashes it,
/// looks the digest up (in the [`VerificationCache`] when one is set, else in the store)
/// and compares the digests in constant time. A successful verification records the use
/// at most once per key per [`DEFAULT_LAST_USED_INTERVAL`], in a background task.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use auren_auth::{ApiKeys, InMemoryKeyStore, NewKey};
/// use auren_core::Role;
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let keys = ApiKeys::new(Arc::new(InMemoryKeyStore::new()));
/// let issued = keys.create(NewKey::new("user_42", Role::User)).await.unwrap();
///
/// let caller = keys.verify(issued.key.expose_secret()).await.unwrap();
/// assert_eq!(caller.user_id(), "user_42");
///
/// keys.revoke(issued.record.key_id).await.unwrap();
/// let rejection = keys.verify(issued.key.expose_secret()).await.unwrap_err();
/// assert_eq!(rejection.code(), "revoked_key");
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct ApiKeys {
    store: Arc<dyn KeyStore>,
    format: KeyFormat,
    clock: SharedClock,
    /// Whether `clock` is the system clock, which the hot path then reads directly.
    system_clock: bool,
    cache: Option<Arc<VerificationCache>>,
    last_used: Arc<LastUsedGate>,
}

/// A freshly issued key: the secret, shown once, and its record.
#[derive(Debug)]
pub struct IssuedKey {
    /// The secret key; hand it out once and drop it.
    pub key: ApiKey,
    /// What is stored about it.
    pub record: KeyRecord,
}

/// The time of one verification, in Unix nanoseconds.
#[derive(Debug, Clone, Copy)]
struct Now {
    /// By the key clock: for expiry, revocation and last use.
    key_ns: i64,
    /// By the system clock: for the cache's TTL.
    cache_ns: i64,
}

/// What a lookup found, and where.
enum Found {
    /// A key, from the cache.
    Cached(Arc<CachedKey>),
    /// A key, from the store.
    Fetched(Arc<CachedKey>),
    /// No key has the digest.
    Nothing,
}

impl Found {
    fn fetched(stored: Option<StoredKey>) -> Self {
        match stored {
            Some(stored) => Self::Fetched(Arc::new(CachedKey::new(stored))),
            None => Self::Nothing,
        }
    }
}

/// What registering a given key did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registration {
    /// The key was stored.
    Registered(KeyRecord),
    /// The key was stored before and was left as it was.
    AlreadyRegistered(KeyRecord),
}

/// A rotation: the replacement key and the old record with its grace expiry.
#[derive(Debug)]
pub struct Rotation {
    /// The replacement, with the same settings.
    pub new: IssuedKey,
    /// The old key's record, now expiring at the end of the grace period.
    pub old: KeyRecord,
}

/// Why a management operation failed. Messages carry no secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// A setting is out of range.
    #[error(transparent)]
    Invalid(#[from] InvalidKeySettings),
    /// No key has this id.
    #[error("no API key has this id")]
    NotFound,
    /// The key is revoked, so it cannot be rotated.
    #[error("the API key is revoked")]
    Revoked,
    /// The random generator failed.
    #[error(transparent)]
    Random(#[from] RandomError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ApiKeys {
    /// Keys in `store`, with the default format, the system clock and no cache.
    pub fn new(store: Arc<dyn KeyStore>) -> Self {
        Self {
            store,
            format: KeyFormat::default(),
            clock: SystemClock::shared(),
            system_clock: true,
            cache: None,
            last_used: Arc::new(LastUsedGate::new(DEFAULT_LAST_USED_INTERVAL)),
        }
    }

    /// Uses another key format (prefix).
    pub fn with_format(mut self, format: KeyFormat) -> Self {
        self.format = format;
        self
    }

    /// Takes the time from `clock`, for expiry and revocation.
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self.system_clock = false;
        self
    }

    /// Looks keys up through `cache` first. Use it with a store behind a network.
    pub fn with_cache(mut self, cache: Arc<VerificationCache>) -> Self {
        self.cache = Some(cache);
        self
    }

    /// Writes `last_used_at` at most once per key per `interval`.
    pub fn with_last_used_interval(mut self, interval: Duration) -> Self {
        self.last_used = Arc::new(LastUsedGate::new(interval));
        self
    }

    /// The key format.
    pub fn format(&self) -> &KeyFormat {
        &self.format
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn KeyStore> {
        &self.store
    }

    /// Verifies a presented key and returns the caller it authenticates.
    ///
    /// # Errors
    ///
    /// An [`AuthRejection`]: `invalid_credentials` for a malformed or unknown key (which
    /// cannot be told apart), `revoked_key`, `expired_key`, or `auth_unavailable` when the
    /// store fails.
    pub async fn verify(&self, presented: &str) -> Result<CallerIdentity, AuthRejection> {
        self.format
            .check(presented)
            .map_err(AuthRejection::MalformedKey)?;
        let digest = KeyDigest::of_text(presented);

        // One reading of the clock serves the cache, expiry, revocation and last use on a
        // hit; a lookup that went to the store reads it again afterwards.
        let now = self.now();
        let (cached, now) = match self.lookup(&digest, now).await? {
            Found::Cached(cached) => (cached, now),
            Found::Fetched(cached) => (cached, self.now()),
            Found::Nothing => return Err(AuthRejection::UnknownKey),
        };
        let stored = cached.stored();
        if !stored.digest.ct_matches(&digest) {
            return Err(AuthRejection::UnknownKey);
        }

        let key_id = stored.record.key_id;
        match cached.check(now.key_ns) {
            Err(KeyState::Revoked) => return Err(AuthRejection::RevokedKey(key_id)),
            Err(KeyState::Expired) => return Err(AuthRejection::ExpiredKey(key_id)),
            Ok(()) => {}
        }

        self.note_use(&cached, now.key_ns);
        Ok(cached.identity().clone())
    }

    /// The time for a verification: by the key clock, and by the system clock for the
    /// cache's TTL (one reading when the key clock is the system clock).
    fn now(&self) -> Now {
        if self.system_clock {
            let now = system_now_ns();
            return Now {
                key_ns: now,
                cache_ns: now,
            };
        }
        Now {
            key_ns: unix_ns(self.clock.now()),
            cache_ns: system_now_ns(),
        }
    }

    async fn lookup(&self, digest: &KeyDigest, now: Now) -> Result<Found, AuthRejection> {
        let Some(cache) = &self.cache else {
            let found = self.find(digest).await?;
            return Ok(Found::fetched(found));
        };
        match cache.get_at(digest, now.cache_ns) {
            Some(CachedLookup::Known(cached)) => return Ok(Found::Cached(cached)),
            Some(CachedLookup::Unknown) => return Ok(Found::Nothing),
            None => {}
        }

        let ticket = cache.ticket();
        let found = Found::fetched(self.find(digest).await?);
        let entry = match &found {
            Found::Fetched(cached) | Found::Cached(cached) => {
                CachedLookup::Known(Arc::clone(cached))
            }
            Found::Nothing => CachedLookup::Unknown,
        };
        cache.fill(ticket, *digest, entry);
        Ok(found)
    }

    async fn find(&self, digest: &KeyDigest) -> Result<Option<StoredKey>, AuthRejection> {
        self.store.find_by_digest(digest).await.map_err(|error| {
            tracing::warn!(error = %error, "API keys cannot be looked up");
            AuthRejection::Unavailable
        })
    }

    /// Writes `last_used_at` in the background, at most once per interval per key.
    ///
    /// The common case, a key whose use was written within the interval, is one relaxed
    /// load of the stamp in its [`CachedKey`]. Only when that stamp is old does the gate
    /// (a lock and a map probe) decide, so concurrent requests and fresh cache entries of
    /// one key still write once per interval.
    fn note_use(&self, cached: &CachedKey, now_ns: i64) {
        if cached.used_recently(now_ns, self.last_used.interval_ns()) {
            return;
        }

        let key_id = cached.stored().record.key_id;
        let now = from_unix_ns(now_ns);
        match self.last_used.check(key_id, now) {
            LastWrite::Recent(at) => {
                cached.note_written(unix_ns(at));
                return;
            }
            LastWrite::Due => cached.note_written(now_ns),
        }

        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let store = Arc::clone(&self.store);
        runtime.spawn(async move {
            if let Err(error) = store.touch(key_id, now).await {
                tracing::debug!(key_id = %key_id, error = %error, "last_used_at not written");
            }
        });
    }

    /// Issues a new key with the settings of `new`.
    ///
    /// # Errors
    ///
    /// [`KeyError::Invalid`] for settings out of range, [`KeyError::Store`] or
    /// [`KeyError::Random`] when storing or generating fails.
    pub async fn create(&self, new: NewKey) -> Result<IssuedKey, KeyError> {
        new.validate()?;
        let key = self.format.generate()?;
        let record = KeyRecord::new(new, key.display_prefix().to_owned(), self.clock.now());
        self.store.insert(&record, &KeyDigest::of(&key)).await?;
        tracing::debug!(key_id = %record.key_id, role = %record.role, "API key issued");
        Ok(IssuedKey { key, record })
    }

    /// Stores a key chosen elsewhere (such as a bootstrap admin key from the environment)
    /// unless it is stored already, in which case it is left exactly as it is.
    ///
    /// # Errors
    ///
    /// As for [`ApiKeys::create`].
    pub async fn register(&self, key: &ApiKey, new: NewKey) -> Result<Registration, KeyError> {
        new.validate()?;
        let digest = KeyDigest::of(key);
        if let Some(stored) = self.store.find_by_digest(&digest).await? {
            return Ok(Registration::AlreadyRegistered(stored.record));
        }

        let record = KeyRecord::new(new, key.display_prefix().to_owned(), self.clock.now());
        match self.store.insert(&record, &digest).await {
            Ok(()) => {
                self.invalidate(&digest);
                Ok(Registration::Registered(record))
            }
            // Another instance registered it at the same moment.
            Err(StoreError::Duplicate) => match self.store.find_by_digest(&digest).await? {
                Some(stored) => Ok(Registration::AlreadyRegistered(stored.record)),
                None => Err(StoreError::Duplicate.into()),
            },
            Err(error) => Err(error.into()),
        }
    }

    /// Issues a key with the settings of `new` (normally an admin key) unless an admin key
    /// is active, as one atomic step in the store: of several instances starting together
    /// on one database, one creates the key and the others get `None`.
    ///
    /// # Errors
    ///
    /// As for [`ApiKeys::create`].
    ///
    /// # Example
    ///
    /// ```
    /// use std::sync::Arc;
    /// use auren_auth::{ApiKeys, InMemoryKeyStore, NewKey};
    /// use auren_core::Role;
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let keys = ApiKeys::new(Arc::new(InMemoryKeyStore::new()));
    /// let first = keys.create_if_no_active_admin(NewKey::new("admin", Role::Admin)).await;
    /// assert!(first.unwrap().is_some());
    /// let again = keys.create_if_no_active_admin(NewKey::new("admin", Role::Admin)).await;
    /// assert!(again.unwrap().is_none());
    /// # });
    /// ```
    pub async fn create_if_no_active_admin(
        &self,
        new: NewKey,
    ) -> Result<Option<IssuedKey>, KeyError> {
        new.validate()?;
        let key = self.format.generate()?;
        let now = self.clock.now();
        let record = KeyRecord::new(new, key.display_prefix().to_owned(), now);

        let digest = KeyDigest::of(&key);
        if !self
            .store
            .insert_if_no_active_admin(&record, &digest, now)
            .await?
        {
            return Ok(None);
        }

        self.invalidate(&digest);
        tracing::debug!(key_id = %record.key_id, role = %record.role, "API key issued");
        Ok(Some(IssuedKey { key, record }))
    }

    /// Whether some admin key is usable now.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the store fails.
    pub async fn has_active_admin(&self) -> Result<bool, StoreError> {
        self.store.has_active_admin(self.clock.now()).await
    }

    /// Every key record, or those of `user_id`, oldest first.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the store fails.
    pub async fn list(&self, user_id: Option<&str>) -> Result<Vec<KeyRecord>, StoreError> {
        self.store.list(user_id).await
    }

    /// The record of `key_id`.
    ///
    /// # Errors
    ///
    /// [`KeyError::NotFound`] or [`KeyError::Store`].
    pub async fn get(&self, key_id: KeyId) -> Result<KeyRecord, KeyError> {
        let stored = self.store.get(key_id).await?.ok_or(KeyError::NotFound)?;
        Ok(stored.record)
    }

    /// Revokes `key_id` now. Revoking a revoked key changes nothing and says so.
    ///
    /// # Errors
    ///
    /// [`KeyError::NotFound`] or [`KeyError::Store`].
    pub async fn revoke(&self, key_id: KeyId) -> Result<Revocation, KeyError> {
        let revocation = self.store.revoke(key_id, self.clock.now()).await?;
        match &revocation {
            Revocation::Revoked(stored) => {
                self.invalidate(&stored.digest);
                tracing::debug!(key_id = %key_id, "API key revoked");
            }
            Revocation::NotFound => return Err(KeyError::NotFound),
            _ => {}
        }
        Ok(revocation)
    }

    /// Issues a replacement for `key_id` with the same settings, and makes the old key
    /// expire after `grace` (or at its own expiry, if that comes first).
    ///
    /// # Errors
    ///
    /// [`KeyError::NotFound`], [`KeyError::Revoked`], or a failure as for
    /// [`ApiKeys::create`].
    pub async fn rotate(&self, key_id: KeyId, grace: Duration) -> Result<Rotation, KeyError> {
        let old = self.store.get(key_id).await?.ok_or(KeyError::NotFound)?;
        if old.record.revoked_at.is_some() {
            return Err(KeyError::Revoked);
        }

        let new = self
            .create(NewKey {
                user_id: old.record.user_id.clone(),
                description: old.record.description.clone(),
                role: old.record.role,
                rate_limit_per_minute: Some(old.record.rate_limit_per_minute),
                expires_at: old.record.expires_at,
            })
            .await?;

        let grace = chrono::Duration::from_std(grace).unwrap_or(chrono::Duration::MAX);
        let ends = self
            .clock
            .now()
            .checked_add_signed(grace)
            .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC);
        let old = self
            .store
            .expire_by(key_id, ends)
            .await?
            .ok_or(KeyError::NotFound)?;
        self.invalidate(&old.digest);
        tracing::debug!(old = %key_id, new = %new.record.key_id, "API key rotated");
        Ok(Rotation {
            new,
            old: old.record,
        })
    }

    /// Changes the rate limit or description of `key_id`.
    ///
    /// # Errors
    ///
    /// [`KeyError::Invalid`], [`KeyError::NotFound`] or [`KeyError::Store`].
    pub async fn update(&self, key_id: KeyId, update: &KeyUpdate) -> Result<KeyRecord, KeyError> {
        update.validate()?;
        let stored = self
            .store
            .update(key_id, update)
            .await?
            .ok_or(KeyError::NotFound)?;
        self.invalidate(&stored.digest);
        Ok(stored.record)
    }

    /// Drops `digest` from this instance's cache at once; other instances hear of the
    /// change through `NOTIFY`.
    fn invalidate(&self, digest: &KeyDigest) {
        if let Some(cache) = &self.cache {
            cache.invalidate(digest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::InMemoryKeyStore;
    use auren_core::Role;
    use zeroize::ZeroizeOnDrop;

    fn wiped_on_drop<T: ZeroizeOnDrop>(_: &T) {}

    /// The one copy of a fresh secret lives in the `ApiKey`, which wipes it on drop (its
    /// `String` with the spare capacity); the issued key and its `Debug` never show it.
    #[tokio::test]
    async fn an_issued_secret_is_wiped_on_drop_and_never_shown() {
        let keys = ApiKeys::new(Arc::new(InMemoryKeyStore::new()));
        let issued = keys
            .create(NewKey::new("u", Role::Admin))
            .await
            .expect("issued");
        wiped_on_drop(&issued.key);

        let secret = issued.key.expose_secret();
        let random = &secret[issued.key.display_prefix().len()..];
        for shown in [format!("{issued:?}"), format!("{:?}", issued.key)] {
            assert!(!shown.contains(random), "{shown}");
            assert!(shown.contains(issued.key.display_prefix()), "{shown}");
        }

        let created = keys
            .create_if_no_active_admin(NewKey::new("admin", Role::Admin))
            .await
            .expect("store");
        assert!(created.is_none(), "an admin key is active");
    }
}
