//! The metrics this crate records, by name, and the helpers that record them.
//!
//! Recorded through the [`metrics`] facade, so nothing is kept until the host installs a
//! recorder. Labels are fixed words, never a key id. `docs/observability/metrics.md`
//! lists every metric.
//!
//! # Example
//!
//! ```
//! use auren_ratelimit::metrics::{RATELIMIT_DECISIONS_TOTAL, RATELIMIT_STORE_AVAILABLE};
//!
//! assert_eq!(RATELIMIT_DECISIONS_TOTAL, "auren_ratelimit_decisions_total");
//! assert_eq!(RATELIMIT_STORE_AVAILABLE, "auren_ratelimit_store_available");
//! ```

use crate::RateLimitDecision;

/// Counter of limit decisions, labelled `decision`: `allowed` or `rejected` (answered
/// `429`). Decisions of the local fallback count too; requests passed unchecked or refused
/// with `503` while the store fails are not decisions (see
/// [`RATELIMIT_STORE_ERRORS_TOTAL`]).
pub const RATELIMIT_DECISIONS_TOTAL: &str = "auren_ratelimit_decisions_total";

/// Counter of checks the shared store (Redis) did not answer: an error, a timeout, or a
/// check not even tried because the circuit breaker is open.
pub const RATELIMIT_STORE_ERRORS_TOTAL: &str = "auren_ratelimit_store_errors_total";

/// Gauge: `1` while the shared store answers, `0` from the moment the circuit breaker
/// opens until a probe succeeds (the failure policy applies meanwhile). Set by limiters
/// over a shared store only.
pub const RATELIMIT_STORE_AVAILABLE: &str = "auren_ratelimit_store_available";

/// Counts one decision.
pub(crate) fn record_decision(decision: &RateLimitDecision) {
    // Literal label values keep the metric keys static: no allocation per request.
    let counter = if decision.allowed {
        metrics::counter!(RATELIMIT_DECISIONS_TOTAL, "decision" => "allowed")
    } else {
        metrics::counter!(RATELIMIT_DECISIONS_TOTAL, "decision" => "rejected")
    };
    counter.increment(1);
}

/// Counts one check the store did not answer.
pub(crate) fn record_store_error() {
    metrics::counter!(RATELIMIT_STORE_ERRORS_TOTAL).increment(1);
}

/// Sets whether the store is considered available.
pub(crate) fn record_store_available(available: bool) {
    let value = if available { 1.0 } else { 0.0 };
    metrics::gauge!(RATELIMIT_STORE_AVAILABLE).set(value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
    use std::time::Duration;

    use async_trait::async_trait;
    use auren_core::KeyId;
    use metrics::{SharedString, Unit};
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};
    use metrics_util::CompositeKey;

    use crate::{
        CheckOutcome, FailurePolicy, KeyStatus, MemoryStore, RateLimitStore, RateLimiter,
        StatusPage, StoreError,
    };

    type Recorded = Vec<(CompositeKey, Option<Unit>, Option<SharedString>, DebugValue)>;

    /// Every metric recorded while `work` ran on a current-thread runtime.
    fn record(work: impl Future<Output = ()>) -> Recorded {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        metrics::with_local_recorder(&recorder, || runtime.block_on(work));
        snapshotter.snapshot().into_vec()
    }

    /// The value of the metric `name` whose labels are exactly `labels`.
    fn value<'a>(recorded: &'a Recorded, name: &str, labels: &[(&str, &str)]) -> &'a DebugValue {
        recorded
            .iter()
            .find(|(key, ..)| {
                let key = key.key();
                let found = key.labels().map(|label| (label.key(), label.value()));
                key.name() == name && found.eq(labels.iter().copied())
            })
            .map(|(.., value)| value)
            .unwrap_or_else(|| panic!("{name} {labels:?} was not recorded"))
    }

    /// A shared store that is down.
    #[derive(Debug)]
    struct DownStore;

    #[async_trait]
    impl RateLimitStore for DownStore {
        async fn check(&self, _: KeyId, _: u32) -> Result<RateLimitDecision, StoreError> {
            Err(StoreError::UnexpectedReply("down"))
        }

        async fn status(&self, _: KeyId) -> Result<Option<KeyStatus>, StoreError> {
            Err(StoreError::UnexpectedReply("down"))
        }

        async fn reset(&self, _: KeyId) -> Result<bool, StoreError> {
            Err(StoreError::UnexpectedReply("down"))
        }

        async fn list(&self, _: Option<&str>, _: usize) -> Result<StatusPage, StoreError> {
            Err(StoreError::UnexpectedReply("down"))
        }
    }

    #[test]
    fn decisions_are_counted_allowed_or_rejected() {
        let recorded = record(async {
            let limiter = RateLimiter::in_memory(MemoryStore::new());
            let key = KeyId::new();
            for _ in 0..3 {
                limiter.check(key, 2).await;
            }
            assert!(limiter.check_in_place(key, 2).is_some());
        });

        let decisions = |d| value(&recorded, RATELIMIT_DECISIONS_TOTAL, &[("decision", d)]);
        assert_eq!(decisions("allowed"), &DebugValue::Counter(2));
        assert_eq!(decisions("rejected"), &DebugValue::Counter(2));
    }

    #[test]
    fn a_failing_store_counts_errors_and_reads_unavailable_once_the_breaker_opens() {
        let recorded = record(async {
            let limiter = RateLimiter::builder(DownStore)
                .failure_policy(FailurePolicy::FailClosed)
                .circuit_breaker(2, Duration::from_secs(3_600))
                .build()
                .expect("limiter");
            for _ in 0..3 {
                assert_eq!(
                    limiter.check(KeyId::new(), 10).await,
                    CheckOutcome::Unavailable
                );
            }
        });

        let errors = value(&recorded, RATELIMIT_STORE_ERRORS_TOTAL, &[]);
        assert_eq!(
            errors,
            &DebugValue::Counter(3),
            "two failures, one open breaker"
        );
        let available = value(&recorded, RATELIMIT_STORE_AVAILABLE, &[]);
        assert_eq!(available, &DebugValue::Gauge(0.0.into()));
    }
}
