//! Readings kept in the process's memory, their PHI sealed like in Postgres.

use std::collections::HashMap;
use std::sync::RwLock;

use auren::phi_crypto::PhiCrypto;

use crate::readings::HeartRateReading;
use crate::store::sealed::SealedReading;
use crate::store::{ReadingStore, StoreError};

/// Readings in memory, lost when the process stops.
///
/// `bpm` and `note` are kept sealed, so a heap dump shows no PHI in the clear.
#[derive(Debug)]
pub struct InMemoryReadingStore {
    phi: PhiCrypto,
    by_user: RwLock<HashMap<String, Vec<SealedReading>>>,
}

impl InMemoryReadingStore {
    /// An empty store that seals with `phi`.
    pub fn new(phi: PhiCrypto) -> Self {
        Self {
            phi,
            by_user: RwLock::default(),
        }
    }

    #[cfg(test)]
    fn sealed(&self, user_id: &str) -> Vec<SealedReading> {
        let by_user = self
            .by_user
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        by_user.get(user_id).cloned().unwrap_or_default()
    }
}

#[async_trait::async_trait]
impl ReadingStore for InMemoryReadingStore {
    async fn insert(&self, reading: &HeartRateReading) -> Result<(), StoreError> {
        let sealed = SealedReading::seal(&self.phi, reading).await?;

        let mut by_user = self
            .by_user
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let readings = by_user.entry(sealed.user_id.clone()).or_default();

        // Kept sorted oldest first, so a list is a reverse walk from the end.
        let position = readings.partition_point(|stored| {
            (stored.recorded_at, stored.id) <= (sealed.recorded_at, sealed.id)
        });
        readings.insert(position, sealed);
        Ok(())
    }

    async fn list(&self, user_id: &str, limit: usize) -> Result<Vec<HeartRateReading>, StoreError> {
        let newest_first: Vec<SealedReading> = {
            let by_user = self
                .by_user
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            by_user
                .get(user_id)
                .map(|readings| readings.iter().rev().take(limit).cloned().collect())
                .unwrap_or_default()
        };

        let mut readings = Vec::with_capacity(newest_first.len());
        for sealed in &newest_first {
            readings.push(sealed.open(&self.phi).await?);
        }
        Ok(readings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use auren::phi_crypto::{InMemoryKeyStore, MasterKey};
    use chrono::{Duration, Utc};
    use ulid::Ulid;

    async fn store() -> InMemoryReadingStore {
        let phi = PhiCrypto::builder(
            MasterKey::generate().expect("random"),
            InMemoryKeyStore::new(),
        )
        .build()
        .await
        .expect("phi");
        InMemoryReadingStore::new(phi)
    }

    fn reading(user_id: &str, minutes_ago: i64, bpm: u16) -> HeartRateReading {
        HeartRateReading {
            id: Ulid::new(),
            user_id: user_id.to_owned(),
            bpm,
            note: Some(format!("note of {bpm}")),
            recorded_at: Utc::now() - Duration::minutes(minutes_ago),
            created_at: Utc::now(),
        }
    }

    #[tokio::test]
    async fn lists_newest_first_per_user_with_a_limit() {
        let store = store().await;
        for (minutes_ago, bpm) in [(5, 60), (1, 61), (10, 62), (3, 63)] {
            store
                .insert(&reading("alice", minutes_ago, bpm))
                .await
                .expect("insert");
        }
        store.insert(&reading("bob", 0, 99)).await.expect("insert");

        let listed = store.list("alice", 3).await.expect("list");
        let bpms: Vec<u16> = listed.iter().map(|r| r.bpm).collect();
        assert_eq!(bpms, vec![61, 63, 60]);
        assert_eq!(listed[0].note.as_deref(), Some("note of 61"));
        assert!(store.list("carol", 10).await.expect("list").is_empty());
    }

    #[tokio::test]
    async fn phi_is_kept_sealed() {
        let store = store().await;
        store
            .insert(&reading("alice", 0, 173))
            .await
            .expect("insert");

        let sealed = store.sealed("alice");
        assert_eq!(sealed.len(), 1);
        assert!(sealed[0].bpm_sealed.starts_with("v1:dk_"));
        let note = sealed[0].note_sealed.as_deref().expect("a note");
        assert!(note.starts_with("v1:dk_") && !note.contains("note of"));
    }
}
