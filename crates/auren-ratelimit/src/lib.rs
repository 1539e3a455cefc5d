//! Per-key rate limits, exact under concurrency, in Redis or in memory.
//!
//! Each API key carries a limit in requests per minute, which the auth layer puts into the
//! request's [`CallerIdentity`](auren_core::CallerIdentity). [`RateLimitLayer`] sits
//! inside the auth layer and enforces that limit with the generic cell rate algorithm
//! ([`Gcra`]): a fresh key may send its whole limit at once, then one request every
//! `60 s / limit`. The state lives in a [`RateLimitStore`]:
//!
//! - [`MemoryStore`]: one process; sharded, exact under any number of tasks, with a hard
//!   cap on keys and eviction of idle ones.
//! - [`RedisStore`]: shared by every instance; one Lua script checks and counts
//!   atomically with Redis's own clock, so a burst admits exactly the limit however many
//!   instances receive it.
//!
//! A [`RateLimiter`] wraps a shared store in a bounded timeout and a circuit breaker and
//! applies a [`FailurePolicy`] (fail open, fail closed, or a local fallback at a share of
//! the limit) while the store is failing. `docs/ratelimit.md` states the guarantees.
//!
//! # Example
//!
//! ```
//! use auren_core::{CallerIdentity, KeyId, Role};
//! use auren_ratelimit::{MemoryStore, RateLimitLayer, RateLimiter};
//! use axum::{routing::get, Router};
//! use tower::ServiceExt;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let limiter = RateLimiter::in_memory(MemoryStore::new());
//! let app: Router = Router::new()
//!     .route("/", get(|| async { "ok" }))
//!     .layer(RateLimitLayer::new(limiter));
//!
//! // The auth layer would insert the identity; here we do it by hand.
//! let mut request = http::Request::new(axum::body::Body::empty());
//! request
//!     .extensions_mut()
//!     .insert(CallerIdentity::new("user_1", KeyId::new(), Role::User, 60));
//! let response = app.oneshot(request).await.unwrap();
//! assert_eq!(response.headers()["x-ratelimit-limit"], "60");
//! assert_eq!(response.headers()["x-ratelimit-remaining"], "59");
//! # });
//! ```

#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod breaker;
mod decision;
mod error;
mod gcra;
pub mod headers;
pub mod layer;
mod limiter;
pub mod metrics;
mod policy;
mod store;

pub use decision::RateLimitDecision;
pub use error::{ConfigError, StoreError};
pub use gcra::{Gcra, DEFAULT_PERIOD};
pub use layer::{RateLimit, RateLimitLayer};
pub use limiter::{
    CheckOutcome, RateLimiter, RateLimiterBuilder, DEFAULT_COOL_DOWN, DEFAULT_FAILURE_THRESHOLD,
    DEFAULT_TIMEOUT,
};
pub use policy::FailurePolicy;
pub use store::{
    KeyStatus, MemoryStore, MemoryStoreBuilder, RateLimitStore, RedisStore, RedisStoreBuilder,
    StatusPage, DEFAULT_MAX_KEYS,
};
