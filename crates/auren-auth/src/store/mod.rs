//! Where key records live: the [`KeyStore`] trait and its two implementations.

mod memory;
mod postgres;

use async_trait::async_trait;
use auren_core::KeyId;
use chrono::{DateTime, Utc};

pub use memory::InMemoryKeyStore;
pub use postgres::{PostgresKeyStore, NOTIFY_CHANNEL};

use crate::{KeyDigest, KeyRecord, KeyUpdate};

/// A record together with the digest it is found by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKey {
    /// The record.
    pub record: KeyRecord,
    /// The digest of the key's secret.
    pub digest: KeyDigest,
}

/// What revoking a key did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Revocation {
    /// The key was active and is now revoked.
    Revoked(StoredKey),
    /// The key had been revoked before; nothing changed.
    AlreadyRevoked(StoredKey),
    /// No key has this id.
    NotFound,
}

/// Storage of key records, looked up by digest in O(1).
///
/// Implementations keep records and digests, never a secret. Every method is one atomic
/// step; the verification cache and the admin logic sit above this trait in
/// [`ApiKeys`](crate::ApiKeys).
///
/// # Example
///
/// ```
/// use auren_auth::{InMemoryKeyStore, KeyDigest, KeyFormat, KeyRecord, KeyStore, NewKey};
/// use auren_core::Role;
///
/// # tokio_test();
/// # fn tokio_test() { tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let store = InMemoryKeyStore::new();
/// let key = KeyFormat::default().generate().unwrap();
/// let record = KeyRecord::new(NewKey::new("u1", Role::User), "p".into(), chrono::Utc::now());
/// store.insert(&record, &KeyDigest::of(&key)).await.unwrap();
/// let found = store.find_by_digest(&KeyDigest::of(&key)).await.unwrap().unwrap();
/// assert_eq!(found.record, record);
/// # }) }
/// ```
#[async_trait]
pub trait KeyStore: std::fmt::Debug + Send + Sync + 'static {
    /// Stores a new record under `digest`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Duplicate`] when the digest or key id is already stored.
    async fn insert(&self, record: &KeyRecord, digest: &KeyDigest) -> Result<(), StoreError>;

    /// The key stored under `digest`, if any.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the store cannot be reached.
    async fn find_by_digest(&self, digest: &KeyDigest) -> Result<Option<StoredKey>, StoreError>;

    /// The key with id `key_id`, if any.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the store cannot be reached.
    async fn get(&self, key_id: KeyId) -> Result<Option<StoredKey>, StoreError>;

    /// Every record, or those of one user, oldest first.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the store cannot be reached.
    async fn list(&self, user_id: Option<&str>) -> Result<Vec<KeyRecord>, StoreError>;

    /// Revokes the key at `at`, unless it was revoked before.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the store cannot be reached.
    async fn revoke(&self, key_id: KeyId, at: DateTime<Utc>) -> Result<Revocation, StoreError>;

    /// Makes the key expire at `at` at the latest (an earlier expiry is kept).
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the store cannot be reached.
    async fn expire_by(
        &self,
        key_id: KeyId,
        at: DateTime<Utc>,
    ) -> Result<Option<StoredKey>, StoreError>;

    /// Applies `update` to the key's settings.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the store cannot be reached.
    async fn update(
        &self,
        key_id: KeyId,
        update: &KeyUpdate,
    ) -> Result<Option<StoredKey>, StoreError>;

    /// Records that the key was used at `at` (never moving the time back).
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the store cannot be reached.
    async fn touch(&self, key_id: KeyId, at: DateTime<Utc>) -> Result<(), StoreError>;

    /// Whether some admin key is neither revoked nor expired at `now`.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the store cannot be reached.
    async fn has_active_admin(&self, now: DateTime<Utc>) -> Result<bool, StoreError>;

    /// Stores `record` under `digest` unless some admin key is active at `now`, as one
    /// atomic step: of several callers racing on one store (servers starting together),
    /// at most one inserts. Returns whether it inserted.
    ///
    /// # Errors
    ///
    /// As for [`KeyStore::insert`].
    async fn insert_if_no_active_admin(
        &self,
        record: &KeyRecord,
        digest: &KeyDigest,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
}

/// A store operation that failed. Messages carry no secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A key with this digest or id is already stored.
    #[error("a key with this digest or id is already stored")]
    Duplicate,
    /// No connection to the database could be had.
    #[error("the key store is unavailable")]
    Unavailable(#[source] deadpool_postgres::PoolError),
    /// A statement failed.
    #[error("a key store statement failed")]
    Query(#[source] tokio_postgres::Error),
    /// A stored row does not hold a valid record.
    #[error("a stored key row is invalid: {0}")]
    InvalidRow(&'static str),
}
