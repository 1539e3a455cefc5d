//! How the stack limits each key: the store's failure policy and its time bound.

use std::time::Duration;

use auren_ratelimit::FailurePolicy;

/// Rate limiting settings.
///
/// | variable | meaning | default |
/// |---|---|---|
/// | `AUREN_RATE_LIMIT_ON_FAILURE` | while Redis fails: `open`, `closed` or `local` | `local` |
/// | `AUREN_RATE_LIMIT_TIMEOUT_MS` | the bound on one Redis check, in milliseconds | `50` |
///
/// # Example
///
/// ```
/// use auren::{AurenConfig, OnRedisFailure};
///
/// let config = AurenConfig::from_lookup(|name| {
///     (name == "AUREN_RATE_LIMIT_ON_FAILURE").then(|| "closed".to_owned())
/// })
/// .unwrap();
/// assert_eq!(config.rate_limit.on_failure, OnRedisFailure::Closed);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitSettings {
    /// A prefix before every rate-limit key in Redis (tests isolate with it); empty by
    /// default.
    pub redis_prefix: String,
    /// What happens while Redis fails.
    pub on_failure: OnRedisFailure,
    /// The bound on one Redis check.
    pub timeout: Duration,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self {
            redis_prefix: String::new(),
            on_failure: OnRedisFailure::default(),
            timeout: auren_ratelimit::DEFAULT_TIMEOUT,
        }
    }
}

/// What the limiter does while Redis fails; see [`FailurePolicy`].
///
/// # Example
///
/// ```
/// use auren::OnRedisFailure;
/// use auren::ratelimit::FailurePolicy;
///
/// assert_eq!(OnRedisFailure::Closed.policy(), FailurePolicy::FailClosed);
/// ```
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

    /// Reads `open`, `closed` or `local`.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        match text {
            "open" => Some(Self::Open),
            "closed" => Some(Self::Closed),
            "local" => Some(Self::Local),
            _ => None,
        }
    }
}
