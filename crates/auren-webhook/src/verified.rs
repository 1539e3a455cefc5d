//! What the handler behind [`WebhookLayer`](crate::WebhookLayer) receives.

use auren_core::ApiError;
use axum::extract::FromRequestParts;
use bytes::Bytes;
use http::request::Parts;

use crate::WebhookScheme;

/// A webhook that passed every check, with the exact bytes that were signed.
///
/// [`WebhookLayer`](crate::WebhookLayer) puts it into the request extensions; in axum,
/// take it as an extractor and parse [`VerifiedWebhook::body`], not a re-read body.
///
/// # Example
///
/// ```
/// use auren_webhook::VerifiedWebhook;
///
/// async fn receive(webhook: VerifiedWebhook) -> http::StatusCode {
///     let _event: serde_json::Value = match serde_json::from_slice(webhook.body()) {
///         Ok(event) => event,
///         Err(_) => return http::StatusCode::UNPROCESSABLE_ENTITY,
///     };
///     http::StatusCode::ACCEPTED
/// }
/// let route: axum::routing::MethodRouter = axum::routing::post(receive);
/// # drop(route);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedWebhook {
    pub(crate) provider: String,
    pub(crate) scheme: WebhookScheme,
    pub(crate) message_id: Option<String>,
    pub(crate) timestamp: Option<i64>,
    pub(crate) body: Bytes,
}

impl VerifiedWebhook {
    /// The provider's configured name.
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// The scheme the request was verified with.
    pub fn scheme(&self) -> WebhookScheme {
        self.scheme
    }

    /// The sender's message id (`webhook-id`, `X-GitHub-Delivery`), if the scheme has one.
    pub fn message_id(&self) -> Option<&str> {
        self.message_id.as_deref()
    }

    /// The signed timestamp in Unix seconds, if the scheme signs one.
    pub fn timestamp(&self) -> Option<i64> {
        self.timestamp
    }

    /// The body exactly as signed.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The verified webhook in these extensions, if [`WebhookLayer`](crate::WebhookLayer)
    /// put one there.
    pub fn from_extensions(extensions: &http::Extensions) -> Option<&Self> {
        extensions.get::<Self>()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for VerifiedWebhook {
    type Rejection = ApiError;

    /// Fails with `500` when the route is not behind a `WebhookLayer`: a wiring mistake.
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Self>().cloned().ok_or_else(|| {
            tracing::error!("a webhook handler is not behind a WebhookLayer");
            ApiError::internal()
        })
    }
}
