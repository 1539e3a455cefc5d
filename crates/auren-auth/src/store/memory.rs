//! Keys in a hash map, for tests and single-process hosts without Postgres.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use auren_core::{KeyId, Role};
use chrono::{DateTime, Utc};

use super::{KeyStore, Revocation, StoreError, StoredKey};
use crate::{KeyDigest, KeyRecord, KeyUpdate};

/// A [`KeyStore`] in process memory: records are lost at exit.
///
/// Lookups by digest are one hash-map probe. It is a full implementation, used by the
/// example server when `DATABASE_URL` is unset.
#[derive(Debug, Default)]
pub struct InMemoryKeyStore {
    keys: Mutex<Keys>,
}

#[derive(Debug, Default)]
struct Keys {
    by_digest: HashMap<KeyDigest, KeyRecord>,
    digest_of: HashMap<KeyId, KeyDigest>,
}

impl Keys {
    fn has_active_admin(&self, now: DateTime<Utc>) -> bool {
        self.by_digest
            .values()
            .any(|record| record.role == Role::Admin && record.check(now).is_ok())
    }

    fn stored_mut(&mut self, key_id: KeyId) -> Option<(KeyDigest, &mut KeyRecord)> {
        let digest = *self.digest_of.get(&key_id)?;
        self.by_digest
            .get_mut(&digest)
            .map(|record| (digest, record))
    }
}

impl InMemoryKeyStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn keys(&self) -> MutexGuard<'_, Keys> {
        // A panic while holding the lock leaves the maps consistent: every change is one
        // insert or one field assignment.
        self.keys
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn stored(digest: KeyDigest, record: &KeyRecord) -> StoredKey {
    StoredKey {
        record: record.clone(),
        digest,
    }
}

#[async_trait]
impl KeyStore for InMemoryKeyStore {
    async fn insert(&self, record: &KeyRecord, digest: &KeyDigest) -> Result<(), StoreError> {
        let mut keys = self.keys();
        if keys.by_digest.contains_key(digest) || keys.digest_of.contains_key(&record.key_id) {
            return Err(StoreError::Duplicate);
        }
        keys.by_digest.insert(*digest, record.clone());
        keys.digest_of.insert(record.key_id, *digest);
        Ok(())
    }

    async fn find_by_digest(&self, digest: &KeyDigest) -> Result<Option<StoredKey>, StoreError> {
        let keys = self.keys();
        Ok(keys
            .by_digest
            .get(digest)
            .map(|record| stored(*digest, record)))
    }

    async fn get(&self, key_id: KeyId) -> Result<Option<StoredKey>, StoreError> {
        let mut keys = self.keys();
        Ok(keys
            .stored_mut(key_id)
            .map(|(digest, record)| stored(digest, record)))
    }

    async fn list(&self, user_id: Option<&str>) -> Result<Vec<KeyRecord>, StoreError> {
        let keys = self.keys();
        let mut records: Vec<KeyRecord> = keys
            .by_digest
            .values()
            .filter(|record| user_id.is_none_or(|user| record.user_id == user))
            .cloned()
            .collect();
        records.sort_by_key(|record| (record.created_at, record.key_id));
        Ok(records)
    }

    async fn revoke(&self, key_id: KeyId, at: DateTime<Utc>) -> Result<Revocation, StoreError> {
        let mut keys = self.keys();
        let Some((digest, record)) = keys.stored_mut(key_id) else {
            return Ok(Revocation::NotFound);
        };
        if record.revoked_at.is_some() {
            return Ok(Revocation::AlreadyRevoked(stored(digest, record)));
        }
        record.revoked_at = Some(at);
        Ok(Revocation::Revoked(stored(digest, record)))
    }

    async fn expire_by(
        &self,
        key_id: KeyId,
        at: DateTime<Utc>,
    ) -> Result<Option<StoredKey>, StoreError> {
        let mut keys = self.keys();
        Ok(keys.stored_mut(key_id).map(|(digest, record)| {
            record.expires_at = Some(record.expires_at.map_or(at, |old| old.min(at)));
            stored(digest, record)
        }))
    }

    async fn update(
        &self,
        key_id: KeyId,
        update: &KeyUpdate,
    ) -> Result<Option<StoredKey>, StoreError> {
        let mut keys = self.keys();
        Ok(keys.stored_mut(key_id).map(|(digest, record)| {
            if let Some(limit) = update.rate_limit_per_minute {
                record.rate_limit_per_minute = limit;
            }
            if let Some(description) = &update.description {
                record.description.clone_from(description);
            }
            stored(digest, record)
        }))
    }

    async fn touch(&self, key_id: KeyId, at: DateTime<Utc>) -> Result<(), StoreError> {
        let mut keys = self.keys();
        if let Some((_, record)) = keys.stored_mut(key_id) {
            record.last_used_at = Some(record.last_used_at.map_or(at, |old| old.max(at)));
        }
        Ok(())
    }

    async fn has_active_admin(&self, now: DateTime<Utc>) -> Result<bool, StoreError> {
        Ok(self.keys().has_active_admin(now))
    }

    async fn insert_if_no_active_admin(
        &self,
        record: &KeyRecord,
        digest: &KeyDigest,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        // One lock over the check and the insert, so racing callers insert once.
        let mut keys = self.keys();
        if keys.has_active_admin(now) {
            return Ok(false);
        }
        if keys.by_digest.contains_key(digest) || keys.digest_of.contains_key(&record.key_id) {
            return Err(StoreError::Duplicate);
        }
        keys.by_digest.insert(*digest, record.clone());
        keys.digest_of.insert(record.key_id, *digest);
        Ok(true)
    }
}
