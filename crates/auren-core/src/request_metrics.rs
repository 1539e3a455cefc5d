//! Counts every answered request by outcome and records its latency.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Instant;

use http::{Request, Response};
use pin_project_lite::pin_project;
use tower::{Layer, Service};

use crate::metrics::{record_request, Outcome};

/// Records `auren_http_requests_total{outcome}` and `auren_http_request_duration_seconds`
/// for every request, once its response is known.
///
/// The outcome comes from the status: `success` below 400, `denied` for 401, 403 and 429,
/// `client_error` for any other 4xx, `error` for 5xx or when the inner service fails. The
/// latency runs from the call to the moment the response head is ready (a streamed body
/// is not waited for). A request whose future is dropped first, because the client went
/// away, is not recorded. No label carries anything from the request.
///
/// Place it outermost, just inside [`RequestIdLayer`](crate::RequestIdLayer), so that
/// the refusals of every inner layer are counted. It records through the [`metrics`]
/// facade: without an installed recorder it costs a clock read and does nothing else.
///
/// # Example
///
/// ```
/// use auren_core::{ErrorBodyLayer, RequestIdLayer, RequestMetricsLayer};
/// use axum::{routing::get, Router};
/// use tower::ServiceExt;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let app = Router::new()
///     .route("/health", get(|| async { "ok" }))
///     .layer(ErrorBodyLayer::new())
///     .layer(RequestMetricsLayer::new())
///     .layer(RequestIdLayer::new());
///
/// let request = http::Request::get("/health").body(axum::body::Body::empty()).unwrap();
/// let response = app.oneshot(request).await.unwrap();
/// assert_eq!(response.status(), 200);
/// # });
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestMetricsLayer {
    _private: (),
}

impl RequestMetricsLayer {
    /// The layer.
    ///
    /// ```
    /// let layer = auren_core::RequestMetricsLayer::new();
    /// # drop(layer);
    /// ```
    pub fn new() -> Self {
        Self { _private: () }
    }
}

impl<S> Layer<S> for RequestMetricsLayer {
    type Service = RequestMetricsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestMetricsService { inner }
    }
}

/// The service made by [`RequestMetricsLayer`].
///
/// ```
/// use auren_core::{RequestMetricsLayer, RequestMetricsService};
/// use tower::{service_fn, Layer};
///
/// let inner = service_fn(|_: http::Request<()>| async {
///     Ok::<_, std::convert::Infallible>(http::Response::new(()))
/// });
/// let service: RequestMetricsService<_> = RequestMetricsLayer::new().layer(inner);
/// # drop(service);
/// ```
#[derive(Debug, Clone)]
pub struct RequestMetricsService<S> {
    inner: S,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RequestMetricsService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = RequestMetricsFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        RequestMetricsFuture {
            inner: self.inner.call(request),
            started: Instant::now(),
        }
    }
}

pin_project! {
    /// The response future of [`RequestMetricsService`]: records the request when the
    /// inner future completes.
    ///
    /// ```
    /// use auren_core::{RequestMetricsFuture, RequestMetricsLayer};
    /// use tower::{service_fn, Layer, Service};
    ///
    /// let mut service = RequestMetricsLayer::new().layer(service_fn(|_: http::Request<()>| {
    ///     std::future::ready(Ok::<_, std::convert::Infallible>(http::Response::new(())))
    /// }));
    /// let future: RequestMetricsFuture<_> = service.call(http::Request::new(()));
    /// # drop(future);
    /// ```
    #[derive(Debug)]
    pub struct RequestMetricsFuture<F> {
        #[pin]
        inner: F,
        started: Instant,
    }
}

impl<F, ResBody, E> Future for RequestMetricsFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = Result<Response<ResBody>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx));

        let outcome = match &result {
            Ok(response) => Outcome::of(response.status()),
            Err(_) => Outcome::Error,
        };
        record_request(outcome, this.started.elapsed());
        Poll::Ready(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{HTTP_REQUESTS_TOTAL, HTTP_REQUEST_DURATION_SECONDS};
    use http::StatusCode;
    use metrics::{SharedString, Unit};
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};
    use metrics_util::CompositeKey;
    use tower::{service_fn, ServiceExt};

    type Recorded = Vec<(CompositeKey, Option<Unit>, Option<SharedString>, DebugValue)>;

    /// Every metric recorded while `work` ran on a current-thread runtime.
    fn record(work: impl Future<Output = ()>) -> Recorded {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let runtime = tokio::runtime::Builder::new_current_thread()
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

    async fn answer(status: u16) -> Result<(), &'static str> {
        let service = RequestMetricsLayer::new().layer(service_fn(|request: Request<u16>| {
            let mut response = Response::new(());
            let result = match StatusCode::from_u16(*request.body()) {
                Ok(status) => {
                    *response.status_mut() = status;
                    Ok(response)
                }
                Err(_) => Err("the inner service failed"),
            };
            std::future::ready(result)
        }));
        service.oneshot(Request::new(status)).await.map(drop)
    }

    #[test]
    fn every_answer_is_counted_by_outcome_and_timed() {
        let recorded = record(async {
            for status in [200, 201, 401, 403, 429, 404, 500] {
                answer(status).await.expect("an answer");
            }
            assert!(answer(1_000).await.is_err());
        });

        let outcome = |value| value_of(&recorded, value);
        assert_eq!(outcome("success"), &DebugValue::Counter(2));
        assert_eq!(outcome("denied"), &DebugValue::Counter(3));
        assert_eq!(outcome("client_error"), &DebugValue::Counter(1));
        assert_eq!(
            outcome("error"),
            &DebugValue::Counter(2),
            "a 500 and a failure"
        );
        match value(&recorded, HTTP_REQUEST_DURATION_SECONDS, &[]) {
            DebugValue::Histogram(samples) => assert_eq!(samples.len(), 8),
            other => panic!("not a histogram: {other:?}"),
        }
    }

    fn value_of<'a>(recorded: &'a Recorded, outcome: &str) -> &'a DebugValue {
        value(recorded, HTTP_REQUESTS_TOTAL, &[("outcome", outcome)])
    }
}
