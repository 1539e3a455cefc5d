//! Where the GCRA state of each key lives: [`MemoryStore`] for one process, [`RedisStore`]
//! for instances that share one limit.

mod memory;
mod redis;

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use auren_core::KeyId;

pub use memory::{MemoryStore, MemoryStoreBuilder, DEFAULT_MAX_KEYS};
pub use redis::{RedisStore, RedisStoreBuilder};

use crate::{RateLimitDecision, StoreError};

/// A place that keeps the GCRA state of each key and checks requests against it.
///
/// A check is atomic: however many tasks or instances check the same key at once, each
/// admitted request is counted exactly once.
#[async_trait]
pub trait RateLimitStore: fmt::Debug + Send + Sync + 'static {
    /// The period a limit counts over (one minute unless configured otherwise).
    fn period(&self) -> Duration {
        crate::DEFAULT_PERIOD
    }

    /// Checks one request of `key` against `limit` requests per the store's period and,
    /// when admitted, counts it.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the store cannot be reached or answers nonsense.
    async fn check(&self, key: KeyId, limit: u32) -> Result<RateLimitDecision, StoreError>;

    /// The state of one key, `None` when it has no state (a fresh or idle key).
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the store cannot be reached.
    async fn status(&self, key: KeyId) -> Result<Option<KeyStatus>, StoreError>;

    /// Forgets a key's state, so its full limit is available at once. Returns whether the
    /// key had state.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the store cannot be reached.
    async fn reset(&self, key: KeyId) -> Result<bool, StoreError>;

    /// One page of the keys that have state, starting after `cursor` (from the previous
    /// page's [`StatusPage::next_cursor`]); about `limit` entries.
    ///
    /// # Errors
    ///
    /// [`StoreError::InvalidCursor`] for a cursor this store did not hand out, or a
    /// failure to reach the store.
    async fn list(&self, cursor: Option<&str>, limit: usize) -> Result<StatusPage, StoreError>;
}

/// The state of one key with recent requests.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyStatus {
    /// The key.
    pub key_id: KeyId,
    /// The limit of the key's last admitted request.
    pub limit: u32,
    /// Requests the key could make at once, now.
    pub remaining: u32,
    /// Time until the key's full limit is available again.
    pub reset: Duration,
}

impl KeyStatus {
    /// The status of `key_id` as a [`Gcra::status`](crate::Gcra::status) decision tells it.
    pub fn new(key_id: KeyId, decision: &RateLimitDecision) -> Self {
        Self {
            key_id,
            limit: decision.limit,
            remaining: decision.remaining,
            reset: decision.reset,
        }
    }
}

/// One page of [`KeyStatus`]es.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct StatusPage {
    /// The keys on this page.
    pub keys: Vec<KeyStatus>,
    /// The cursor of the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

impl StatusPage {
    /// A page of `keys`, followed by the page at `next_cursor`.
    pub fn new(keys: Vec<KeyStatus>, next_cursor: Option<String>) -> Self {
        Self { keys, next_cursor }
    }
}
