//! Wrapped data keys kept in the process's memory.

use std::sync::{Mutex, MutexGuard};

use chrono::Utc;

use crate::data_key::{DataKeyId, DataKeyState, StoredDataKey};
use crate::error::{KeyStoreError, PhiError};
use crate::store::{KeyStore, Rewrap};

/// Wrapped data keys in memory, lost when the process stops.
///
/// The keys of an in-memory store only outlive the process if the host saves them; it
/// suits the embedded default, where the sealed values live in memory too.
///
/// # Example
///
/// ```
/// use auren_phi_crypto::{InMemoryKeyStore, MasterKey, PhiCrypto};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), auren_phi_crypto::PhiError> {
/// let store = InMemoryKeyStore::new();
/// let phi = PhiCrypto::builder(MasterKey::generate()?, store.clone()).build().await?;
/// assert_eq!(store.snapshot().len(), 1);
/// # drop(phi);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Default, Clone)]
pub struct InMemoryKeyStore {
    keys: std::sync::Arc<Mutex<Vec<StoredDataKey>>>,
}

impl InMemoryKeyStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy of every stored key, oldest first.
    pub fn snapshot(&self) -> Vec<StoredDataKey> {
        self.lock().clone()
    }

    fn lock(&self) -> MutexGuard<'_, Vec<StoredDataKey>> {
        // No code path panics while holding the lock; recovering keeps the store usable.
        self.keys
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait::async_trait]
impl KeyStore for InMemoryKeyStore {
    async fn active(&self) -> Result<Option<StoredDataKey>, KeyStoreError> {
        let keys = self.lock();
        Ok(keys
            .iter()
            .find(|key| key.state == DataKeyState::Active)
            .cloned())
    }

    async fn get(&self, id: DataKeyId) -> Result<Option<StoredDataKey>, KeyStoreError> {
        Ok(self.lock().iter().find(|key| key.id == id).cloned())
    }

    async fn list(&self) -> Result<Vec<StoredDataKey>, KeyStoreError> {
        Ok(self.snapshot())
    }

    async fn create_first(&self, first: StoredDataKey) -> Result<StoredDataKey, KeyStoreError> {
        let mut keys = self.lock();
        if let Some(active) = keys.iter().find(|key| key.state == DataKeyState::Active) {
            return Ok(active.clone());
        }
        if !keys.is_empty() {
            return Err(KeyStoreError::Conflict);
        }

        let first = StoredDataKey {
            state: DataKeyState::Active,
            ..first
        };
        keys.push(first.clone());
        Ok(first)
    }

    async fn rotate(&self, retiring: DataKeyId, next: StoredDataKey) -> Result<(), KeyStoreError> {
        let mut keys = self.lock();
        let version_taken = keys.iter().any(|key| key.version == next.version);
        let current = keys
            .iter_mut()
            .find(|key| key.id == retiring && key.state == DataKeyState::Active);
        let Some(current) = current.filter(|_| !version_taken) else {
            return Err(KeyStoreError::Conflict);
        };

        current.state = DataKeyState::Retired;
        current.rotated_at = Some(Utc::now());
        keys.push(StoredDataKey {
            state: DataKeyState::Active,
            ..next
        });
        Ok(())
    }

    async fn rewrap_all(&self, rewrap: Rewrap<'_>) -> Result<usize, PhiError> {
        let mut keys = self.lock();
        let rewrapped = keys
            .iter()
            .map(rewrap)
            .collect::<Result<Vec<_>, PhiError>>()?;

        let now = Utc::now();
        for (key, wrapped) in keys.iter_mut().zip(rewrapped) {
            key.wrapped = wrapped;
            key.rotated_at = Some(now);
        }
        Ok(keys.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(version: u32) -> StoredDataKey {
        StoredDataKey {
            id: DataKeyId::new(),
            version,
            wrapped: vec![version as u8; 60],
            state: DataKeyState::Active,
            created_at: Utc::now(),
            rotated_at: None,
        }
    }

    #[tokio::test]
    async fn the_first_key_wins_and_rotation_keeps_one_active() {
        let store = InMemoryKeyStore::new();
        assert!(store.active().await.expect("active").is_none());

        let first = key(1);
        assert_eq!(
            store.create_first(first.clone()).await.expect("first"),
            first
        );
        assert_eq!(store.create_first(key(1)).await.expect("again"), first);

        let second = key(2);
        store
            .rotate(first.id, second.clone())
            .await
            .expect("rotate");
        assert_eq!(store.active().await.expect("active"), Some(second.clone()));
        let old = store.get(first.id).await.expect("get").expect("kept");
        assert_eq!(old.state, DataKeyState::Retired);
        assert!(old.rotated_at.is_some());

        let stale = store.rotate(first.id, key(3)).await;
        assert!(matches!(stale, Err(KeyStoreError::Conflict)));
        let reused = store.rotate(second.id, key(2)).await;
        assert!(matches!(reused, Err(KeyStoreError::Conflict)));
    }

    #[tokio::test]
    async fn rewrapping_is_all_or_nothing() {
        let store = InMemoryKeyStore::new();
        let first = key(1);
        store.create_first(first.clone()).await.expect("first");
        store.rotate(first.id, key(2)).await.expect("rotate");

        let failing = |stored: &StoredDataKey| {
            if stored.version == 2 {
                Err(PhiError::Random)
            } else {
                Ok(vec![0; 60])
            }
        };
        assert!(store.rewrap_all(&failing).await.is_err());
        assert!(store.snapshot().iter().all(|key| key.wrapped[0] != 0));

        let zeroing = |_: &StoredDataKey| Ok(vec![0; 60]);
        assert_eq!(store.rewrap_all(&zeroing).await.expect("rewrap"), 2);
        assert!(store
            .snapshot()
            .iter()
            .all(|key| key.wrapped == vec![0; 60]));
    }
}
