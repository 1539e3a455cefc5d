//! The metrics this crate records, by name, and the helpers that record them.
//!
//! Recorded through the [`metrics`] facade, so nothing is kept until the host installs a
//! recorder. Labels are fixed words: a rejection code or a cache result, never a key, a
//! key id or a user id. `docs/observability/metrics.md` lists every metric.
//!
//! # Example
//!
//! ```
//! use auren_auth::metrics::{AUTH_CACHE_LOOKUPS_TOTAL, AUTH_FAILURES_TOTAL};
//!
//! assert_eq!(AUTH_FAILURES_TOTAL, "auren_auth_failures_total");
//! assert_eq!(AUTH_CACHE_LOOKUPS_TOTAL, "auren_auth_cache_lookups_total");
//! ```

use crate::AuthRejection;

/// Counter of refused requests, labelled `code`: the rejection's code
/// (`missing_credentials`, `invalid_credentials`, `expired_key`, `revoked_key`,
/// `forbidden` or `auth_unavailable`). Recorded by [`AuthLayer`](crate::AuthLayer) and
/// [`RequireRoleLayer`](crate::RequireRoleLayer).
pub const AUTH_FAILURES_TOTAL: &str = "auren_auth_failures_total";

/// Counter of [`VerificationCache`](crate::VerificationCache) lookups, labelled `result`:
/// `hit` (a known key), `negative_hit` (a digest known to match no key) or `miss` (the
/// store is asked).
pub const AUTH_CACHE_LOOKUPS_TOTAL: &str = "auren_auth_cache_lookups_total";

/// What a verification cache lookup found, as the `result` label says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CacheResult {
    Hit,
    NegativeHit,
    Miss,
}

/// Counts one refused request.
pub(crate) fn record_failure(rejection: &AuthRejection) {
    metrics::counter!(AUTH_FAILURES_TOTAL, "code" => rejection.code()).increment(1);
}

/// Counts one verification cache lookup.
pub(crate) fn record_cache_lookup(result: CacheResult) {
    // Literal label values keep the metric keys static: no allocation per lookup.
    let counter = match result {
        CacheResult::Hit => metrics::counter!(AUTH_CACHE_LOOKUPS_TOTAL, "result" => "hit"),
        CacheResult::NegativeHit => {
            metrics::counter!(AUTH_CACHE_LOOKUPS_TOTAL, "result" => "negative_hit")
        }
        CacheResult::Miss => metrics::counter!(AUTH_CACHE_LOOKUPS_TOTAL, "result" => "miss"),
    };
    counter.increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
    use std::sync::Arc;

    use crate::{ApiKeys, AuthLayer, InMemoryKeyStore, NewKey, VerificationCache};
    use auren_core::Role;
    use axum::{body::Body, routing::get, Router};
    use metrics::{SharedString, Unit};
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};
    use metrics_util::CompositeKey;
    use tower::ServiceExt;

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

    async fn status(app: &Router, key: Option<&str>) -> u16 {
        let mut request = http::Request::get("/me");
        if let Some(key) = key {
            request = request.header("authorization", format!("Bearer {key}"));
        }
        let request = request.body(Body::empty()).expect("request");
        let response = app.clone().oneshot(request).await.expect("infallible");
        response.status().as_u16()
    }

    #[test]
    fn refusals_are_counted_by_code_and_cache_lookups_by_result() {
        let recorded = record(async {
            let cache = Arc::new(VerificationCache::new());
            let keys = ApiKeys::new(Arc::new(InMemoryKeyStore::new())).with_cache(cache);
            let keys = Arc::new(keys);
            let issued = keys
                .create(NewKey::new("user_1", Role::User))
                .await
                .expect("issued");
            let unknown = keys.format().generate().expect("random");
            let app = Router::new()
                .route("/me", get(|| async { "me" }))
                .layer(AuthLayer::new(keys));

            assert_eq!(status(&app, None).await, 401);
            assert_eq!(status(&app, Some("not-a-key")).await, 401);
            assert_eq!(status(&app, Some(unknown.expose_secret())).await, 401);
            assert_eq!(status(&app, Some(unknown.expose_secret())).await, 401);
            assert_eq!(status(&app, Some(issued.key.expose_secret())).await, 200);
            assert_eq!(status(&app, Some(issued.key.expose_secret())).await, 200);
        });

        let failures = |code| value(&recorded, AUTH_FAILURES_TOTAL, &[("code", code)]);
        assert_eq!(failures("missing_credentials"), &DebugValue::Counter(1));
        assert_eq!(failures("invalid_credentials"), &DebugValue::Counter(3));

        let lookups = |result| value(&recorded, AUTH_CACHE_LOOKUPS_TOTAL, &[("result", result)]);
        assert_eq!(lookups("miss"), &DebugValue::Counter(2), "one per digest");
        assert_eq!(lookups("negative_hit"), &DebugValue::Counter(1));
        assert_eq!(lookups("hit"), &DebugValue::Counter(1));
    }
}
