//! The service: captures what the request tells before passing it on.

use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use auren_core::{RequestId, SharedClock};
use axum::extract::ConnectInfo;
use bytes::Bytes;
use http::{header, Request, Response};
use tower::Service;

use super::future::{Pending, ResponseFuture};
use crate::AuditWriter;

/// The service made by [`AuditLayer`](super::AuditLayer).
#[derive(Debug, Clone)]
pub struct AuditService<S> {
    inner: S,
    writer: AuditWriter,
    prefixes: Arc<[String]>,
    clock: SharedClock,
}

impl<S> AuditService<S> {
    pub(super) fn new(
        inner: S,
        writer: AuditWriter,
        prefixes: Arc<[String]>,
        clock: SharedClock,
    ) -> Self {
        Self {
            inner,
            writer,
            prefixes,
            clock,
        }
    }

    fn is_audited(&self, path: &str) -> bool {
        self.prefixes.is_empty()
            || self.prefixes.iter().any(|prefix| {
                path.strip_prefix(prefix.as_str())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
            })
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for AuditService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: From<Bytes>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        if !self.is_audited(request.uri().path()) {
            return ResponseFuture::new(self.inner.call(request), None);
        }

        let client_addr = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(address)| address.ip());
        let user_agent = request
            .headers()
            .get(header::USER_AGENT)
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
        let pending = Pending {
            writer: self.writer.clone(),
            clock: self.clock.clone(),
            started: Instant::now(),
            request_id: RequestId::from_extensions(request.extensions()),
            method: request.method().clone(),
            resource: request.uri().path().to_owned(),
            client_addr,
            user_agent,
        };

        ResponseFuture::new(self.inner.call(request), Some(pending))
    }
}
