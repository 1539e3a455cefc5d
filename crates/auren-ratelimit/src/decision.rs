//! The answer to one rate-limit check.

use std::time::Duration;

/// Whether one request may pass, and what its key has left.
///
/// Every limited response carries these figures as headers (see
/// [`headers`](crate::headers)).
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use auren_ratelimit::Gcra;
///
/// let gcra = Gcra::per_minute(60);
/// let (decision, _) = gcra.check(None, 0);
/// assert!(decision.allowed);
/// assert_eq!(decision.limit, 60);
/// assert_eq!(decision.remaining, 59);
/// assert_eq!(decision.reset, Duration::from_secs(1));
/// assert_eq!(decision.retry_after, None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimitDecision {
    /// Whether the request is admitted.
    pub allowed: bool,
    /// The key's limit: requests per period (per minute unless configured otherwise).
    pub limit: u32,
    /// Requests the key could still make at once, right now.
    pub remaining: u32,
    /// Time until the key's full limit is available again.
    pub reset: Duration,
    /// For a rejected request: the time until one more request would be admitted.
    pub retry_after: Option<Duration>,
}

impl RateLimitDecision {
    /// The decision for a key whose limit is zero: nothing passes, ever.
    ///
    /// ```
    /// use auren_ratelimit::RateLimitDecision;
    ///
    /// let decision = RateLimitDecision::blocked(std::time::Duration::from_secs(60));
    /// assert!(!decision.allowed);
    /// assert_eq!(decision.limit, 0);
    /// ```
    pub fn blocked(period: Duration) -> Self {
        Self {
            allowed: false,
            limit: 0,
            remaining: 0,
            reset: period,
            retry_after: Some(period),
        }
    }
}
