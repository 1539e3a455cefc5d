use std::task::{Context, Poll};

use auren_core::{CallerIdentity, RequestId};
use bytes::Bytes;
use http::{Request, Response};
use tower::Service;

use super::future::ResponseFuture;
use crate::RateLimiter;

/// The service made by [`RateLimitLayer`](super::RateLimitLayer).
#[derive(Debug, Clone)]
pub struct RateLimit<S> {
    inner: S,
    limiter: RateLimiter,
}

impl<S> RateLimit<S> {
    /// Wraps `inner`, checking requests with `limiter`.
    pub fn new(inner: S, limiter: RateLimiter) -> Self {
        Self { inner, limiter }
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RateLimit<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    ResBody: From<Bytes>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let Some(caller) = CallerIdentity::from_extensions(request.extensions()) else {
            return ResponseFuture::pass(self.inner.call(request));
        };
        let key = caller.key_id();
        let limit = caller.rate_limit_per_minute();
        let request_id = RequestId::from_extensions(request.extensions());
        let period = self.limiter.period();

        if let Some(outcome) = self.limiter.check_in_place(key, limit) {
            return ResponseFuture::decided(outcome, &mut self.inner, request, request_id, period);
        }

        // The ready service goes with the request; a fresh clone waits for the next one.
        let clone = self.inner.clone();
        let ready = std::mem::replace(&mut self.inner, clone);
        let limiter = self.limiter.clone();
        let check = Box::pin(async move { limiter.check(key, limit).await });
        ResponseFuture::checking(check, ready, request, request_id, period)
    }
}
