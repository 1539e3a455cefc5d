//! Rate limiting in the server: Redis when `REDIS_URL` is set, else memory.

use std::time::Duration;

use auren_ratelimit::{FailurePolicy, MemoryStore, RateLimiter, RedisStore};
use fred::prelude::Client;

use crate::config::ConfigError;

/// How the server limits each key.
///
/// | variable | meaning | default |
/// |---|---|---|
/// | `AUREN_RATE_LIMIT_ON_FAILURE` | while Redis fails: `open`, `closed` or `local` | `local` |
///
/// `local` enforces half of each limit in each instance's memory (see [`OnRedisFailure`]).
///
/// # Example
///
/// ```
/// use biometric_server::{OnRedisFailure, RateLimitConfig};
///
/// let config = RateLimitConfig::from_lookup(&|name: &str| {
///     (name == "AUREN_RATE_LIMIT_ON_FAILURE").then(|| "closed".to_owned())
/// })
/// .unwrap();
/// assert_eq!(config.on_failure, OnRedisFailure::Closed);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// A prefix before every rate-limit key in Redis (tests isolate with it); empty by
    /// default.
    pub redis_prefix: String,
    /// What happens while Redis fails.
    pub on_failure: OnRedisFailure,
    /// The bound on one Redis check (50 ms by default).
    pub timeout: Duration,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            redis_prefix: String::new(),
            on_failure: OnRedisFailure::default(),
            timeout: auren_ratelimit::DEFAULT_TIMEOUT,
        }
    }
}

/// What the server does while Redis fails; see [`FailurePolicy`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OnRedisFailure {
    /// Requests pass unchecked.
    Open,
    /// Requests get `503 rate_limit_unavailable`.
    Closed,
    /// Each instance enforces half of each limit in its own memory.
    #[default]
    Local,
}

impl OnRedisFailure {
    /// The limiter's policy.
    pub fn policy(self) -> FailurePolicy {
        match self {
            OnRedisFailure::Open => FailurePolicy::FailOpen,
            OnRedisFailure::Closed => FailurePolicy::FailClosed,
            OnRedisFailure::Local => FailurePolicy::LocalFallback { share: 0.5 },
        }
    }
}

impl RateLimitConfig {
    /// Reads `AUREN_RATE_LIMIT_ON_FAILURE` through `lookup`.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] for a value other than `open`, `closed` or `local`.
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let on_failure = match lookup("AUREN_RATE_LIMIT_ON_FAILURE").as_deref() {
            None | Some("local") => OnRedisFailure::Local,
            Some("open") => OnRedisFailure::Open,
            Some("closed") => OnRedisFailure::Closed,
            Some(_) => {
                return Err(ConfigError::new(
                    "AUREN_RATE_LIMIT_ON_FAILURE",
                    "expected `open`, `closed` or `local`",
                ))
            }
        };
        Ok(Self {
            on_failure,
            ..Self::default()
        })
    }
}

/// The limiter: over Redis when a client is given, else in this process's memory.
///
/// # Errors
///
/// [`auren_ratelimit::ConfigError`] for an unusable policy.
pub(crate) fn limiter(
    config: &RateLimitConfig,
    redis: Option<&Client>,
) -> Result<RateLimiter, auren_ratelimit::ConfigError> {
    let Some(client) = redis else {
        tracing::debug!("rate limits are kept in memory");
        return Ok(RateLimiter::in_memory(MemoryStore::new()));
    };
    let store = RedisStore::builder(client.clone())
        .prefix(config.redis_prefix.clone())
        .build()?;
    RateLimiter::builder(store)
        .failure_policy(config.on_failure.policy())
        .timeout(config.timeout)
        .build()
}
