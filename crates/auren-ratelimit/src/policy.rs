//! What a limiter does while its store cannot answer.

/// What happens to a request while the store (Redis) cannot answer in time.
///
/// | policy | the request | headers |
/// |---|---|---|
/// | `FailOpen` | passes, unchecked | none |
/// | `FailClosed` | `503` with code `rate_limit_unavailable` | `Retry-After: 1` |
/// | `LocalFallback { share }` | checked in memory against `share` of the limit | as usual |
///
/// With `LocalFallback`, pick `share` as `1 / instances` (or lower) so that all instances
/// together stay within the limit while Redis is away.
///
/// # Example
///
/// ```
/// use auren_ratelimit::FailurePolicy;
///
/// let policy = FailurePolicy::LocalFallback { share: 0.25 };
/// assert_eq!(policy.fallback_limit(60), Some(15));
/// assert_eq!(policy.fallback_limit(1), Some(1));
/// assert_eq!(FailurePolicy::FailOpen.fallback_limit(60), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum FailurePolicy {
    /// Let requests through unchecked.
    FailOpen,
    /// Refuse requests with `503 rate_limit_unavailable`.
    FailClosed,
    /// Enforce `share` (in `(0, 1]`) of each key's limit in this process's memory.
    LocalFallback {
        /// The share of the limit each instance enforces on its own.
        share: f64,
    },
}

impl Default for FailurePolicy {
    /// Half the limit, enforced locally: the right share for two instances.
    fn default() -> Self {
        FailurePolicy::LocalFallback { share: 0.5 }
    }
}

impl FailurePolicy {
    /// The limit the local fallback enforces for a key limited to `limit`, or `None` when
    /// the policy has no fallback.
    pub fn fallback_limit(&self, limit: u32) -> Option<u32> {
        match *self {
            FailurePolicy::LocalFallback { share } => {
                let scaled = (f64::from(limit) * share).floor();
                // `share` is at most 1, so `scaled` fits in u32; `as` saturates anyway.
                Some((scaled as u32).max(1).min(limit.max(1)))
            }
            FailurePolicy::FailOpen | FailurePolicy::FailClosed => None,
        }
    }

    pub(crate) fn name(&self) -> &'static str {
        match self {
            FailurePolicy::FailOpen => "fail_open",
            FailurePolicy::FailClosed => "fail_closed",
            FailurePolicy::LocalFallback { .. } => "local_fallback",
        }
    }
}
