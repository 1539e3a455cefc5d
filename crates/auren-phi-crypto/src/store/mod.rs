//! Where the wrapped data keys are kept: in memory, or in the Postgres table
//! `phi_encryption_keys`.
//!
//! A store only ever sees wrapped keys; unwrapping needs the master key, which stays with
//! [`PhiCrypto`](crate::PhiCrypto).

mod memory;
mod postgres;

use std::fmt::Debug;

pub use memory::InMemoryKeyStore;
pub use postgres::PostgresKeyStore;

use crate::data_key::{DataKeyId, StoredDataKey};
use crate::error::{KeyStoreError, PhiError};

/// Computes the new wrapped form of one stored key, for [`KeyStore::rewrap_all`].
pub type Rewrap<'a> = &'a (dyn Fn(&StoredDataKey) -> Result<Vec<u8>, PhiError> + Send + Sync);

/// A place to keep wrapped data keys.
///
/// Implementations keep at most one key [`Active`](crate::DataKeyState::Active) at any
/// time and never delete a key: a retired key still opens the values it sealed.
#[async_trait::async_trait]
pub trait KeyStore: Debug + Send + Sync + 'static {
    /// The active key, if there is one.
    ///
    /// # Errors
    ///
    /// [`KeyStoreError`] when the backend fails.
    async fn active(&self) -> Result<Option<StoredDataKey>, KeyStoreError>;

    /// The key `id`, active or retired.
    ///
    /// # Errors
    ///
    /// [`KeyStoreError`] when the backend fails.
    async fn get(&self, id: DataKeyId) -> Result<Option<StoredDataKey>, KeyStoreError>;

    /// Every key, oldest version first.
    ///
    /// # Errors
    ///
    /// [`KeyStoreError`] when the backend fails.
    async fn list(&self) -> Result<Vec<StoredDataKey>, KeyStoreError>;

    /// Stores `first` as the active key if the store holds no key yet, and returns the
    /// active key afterwards: `first`, or the key another instance created first.
    ///
    /// # Errors
    ///
    /// [`KeyStoreError`] when the backend fails.
    async fn create_first(&self, first: StoredDataKey) -> Result<StoredDataKey, KeyStoreError>;

    /// Atomically retires the active key `retiring` and stores `next` as the active key.
    ///
    /// # Errors
    ///
    /// [`KeyStoreError::Conflict`] when `retiring` is no longer the active key or
    /// `next.version` is taken; other [`KeyStoreError`]s when the backend fails.
    async fn rotate(&self, retiring: DataKeyId, next: StoredDataKey) -> Result<(), KeyStoreError>;

    /// Replaces the wrapped form of every key with what `rewrap` returns for it, all in
    /// one transaction: either every key is re-wrapped or none is. Returns how many.
    ///
    /// # Errors
    ///
    /// The first error `rewrap` returns, or [`PhiError::KeyStore`] when the backend fails;
    /// in both cases nothing was changed.
    async fn rewrap_all(&self, rewrap: Rewrap<'_>) -> Result<usize, PhiError>;
}
