//! A replay store in Redis, shared by every instance: `SET key 1 NX PX ttl`.

use std::fmt;
use std::time::Duration;

use fred::prelude::{Client, ClientLike, KeysInterface};
use fred::types::config::Options;
use fred::types::{Expiration, SetOptions};

use super::{ReplayError, ReplayStore, KEY_NAMESPACE};

/// How long a replay check waits for Redis by default before refusing the request.
pub const DEFAULT_REDIS_TIMEOUT: Duration = Duration::from_millis(500);

/// Remembers ids in Redis, so every instance behind a load balancer sees them.
///
/// Each check is one `SET {prefix}webhook_replay:{id} 1 NX PX {ttl}`: atomic, and the
/// key expires by itself. When Redis fails or is slower than the timeout the check
/// fails and the layer answers `503 replay_check_unavailable` (fail closed).
///
/// # Example
///
/// ```no_run
/// use auren_webhook::replay::RedisReplayStore;
///
/// # async fn example(client: fred::prelude::Client) {
/// let store = RedisReplayStore::new(client).with_prefix("tenant_a:");
/// # drop(store);
/// # }
/// ```
#[derive(Clone)]
pub struct RedisReplayStore {
    client: Client,
    prefix: String,
    timeout: Duration,
}

impl RedisReplayStore {
    /// A store on `client`, with no key prefix and [`DEFAULT_REDIS_TIMEOUT`].
    pub fn new(client: Client) -> Self {
        Self {
            client,
            prefix: String::new(),
            timeout: DEFAULT_REDIS_TIMEOUT,
        }
    }

    /// Puts `prefix` before every key (tests use their own prefix to stay isolated).
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Sets how long a check waits for Redis.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The Redis key of `id`.
    pub fn key(&self, id: &str) -> String {
        format!("{}{KEY_NAMESPACE}{id}", self.prefix)
    }
}

impl fmt::Debug for RedisReplayStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisReplayStore")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl ReplayStore for RedisReplayStore {
    async fn first_seen(&self, id: &str, ttl: Duration) -> Result<bool, ReplayError> {
        let millis = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX).max(1);
        // Fail fast and never retry: a SET queued while the client reconnects would reach
        // Redis after this check had already answered 503, and mark as seen a delivery
        // that was refused, so the provider's retry would be refused as a replay.
        let options = Options {
            max_attempts: Some(1),
            timeout: Some(self.timeout),
            fail_fast: true,
            ..Options::default()
        };
        let client = self.client.with_options(&options);
        let set = client.set::<Option<String>, _, _>(
            self.key(id),
            1,
            Some(Expiration::PX(millis)),
            Some(SetOptions::NX),
            false,
        );

        match tokio::time::timeout(self.timeout, set).await {
            Ok(Ok(answer)) => Ok(answer.is_some()),
            Ok(Err(error)) => Err(ReplayError::Redis(error)),
            Err(_) => Err(ReplayError::Timeout(self.timeout)),
        }
    }

    async fn forget(&self, id: &str) -> Result<(), ReplayError> {
        let delete = self.client.del::<i64, _>(self.key(id));
        match tokio::time::timeout(self.timeout, delete).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(error)) => Err(ReplayError::Redis(error)),
            Err(_) => Err(ReplayError::Timeout(self.timeout)),
        }
    }
}
