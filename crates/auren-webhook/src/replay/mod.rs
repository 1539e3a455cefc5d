//! Remembering accepted messages, so a second delivery within the window is refused.
//!
//! A [`ReplayStore`] answers one question atomically: "was this id seen before? If not,
//! remember it for `ttl`." [`RedisReplayStore`] shares the answer between every instance
//! of a service (`SET key 1 NX PX ttl`); [`InMemoryReplayStore`] serves a single process.
//! Keys are `{prefix}webhook_replay:{provider}:{id}`.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use auren_webhook::replay::{InMemoryReplayStore, ReplayStore};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let store = InMemoryReplayStore::new();
//! let ttl = Duration::from_secs(600);
//! assert!(store.first_seen("oura:sig:ab", ttl).await.unwrap());
//! assert!(!store.first_seen("oura:sig:ab", ttl).await.unwrap());
//! # });
//! ```

mod memory;
mod redis;

use std::fmt::Debug;
use std::time::Duration;

pub use memory::{InMemoryReplayStore, DEFAULT_CAPACITY};
pub use redis::{RedisReplayStore, DEFAULT_REDIS_TIMEOUT};

/// The part of every replay key after the store's prefix.
pub const KEY_NAMESPACE: &str = "webhook_replay:";

/// A place that remembers message ids for a while.
#[async_trait::async_trait]
pub trait ReplayStore: Debug + Send + Sync + 'static {
    /// Remembers `id` for `ttl` and returns `true` if it was not remembered already.
    ///
    /// Must be atomic: of two concurrent calls with the same id, one gets `true`.
    ///
    /// # Errors
    ///
    /// [`ReplayError`] when the store cannot answer; callers refuse the request.
    async fn first_seen(&self, id: &str, ttl: Duration) -> Result<bool, ReplayError>;

    /// Forgets `id`, so a retry of a message the service failed to handle can pass.
    ///
    /// # Errors
    ///
    /// [`ReplayError`] when the store cannot answer.
    async fn forget(&self, id: &str) -> Result<(), ReplayError>;
}

/// A replay store that could not answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// Redis answered with an error or the connection failed.
    #[error("the replay store failed: {0}")]
    Redis(#[from] fred::error::Error),
    /// Redis did not answer in time.
    #[error("the replay store did not answer within {0:?}")]
    Timeout(Duration),
    /// The in-memory store is full of live records.
    #[error("the in-memory replay store is full")]
    Full,
}
