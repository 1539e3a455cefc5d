use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use auren_core::{ApiError, RequestId};
use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use pin_project_lite::pin_project;
use tower::Service;

use crate::{headers, CheckOutcome, RateLimitDecision};

type CheckFuture = Pin<Box<dyn Future<Output = CheckOutcome> + Send>>;

pin_project! {
    /// The response future of [`RateLimit`](super::RateLimit).
    pub struct ResponseFuture<S, ReqBody>
    where
        S: Service<Request<ReqBody>>,
    {
        #[pin]
        state: State<S, ReqBody>,
        period: Duration,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, ReqBody>
    where
        S: Service<Request<ReqBody>>,
    {
        Checking {
            check: CheckFuture,
            service: Option<S>,
            request: Option<Request<ReqBody>>,
            request_id: Option<RequestId>,
        },
        Calling {
            #[pin]
            future: S::Future,
            decision: Option<RateLimitDecision>,
        },
        Refused {
            outcome: CheckOutcome,
            request_id: Option<RequestId>,
        },
    }
}

impl<S, ReqBody> std::fmt::Debug for ResponseFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>>,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<S, ReqBody, ResBody> ResponseFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: From<Bytes>,
{
    pub(super) fn pass(future: S::Future) -> Self {
        Self {
            state: State::Calling {
                future,
                decision: None,
            },
            period: Duration::ZERO,
        }
    }

    pub(super) fn decided(
        outcome: CheckOutcome,
        service: &mut S,
        request: Request<ReqBody>,
        request_id: Option<RequestId>,
        period: Duration,
    ) -> Self {
        let state = match admitted(outcome) {
            Some(decision) => State::Calling {
                future: service.call(request),
                decision,
            },
            None => State::Refused {
                outcome,
                request_id,
            },
        };
        Self { state, period }
    }

    pub(super) fn checking(
        check: CheckFuture,
        service: S,
        request: Request<ReqBody>,
        request_id: Option<RequestId>,
        period: Duration,
    ) -> Self {
        Self {
            state: State::Checking {
                check,
                service: Some(service),
                request: Some(request),
                request_id,
            },
            period,
        }
    }
}

/// `Some(headers to add)` when the request may go on, `None` when it is refused.
fn admitted(outcome: CheckOutcome) -> Option<Option<RateLimitDecision>> {
    match outcome {
        CheckOutcome::Decided(decision) if decision.allowed => Some(Some(decision)),
        CheckOutcome::Unchecked => Some(None),
        CheckOutcome::Decided(_) | CheckOutcome::Unavailable => None,
    }
}

impl<S, ReqBody, ResBody> Future for ResponseFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: From<Bytes>,
{
    type Output = Result<Response<ResBody>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Checking {
                    check,
                    service,
                    request,
                    request_id,
                } => {
                    let outcome = ready!(check.as_mut().poll(cx));
                    let next = match (admitted(outcome), service.take(), request.take()) {
                        (Some(decision), Some(mut service), Some(request)) => State::Calling {
                            future: service.call(request),
                            decision,
                        },
                        _ => State::Refused {
                            outcome,
                            request_id: *request_id,
                        },
                    };
                    this.state.set(next);
                }
                StateProj::Calling { future, decision } => {
                    let mut response = ready!(future.poll(cx))?;
                    if let Some(decision) = decision {
                        headers::apply(response.headers_mut(), decision, *this.period);
                    }
                    return Poll::Ready(Ok(response));
                }
                StateProj::Refused {
                    outcome,
                    request_id,
                } => return Poll::Ready(Ok(refusal(outcome, *request_id, *this.period))),
            }
        }
    }
}

fn refusal<B: From<Bytes>>(
    outcome: &CheckOutcome,
    request_id: Option<RequestId>,
    period: Duration,
) -> Response<B> {
    match outcome {
        CheckOutcome::Decided(decision) => {
            let wait = decision.retry_after.map_or(1, headers::seconds_up).max(1);
            let error = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("Too many requests for this key; retry in {wait} s."),
            );
            let mut response = error.to_response::<B>(request_id);
            headers::apply(response.headers_mut(), decision, period);
            response
        }
        CheckOutcome::Unchecked | CheckOutcome::Unavailable => {
            let error = ApiError::unavailable(
                "rate_limit_unavailable",
                "Rate limiting is unavailable for a moment; retry shortly.",
            );
            let mut response = error.to_response::<B>(request_id);
            response
                .headers_mut()
                .insert(http::header::RETRY_AFTER, HeaderValue::from_static("1"));
            response
        }
    }
}
