//! Signature, freshness and replay checks for device providers' webhooks.
//!
//! A route wrapped in [`WebhookLayer`] only reaches its handler when the body is signed
//! with one of the provider's secrets, its timestamp is recent, and the message was not
//! delivered before. The handler gets the exact signed bytes in a [`VerifiedWebhook`].
//!
//! - [`WebhookScheme`]: `auren` (the house scheme), Standard Webhooks, Stripe and GitHub,
//!   each verified per its public specification, each with a signing helper
//!   ([`WebhookScheme::sign`] and the functions in [`scheme`]).
//! - [`WebhookProvider`]: a name, a scheme and several active secrets (for rotation),
//!   checked when built.
//! - [`WebhookSecret`]: a secret that is wiped on drop and never printed.
//! - [`replay`]: the [`ReplayStore`](replay::ReplayStore), in Redis
//!   (`SET NX PX`, shared across instances) or in memory.
//! - [`WebhookRejection`]: why a request was refused, with its status and `code`;
//!   [`WebhookConfigError`]: why a configuration was refused.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use auren_webhook::replay::InMemoryReplayStore;
//! use auren_webhook::{
//!     VerifiedWebhook, WebhookLayer, WebhookProvider, WebhookScheme, WebhookSecret,
//! };
//! use axum::{body::Body, routing::post, Router};
//! use tower::ServiceExt;
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let secret = WebhookSecret::new("a shared secret");
//! let provider =
//!     WebhookProvider::new("oura", WebhookScheme::Auren, vec![secret.clone()]).unwrap();
//! let layer = WebhookLayer::new(provider, Arc::new(InMemoryReplayStore::new()));
//! let app = Router::new().route(
//!     "/webhooks/oura",
//!     post(|webhook: VerifiedWebhook| async move { webhook.body().clone() }).layer(layer),
//! );
//!
//! // The sender's side: sign the body with the same secret.
//! let body = br#"{"user_id":"u1","readings":[]}"#;
//! let now = chrono::Utc::now().timestamp();
//! let mut request = http::Request::post("/webhooks/oura");
//! for (name, value) in WebhookScheme::Auren.sign(&secret, "", now, body).unwrap() {
//!     request = request.header(name, value);
//! }
//! let request = request.body(Body::from(&body[..])).unwrap();
//! let response = app.clone().oneshot(request).await.unwrap();
//! assert_eq!(response.status(), 200);
//!
//! // Unsigned requests never reach the handler.
//! let unsigned = http::Request::post("/webhooks/oura").body(Body::from("{}")).unwrap();
//! assert_eq!(app.oneshot(unsigned).await.unwrap().status(), 401);
//! # });
//! ```

#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod error;
mod layer;
pub mod metrics;
mod provider;
pub mod replay;
pub mod scheme;
mod secret;
mod verified;

pub use error::{WebhookConfigError, WebhookRejection};
pub use layer::{ResponseFuture, Webhook, WebhookLayer, DEFAULT_BODY_LIMIT};
pub use provider::{
    Verification, WebhookProvider, DEFAULT_TOLERANCE, DEFAULT_UNTIMED_REPLAY_WINDOW,
};
pub use scheme::WebhookScheme;
pub use secret::WebhookSecret;
pub use verified::VerifiedWebhook;
