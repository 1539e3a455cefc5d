//! Errors: configuration mistakes, found when a limiter is built, and store failures.

use std::time::Duration;

/// A rate-limit configuration that cannot work, found when the limiter is built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The local fallback's share is not in `(0, 1]`.
    #[error("the local fallback share must be above 0 and at most 1, not {0}")]
    InvalidShare(f64),
    /// The store timeout is zero.
    #[error("the store timeout must be above zero")]
    ZeroTimeout,
    /// The circuit breaker would never open.
    #[error("the circuit breaker needs a failure threshold of at least 1")]
    ZeroFailureThreshold,
    /// The period of a limit is shorter than a millisecond.
    #[error("the period of a limit must be at least 1 ms, not {0:?}")]
    PeriodTooShort(Duration),
    /// The memory store's key cap is zero.
    #[error("the memory store must hold at least one key")]
    ZeroCapacity,
}

/// A store that could not answer.
///
/// The message names the kind of failure, never a key's secret (stores only ever see key
/// ids, which are public).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Redis answered with an error, or the connection failed.
    #[error("Redis failed: {0}")]
    Redis(#[from] fred::error::Error),
    /// The store did not answer within the configured timeout.
    #[error("the rate-limit store did not answer within {0:?}")]
    Timeout(Duration),
    /// The circuit breaker is open: the store is not asked until the cool-down ends.
    #[error("the rate-limit store is considered down (circuit open)")]
    CircuitOpen,
    /// The store answered something the script never returns.
    #[error("unexpected answer from the rate-limit store: {0}")]
    UnexpectedReply(&'static str),
    /// A pagination cursor that this store did not hand out.
    #[error("the cursor is not valid")]
    InvalidCursor,
}
