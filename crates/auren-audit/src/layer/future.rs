//! The response future: builds the event once the response is known and hands it over.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Instant;

use auren_core::{ApiError, CallerIdentity, RequestId, SharedClock};
use bytes::Bytes;
use http::{Method, Response, StatusCode};
use pin_project_lite::pin_project;

use crate::writer::Handoff;
use crate::{Action, AuditEvent, AuditWriter, Outcome, RecordError};

/// What the service captured from the request.
#[derive(Debug)]
pub(super) struct Pending {
    pub(super) writer: AuditWriter,
    pub(super) clock: SharedClock,
    pub(super) started: Instant,
    pub(super) request_id: Option<RequestId>,
    pub(super) method: Method,
    pub(super) resource: String,
    pub(super) client_addr: Option<IpAddr>,
    pub(super) user_agent: Option<String>,
}

type WaitForRoom = Pin<Box<dyn Future<Output = Result<(), RecordError>> + Send>>;

pin_project! {
    /// The response future of [`AuditService`](super::AuditService).
    pub struct ResponseFuture<F, B> {
        #[pin]
        inner: F,
        pending: Option<Pending>,
        waiting: Option<(WaitForRoom, Response<B>)>,
    }
}

impl<F, B> ResponseFuture<F, B> {
    pub(super) fn new(inner: F, pending: Option<Pending>) -> Self {
        Self {
            inner,
            pending,
            waiting: None,
        }
    }
}

impl<F, B> std::fmt::Debug for ResponseFuture<F, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("audited", &self.pending.is_some())
            .field("waiting", &self.waiting.is_some())
            .finish_non_exhaustive()
    }
}

impl<F, B, E> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: From<Bytes>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();

        if let Some((wait, _)) = this.waiting.as_mut() {
            let sent = ready!(wait.as_mut().poll(cx));
            if sent.is_err() {
                tracing::warn!("the audit writer has shut down; an event was not recorded");
            }
            return match this.waiting.take() {
                Some((_, response)) => Poll::Ready(Ok(response)),
                None => Poll::Pending,
            };
        }

        let result = ready!(this.inner.poll(cx));
        let Some(pending) = this.pending.take() else {
            return Poll::Ready(result);
        };

        let response = match result {
            Ok(response) => response,
            Err(error) => {
                let event = pending.event(StatusCode::INTERNAL_SERVER_ERROR, None);
                if !matches!(pending.writer.try_hand_off(event), Handoff::Queued) {
                    tracing::warn!("an audit event for a failed request could not be queued");
                }
                return Poll::Ready(Err(error));
            }
        };

        let caller = CallerIdentity::from_extensions(response.extensions());
        let status = response
            .extensions()
            .get::<ApiError>()
            .map_or(response.status(), ApiError::status);
        let event = pending.event(status, caller);

        match pending.writer.try_hand_off(event) {
            Handoff::Queued => Poll::Ready(Ok(response)),
            Handoff::Refused(RecordError::QueueFull) => {
                let error = ApiError::unavailable(
                    "audit_unavailable",
                    "The audit log cannot keep up; try again shortly.",
                );
                Poll::Ready(Ok(error.to_response(pending.request_id)))
            }
            Handoff::Refused(_) => {
                tracing::warn!("the audit writer has shut down; an event was not recorded");
                Poll::Ready(Ok(response))
            }
            Handoff::Full(event) => {
                let writer = pending.writer.clone();
                let wait: WaitForRoom = Box::pin(async move { writer.wait_and_send(*event).await });
                *this.waiting = Some((wait, response));
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        }
    }
}

impl Pending {
    fn event(&self, status: StatusCode, caller: Option<&CallerIdentity>) -> AuditEvent {
        let action = if status == StatusCode::UNAUTHORIZED {
            Action::Authenticate
        } else {
            Action::for_method(&self.method)
        };
        let elapsed_ms = u32::try_from(self.started.elapsed().as_millis()).unwrap_or(u32::MAX);

        let event = AuditEvent::new(action, &self.resource, Outcome::for_status(status.as_u16()))
            .at(self.clock.now())
            .with_request_id(self.request_id)
            .with_caller(caller)
            .with_method(self.method.as_str())
            .with_status(status.as_u16())
            .with_response_time_ms(elapsed_ms)
            .with_client_addr(self.client_addr);
        match &self.user_agent {
            Some(user_agent) => event.with_user_agent(user_agent),
            None => event,
        }
    }
}
