//! The rate-limit response headers.
//!
//! | header | value |
//! |---|---|
//! | `X-RateLimit-Limit` | the key's limit per period |
//! | `X-RateLimit-Remaining` | requests the key could still make at once |
//! | `X-RateLimit-Reset` | seconds until the full limit is available again |
//! | `RateLimit-Policy` | `"default";q=<limit>;w=<period in seconds>` |
//! | `RateLimit` | `"default";r=<remaining>;t=<reset seconds>` |
//! | `Retry-After` | on a `429`: seconds until one more request would pass |
//!
//! `RateLimit-Policy` and `RateLimit` follow the httpapi working group's draft
//! `draft-ietf-httpapi-ratelimit-headers` (revisions 08 to 10): structured-field lists
//! whose items name a policy, with the quota `q`, window `w`, remaining `r` and time to
//! reset `t`. Seconds are rounded up, so a client that waits that long is never early.

use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::RateLimitDecision;

/// `X-RateLimit-Limit`.
pub const X_RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
/// `X-RateLimit-Remaining`.
pub const X_RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
/// `X-RateLimit-Reset`.
pub const X_RATELIMIT_RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");
/// `RateLimit-Policy` (IETF draft).
pub const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
/// `RateLimit` (IETF draft).
pub const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");

/// Sets the rate-limit headers of `decision` (and `Retry-After` when it rejects).
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use auren_ratelimit::{headers, Gcra};
///
/// let (decision, _) = Gcra::per_minute(60).check(None, 0);
/// let mut map = http::HeaderMap::new();
/// headers::apply(&mut map, &decision, Duration::from_secs(60));
/// assert_eq!(map["x-ratelimit-limit"], "60");
/// assert_eq!(map["x-ratelimit-remaining"], "59");
/// assert_eq!(map["x-ratelimit-reset"], "1");
/// assert_eq!(map["ratelimit-policy"], "\"default\";q=60;w=60");
/// assert_eq!(map["ratelimit"], "\"default\";r=59;t=1");
/// assert!(map.get("retry-after").is_none());
/// ```
pub fn apply(headers: &mut HeaderMap, decision: &RateLimitDecision, period: Duration) {
    let reset = seconds_up(decision.reset);

    headers.insert(X_RATELIMIT_LIMIT, HeaderValue::from(decision.limit));
    headers.insert(X_RATELIMIT_REMAINING, HeaderValue::from(decision.remaining));
    headers.insert(X_RATELIMIT_RESET, HeaderValue::from(reset));

    let policy = format!("\"default\";q={};w={}", decision.limit, seconds_up(period));
    let state = format!("\"default\";r={};t={reset}", decision.remaining);
    for (name, value) in [(RATELIMIT_POLICY, policy), (RATELIMIT, state)] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }

    if let Some(wait) = decision.retry_after {
        let seconds = seconds_up(wait).max(1);
        headers.insert(http::header::RETRY_AFTER, HeaderValue::from(seconds));
    }
}

/// Whole seconds, rounded up.
pub fn seconds_up(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}
