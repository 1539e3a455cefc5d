//! [`AuthLayer`]: every request is attributed to an active API key or refused.
//!
//! The layer reads `Authorization: Bearer <key>`, verifies the key through
//! [`ApiKeys`](crate::ApiKeys) and, on success, puts the
//! [`CallerIdentity`](auren_core::CallerIdentity) into the
//! request's extensions (for the handlers and inner layers, such as rate limiting) and
//! into the response's extensions (for outer layers, such as audit).
//!
//! Every refusal is `401` (or `503 auth_unavailable` when the store is down) with the shared
//! error body and `WWW-Authenticate: Bearer`, and a `warn` event with the request id, the
//! reason and the key's display prefix when the token has the shape of a key; never the
//! token itself.
//!
//! | cause | code |
//! |---|---|
//! | no `Authorization` header, or an empty one | `missing_credentials` |
//! | not one `Bearer <token>` header; malformed or unknown key | `invalid_credentials` |
//! | expired key | `expired_key` |
//! | revoked key | `revoked_key` |
//!
//! # Example
//!
//! The default use: every route needs a key.
//!
//! ```
//! use std::sync::Arc;
//! use auren_auth::{get_authenticated_user_id, ApiKeys, AuthLayer, InMemoryKeyStore};
//! use axum::{extract::Request, routing::get, Router};
//!
//! let keys = Arc::new(ApiKeys::new(Arc::new(InMemoryKeyStore::new())));
//! let app: Router = Router::new()
//!     .route("/me", get(|request: Request| async move {
//!         get_authenticated_user_id(&request).unwrap_or_default().to_owned()
//!     }))
//!     .layer(AuthLayer::new(keys));
//! # drop(app);
//! ```
//!
//! Configured: some paths are public.
//!
//! ```
//! # use std::sync::Arc;
//! # use auren_auth::{ApiKeys, AuthLayer, InMemoryKeyStore};
//! # let keys = Arc::new(ApiKeys::new(Arc::new(InMemoryKeyStore::new())));
//! let layer = AuthLayer::new(keys)
//!     .public_path("/health")
//!     .public_prefix("/docs/");
//! # drop(layer);
//! ```

mod future;
mod layer;
mod service;

pub use future::ResponseFuture;
pub use layer::AuthLayer;
pub use service::Auth;

use http::Request;

/// The user id of the key that authenticated `request`, as [`AuthLayer`] recorded it.
///
/// ```
/// use auren_auth::get_authenticated_user_id;
/// use auren_core::{CallerIdentity, KeyId, Role};
///
/// let mut request = http::Request::new(());
/// assert_eq!(get_authenticated_user_id(&request), None);
/// request.extensions_mut().insert(CallerIdentity::new("u1", KeyId::new(), Role::User, 60));
/// assert_eq!(get_authenticated_user_id(&request), Some("u1"));
/// ```
pub fn get_authenticated_user_id<B>(request: &Request<B>) -> Option<&str> {
    auren_core::CallerIdentity::from_extensions(request.extensions()).map(|id| id.user_id())
}
