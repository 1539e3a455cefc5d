//! The layer: one provider, a replay store, a clock and a body limit.

use std::sync::Arc;

use auren_core::{SharedClock, SystemClock};
use tower::Layer;

use super::Webhook;
use crate::replay::ReplayStore;
use crate::WebhookProvider;

/// The largest body read when no limit is configured (1 MiB).
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// Wraps a webhook route: only requests signed by `provider`, fresh and never seen
/// before reach it.
///
/// Everything that can be wrong in the configuration is found when the
/// [`WebhookProvider`] is built, so this layer cannot fail to build.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use auren_webhook::replay::InMemoryReplayStore;
/// use auren_webhook::{VerifiedWebhook, WebhookLayer, WebhookProvider, WebhookScheme};
/// use axum::{routing::post, Router};
///
/// let provider = WebhookProvider::new(
///     "oura",
///     WebhookScheme::Auren,
///     auren_webhook::WebhookSecret::list("old-secret new-secret"),
/// )
/// .unwrap();
/// let layer = WebhookLayer::new(provider, Arc::new(InMemoryReplayStore::new()))
///     .body_limit(64 * 1024);
///
/// let app: Router = Router::new().route(
///     "/webhooks/oura",
///     post(|webhook: VerifiedWebhook| async move { webhook.body().len().to_string() })
///         .layer(layer),
/// );
/// # drop(app);
/// ```
#[derive(Debug, Clone)]
pub struct WebhookLayer {
    pub(crate) provider: Arc<WebhookProvider>,
    pub(crate) replay: Arc<dyn ReplayStore>,
    pub(crate) clock: SharedClock,
    pub(crate) body_limit: usize,
}

impl WebhookLayer {
    /// A layer for `provider`, remembering messages in `replay`, on the system clock,
    /// with the [`DEFAULT_BODY_LIMIT`].
    pub fn new(provider: WebhookProvider, replay: Arc<dyn ReplayStore>) -> Self {
        Self {
            provider: Arc::new(provider),
            replay,
            clock: SystemClock::shared(),
            body_limit: DEFAULT_BODY_LIMIT,
        }
    }

    /// Sets the largest body read, in bytes; larger bodies get `413 payload_too_large`.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// Sets the clock that timestamps are checked against.
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// The provider this layer checks for.
    pub fn provider(&self) -> &WebhookProvider {
        &self.provider
    }
}

impl<S> Layer<S> for WebhookLayer {
    type Service = Webhook<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Webhook {
            inner,
            layer: self.clone(),
        }
    }
}
