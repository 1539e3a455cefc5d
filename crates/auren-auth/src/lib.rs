//! API keys: issue, hash, verify in O(1), roles, expiry and revocation.
//!
//! - [`KeyFormat`] and [`ApiKey`]: keys look like `auren_` + 32 random base62 characters +
//!   a 6-character CRC32 checksum, so typos are caught offline and scanners spot leaks.
//! - [`KeyDigest`]: the SHA-256 of a key, all that is ever stored of the secret.
//! - [`KeyRecord`], [`NewKey`], [`KeyUpdate`]: what is stored and changed about a key.
//! - [`KeyStore`] with [`InMemoryKeyStore`] and [`PostgresKeyStore`].
//! - [`VerificationCache`] and [`InvalidationListener`]: the hot path without a database
//!   round trip, with revocations seen by every instance through `LISTEN/NOTIFY`.
//! - [`ApiKeys`]: verification plus issue, list, revoke, rotate and update.
//! - [`AuthLayer`] and [`RequireRoleLayer`]: the tower layers a host adds.
//!
//! The design (format, digest, cache, the fill race) is described in `docs/auth.md`.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use auren_auth::{ApiKeys, AuthLayer, InMemoryKeyStore, NewKey};
//! use auren_core::Role;
//! use axum::{routing::get, Router};
//! use tower::ServiceExt;
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let keys = Arc::new(ApiKeys::new(Arc::new(InMemoryKeyStore::new())));
//! let issued = keys.create(NewKey::new("user_42", Role::User)).await.unwrap();
//!
//! let app: Router = Router::new()
//!     .route("/api/me", get(|| async { "hello" }))
//!     .layer(AuthLayer::new(keys));
//!
//! let request = http::Request::get("/api/me")
//!     .header("authorization", format!("Bearer {}", issued.key.expose_secret()))
//!     .body(axum::body::Body::empty())
//!     .unwrap();
//! assert_eq!(app.clone().oneshot(request).await.unwrap().status(), 200);
//!
//! let request = http::Request::get("/api/me").body(axum::body::Body::empty()).unwrap();
//! let response = app.oneshot(request).await.unwrap();
//! assert_eq!(response.status(), 401);
//! assert_eq!(response.headers()["www-authenticate"], "Bearer");
//! # });
//! ```

#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod api_key;
pub mod auth_layer;
mod bearer;
mod cache;
mod cached_key;
mod digest;
mod invalidation;
mod keys;
mod last_used;
pub mod metrics;
mod record;
mod rejection;
mod require_role;
mod store;
mod unix_time;

pub use api_key::{
    ApiKey, KeyFormat, KeyFormatError, PrefixError, RandomError, CHECKSUM_CHARS, DEFAULT_PREFIX,
    DISPLAY_RANDOM_CHARS, MAX_PREFIX_CHARS, RANDOM_CHARS,
};
pub use auth_layer::{get_authenticated_user_id, Auth, AuthLayer, ResponseFuture};
pub use cache::{
    CachedLookup, FillTicket, VerificationCache, DEFAULT_MAX_ENTRIES, DEFAULT_NEGATIVE_TTL,
    DEFAULT_TTL,
};
pub use cached_key::CachedKey;
pub use digest::KeyDigest;
pub use invalidation::InvalidationListener;
pub use keys::{
    ApiKeys, IssuedKey, KeyError, Registration, Rotation, DEFAULT_LAST_USED_INTERVAL,
    DEFAULT_ROTATION_GRACE,
};
pub use record::{
    InvalidKeySettings, KeyRecord, KeyState, KeyUpdate, NewKey, MAX_DESCRIPTION_CHARS,
    MAX_RATE_LIMIT_PER_MINUTE, MAX_USER_ID_CHARS,
};
pub use rejection::AuthRejection;
pub use require_role::{RequireRole, RequireRoleFuture, RequireRoleLayer};
pub use store::{
    InMemoryKeyStore, KeyStore, PostgresKeyStore, Revocation, StoreError, StoredKey, NOTIFY_CHANNEL,
};
