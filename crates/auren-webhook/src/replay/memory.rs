//! An in-process replay store: a bounded map of ids to their expiry time.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use auren_core::{SharedClock, SystemClock};
use chrono::{DateTime, Utc};

use super::{ReplayError, ReplayStore};

/// How many live ids an [`InMemoryReplayStore`] holds by default.
pub const DEFAULT_CAPACITY: usize = 100_000;

/// Remembers ids in this process only: right for one instance and for tests.
///
/// Bounded: when full, expired ids are swept; if it is still full, the store answers
/// [`ReplayError::Full`] and the request is refused rather than forgetting a live id.
/// Expiry follows the given [`Clock`](auren_core::Clock).
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use auren_core::ManualClock;
/// use auren_webhook::replay::{InMemoryReplayStore, ReplayStore};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let clock = ManualClock::starting_now();
/// let store = InMemoryReplayStore::new().with_clock(std::sync::Arc::new(clock.clone()));
/// let ttl = Duration::from_secs(60);
/// assert!(store.first_seen("a", ttl).await.unwrap());
/// clock.advance(chrono::Duration::seconds(61));
/// assert!(store.first_seen("a", ttl).await.unwrap());
/// # });
/// ```
#[derive(Debug)]
pub struct InMemoryReplayStore {
    seen: Mutex<HashMap<String, DateTime<Utc>>>,
    capacity: usize,
    clock: SharedClock,
}

impl InMemoryReplayStore {
    /// An empty store of [`DEFAULT_CAPACITY`] on the system clock.
    pub fn new() -> Self {
        Self {
            seen: Mutex::new(HashMap::new()),
            capacity: DEFAULT_CAPACITY,
            clock: SystemClock::shared(),
        }
    }

    /// Sets how many live ids the store holds (at least 1).
    pub fn with_capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.max(1);
        self
    }

    /// Sets the clock that decides expiry.
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// How many ids are held now, expired or not.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no id is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, DateTime<Utc>>> {
        self.seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Default for InMemoryReplayStore {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait::async_trait]
impl ReplayStore for InMemoryReplayStore {
    async fn first_seen(&self, id: &str, ttl: Duration) -> Result<bool, ReplayError> {
        let now = self.clock.now();
        let ttl = chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX);
        let expires = now
            .checked_add_signed(ttl)
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        let mut seen = self.lock();

        if let Some(until) = seen.get(id) {
            if *until > now {
                return Ok(false);
            }
        }

        if seen.len() >= self.capacity && !seen.contains_key(id) {
            seen.retain(|_, until| *until > now);
            if seen.len() >= self.capacity {
                tracing::warn!(capacity = self.capacity, "webhook replay store is full");
                return Err(ReplayError::Full);
            }
        }
        seen.insert(id.to_owned(), expires);
        Ok(true)
    }

    async fn forget(&self, id: &str) -> Result<(), ReplayError> {
        self.lock().remove(id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use auren_core::ManualClock;

    fn store(capacity: usize) -> (InMemoryReplayStore, ManualClock) {
        let clock = ManualClock::starting_now();
        let shared: SharedClock = std::sync::Arc::new(clock.clone());
        let store = InMemoryReplayStore::new()
            .with_capacity(capacity)
            .with_clock(shared);
        (store, clock)
    }

    #[tokio::test]
    async fn an_id_is_refused_until_it_expires() {
        let (store, clock) = store(10);
        let ttl = Duration::from_secs(600);
        assert!(store.first_seen("x", ttl).await.expect("answer"));
        clock.advance(chrono::Duration::seconds(599));
        assert!(!store.first_seen("x", ttl).await.expect("answer"));
        clock.advance(chrono::Duration::seconds(1));
        assert!(store.first_seen("x", ttl).await.expect("answer"));
    }

    #[tokio::test]
    async fn a_forgotten_id_passes_again() {
        let (store, _clock) = store(10);
        let ttl = Duration::from_secs(600);
        assert!(store.first_seen("x", ttl).await.expect("answer"));
        store.forget("x").await.expect("forget");
        assert!(store.first_seen("x", ttl).await.expect("answer"));
    }

    #[tokio::test]
    async fn a_full_store_sweeps_then_fails_closed() {
        let (store, clock) = store(2);
        let ttl = Duration::from_secs(10);
        assert!(store.first_seen("a", ttl).await.expect("answer"));
        assert!(store.first_seen("b", ttl).await.expect("answer"));
        assert!(matches!(
            store.first_seen("c", ttl).await,
            Err(ReplayError::Full)
        ));
        assert!(!store.first_seen("a", ttl).await.expect("still remembered"));

        clock.advance(chrono::Duration::seconds(10));
        assert!(store.first_seen("c", ttl).await.expect("swept"));
        assert_eq!(store.len(), 1);
    }

    #[tokio::test]
    async fn concurrent_deliveries_let_exactly_one_through() {
        let store = std::sync::Arc::new(InMemoryReplayStore::new());
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { store.first_seen("same", Duration::from_secs(60)).await })
            })
            .collect();
        let mut firsts = 0;
        for task in tasks {
            if task.await.expect("task").expect("answer") {
                firsts += 1;
            }
        }
        assert_eq!(firsts, 1);
    }
}
