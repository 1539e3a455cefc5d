//! The metrics this crate records, by name, and the helpers that record them.
//!
//! Recorded through the [`metrics`] facade, so nothing is kept until the host installs a
//! recorder. The only label is a rejection's fixed code: never a provider's secret, a
//! signature or a message id. `docs/observability/metrics.md` lists every metric.
//!
//! # Example
//!
//! ```
//! use auren_webhook::metrics::{WEBHOOK_ACCEPTED_TOTAL, WEBHOOK_REJECTIONS_TOTAL};
//!
//! assert_eq!(WEBHOOK_REJECTIONS_TOTAL, "auren_webhook_rejections_total");
//! assert_eq!(WEBHOOK_ACCEPTED_TOTAL, "auren_webhook_accepted_total");
//! ```

use crate::WebhookRejection;

/// Counter of webhook requests refused by [`WebhookLayer`](crate::WebhookLayer), labelled
/// `code`: the [`WebhookRejection::code`] (`missing_signature`, `invalid_signature`,
/// `stale_timestamp`, `replayed`, `payload_too_large`, `replay_check_unavailable`, ...).
pub const WEBHOOK_REJECTIONS_TOTAL: &str = "auren_webhook_rejections_total";

/// Counter of webhook requests that passed every check and reached the route.
pub const WEBHOOK_ACCEPTED_TOTAL: &str = "auren_webhook_accepted_total";

/// Counts one refused webhook.
pub(crate) fn record_rejection(rejection: &WebhookRejection) {
    metrics::counter!(WEBHOOK_REJECTIONS_TOTAL, "code" => rejection.code()).increment(1);
}

/// Counts one accepted webhook.
pub(crate) fn record_accepted() {
    metrics::counter!(WEBHOOK_ACCEPTED_TOTAL).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;
    use std::future::Future;
    use std::sync::Arc;

    use axum::body::Body;
    use http::{Request, Response};
    use metrics::{SharedString, Unit};
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};
    use metrics_util::CompositeKey;
    use tower::{service_fn, Layer, ServiceExt};

    use crate::replay::InMemoryReplayStore;
    use crate::{WebhookLayer, WebhookProvider, WebhookScheme, WebhookSecret};

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

    fn request(secret: &WebhookSecret, at: i64, body: &'static [u8]) -> Request<Body> {
        let mut request = Request::post("/webhooks/oura");
        let headers = WebhookScheme::Auren
            .sign(secret, "", at, body)
            .expect("signs");
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request.body(Body::from(body)).expect("request")
    }

    #[test]
    fn accepted_and_refused_webhooks_are_counted_by_code() {
        let recorded = record(async {
            let secret = WebhookSecret::new("a shared secret");
            let provider = WebhookProvider::new("oura", WebhookScheme::Auren, vec![secret.clone()])
                .expect("provider");
            let layer = WebhookLayer::new(provider, Arc::new(InMemoryReplayStore::new()));
            let service = layer.layer(service_fn(|_: Request<Body>| async {
                Ok::<_, Infallible>(Response::new(Body::empty()))
            }));
            let status = |request| {
                let call = service.clone().oneshot(request);
                async move { call.await.map(|response| response.status().as_u16()) }
            };
            let now = chrono::Utc::now().timestamp();

            assert_eq!(status(request(&secret, now, b"one")).await, Ok(200));
            assert_eq!(status(request(&secret, now, b"two")).await, Ok(200));
            assert_eq!(
                status(request(&secret, now, b"one")).await,
                Ok(401),
                "replayed"
            );
            let forged = request(&WebhookSecret::new("another secret"), now, b"three");
            assert_eq!(status(forged).await, Ok(401));
            let unsigned = Request::post("/webhooks/oura").body(Body::from("{}"));
            assert_eq!(status(unsigned.expect("request")).await, Ok(401));
        });

        let accepted = value(&recorded, WEBHOOK_ACCEPTED_TOTAL, &[]);
        assert_eq!(accepted, &DebugValue::Counter(2));
        let rejections = |code| value(&recorded, WEBHOOK_REJECTIONS_TOTAL, &[("code", code)]);
        assert_eq!(rejections("replayed"), &DebugValue::Counter(1));
        assert_eq!(rejections("missing_signature"), &DebugValue::Counter(1));
        assert_eq!(rejections("invalid_signature"), &DebugValue::Counter(1));
    }
}
