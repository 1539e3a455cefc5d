//! The service: reads the body, verifies it, checks for a replay, then calls the route.

use std::task::{Context, Poll};

use auren_core::RequestId;
use bytes::Bytes;
use http::{header, Request, Response};
use http_body::Body;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use tower::Service;

use super::{ResponseFuture, WebhookLayer};
use crate::{VerifiedWebhook, WebhookRejection};

/// The service made by [`WebhookLayer`].
#[derive(Debug, Clone)]
pub struct Webhook<S> {
    pub(crate) inner: S,
    pub(crate) layer: WebhookLayer,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Webhook<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Body + From<Bytes> + Send + 'static,
    ReqBody::Data: Send,
    ReqBody::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    ResBody: From<Bytes> + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<Result<Response<ResBody>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        // The ready service answers this request; a fresh clone waits for the next one.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let layer = self.layer.clone();

        ResponseFuture {
            inner: Box::pin(async move {
                let request_id = RequestId::from_extensions(request.extensions());
                match admit(&layer, request).await {
                    Ok((request, replay_ids)) => {
                        crate::metrics::record_accepted();
                        let response = inner.call(request).await?;
                        if response.status().is_server_error() {
                            forget(&layer, &replay_ids).await;
                        }
                        Ok(response)
                    }
                    Err(rejection) => {
                        crate::metrics::record_rejection(&rejection);
                        tracing::debug!(
                            provider = layer.provider.name(),
                            code = rejection.code(),
                            "webhook refused"
                        );
                        Ok(rejection.to_api_error().to_response(request_id))
                    }
                }
            }),
        }
    }
}

/// Runs every check and rebuilds the request around the verified bytes; also returns the
/// replay keys it recorded.
async fn admit<ReqBody>(
    layer: &WebhookLayer,
    request: Request<ReqBody>,
) -> Result<(Request<ReqBody>, Vec<String>), WebhookRejection>
where
    ReqBody: Body + From<Bytes>,
    ReqBody::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let (mut parts, body) = request.into_parts();
    let body = read_body(&parts.headers, body, layer.body_limit).await?;

    let provider = &layer.provider;
    let verification = provider.verify(&parts.headers, &body, layer.clock.now())?;

    let replay_ids: Vec<String> = verification
        .replay_ids
        .iter()
        .map(|id| format!("{}:{id}", provider.name()))
        .collect();
    for id in &replay_ids {
        match layer.replay.first_seen(id, verification.replay_ttl).await {
            Ok(true) => {}
            Ok(false) => return Err(WebhookRejection::Replayed),
            Err(error) => {
                tracing::warn!(provider = provider.name(), %error, "webhook replay check failed");
                return Err(WebhookRejection::ReplayCheckUnavailable);
            }
        }
    }

    tracing::trace!(provider = provider.name(), "webhook verified");
    parts.extensions.insert(VerifiedWebhook {
        provider: provider.name().to_owned(),
        scheme: provider.scheme(),
        message_id: verification.message_id,
        timestamp: verification.timestamp,
        body: body.clone(),
    });
    Ok((Request::from_parts(parts, ReqBody::from(body)), replay_ids))
}

/// The handler failed (5xx): forget the message, so the sender's retry is not refused
/// as a replay. A retry after a 4xx would fail the same way, so those are kept.
async fn forget(layer: &WebhookLayer, replay_ids: &[String]) {
    for id in replay_ids {
        if let Err(error) = layer.replay.forget(id).await {
            tracing::warn!(
                provider = layer.provider.name(),
                %error,
                "a failed webhook could not be forgotten; its retry will be refused"
            );
        }
    }
}

/// The whole body, refusing more than `limit` bytes without reading past it.
async fn read_body<B>(
    headers: &http::HeaderMap,
    body: B,
    limit: usize,
) -> Result<Bytes, WebhookRejection>
where
    B: Body,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(WebhookRejection::PayloadTooLarge(limit));
    }

    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => {
            Err(WebhookRejection::PayloadTooLarge(limit))
        }
        Err(_) => Err(WebhookRejection::BodyUnreadable),
    }
}
