//! Readings kept in the process's memory.

use std::collections::HashMap;
use std::sync::RwLock;

use crate::readings::HeartRateReading;
use crate::store::{ReadingStore, StoreError};

/// Readings in memory, lost when the process stops.
#[derive(Debug, Default)]
pub struct InMemoryReadingStore {
    by_user: RwLock<HashMap<String, Vec<HeartRateReading>>>,
}

impl InMemoryReadingStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait::async_trait]
impl ReadingStore for InMemoryReadingStore {
    async fn insert(&self, reading: &HeartRateReading) -> Result<(), StoreError> {
        let mut by_user = self
            .by_user
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let readings = by_user.entry(reading.user_id.clone()).or_default();

        // Kept sorted oldest first, so a list is a reverse walk from the end.
        let position = readings.partition_point(|stored| {
            (stored.recorded_at, stored.id) <= (reading.recorded_at, reading.id)
        });
        readings.insert(position, reading.clone());
        Ok(())
    }

    async fn list(&self, user_id: &str, limit: usize) -> Result<Vec<HeartRateReading>, StoreError> {
        let by_user = self
            .by_user
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let newest_first = by_user
            .get(user_id)
            .map(|readings| readings.iter().rev().take(limit).cloned().collect())
            .unwrap_or_default();
        Ok(newest_first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, Utc};
    use ulid::Ulid;

    fn reading(user_id: &str, minutes_ago: i64, bpm: u16) -> HeartRateReading {
        HeartRateReading {
            id: Ulid::new(),
            user_id: user_id.to_owned(),
            bpm,
            note: None,
            recorded_at: Utc::now() - Duration::minutes(minutes_ago),
            created_at: Utc::now(),
        }
    }

    #[tokio::test]
    async fn lists_newest_first_per_user_with_a_limit() {
        let store = InMemoryReadingStore::new();
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
        assert!(store.list("carol", 10).await.expect("list").is_empty());
    }
}
