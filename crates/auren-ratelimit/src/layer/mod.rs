//! The tower layer that limits each authenticated key.
//!
//! [`RateLimitLayer`] sits right inside the auth layer. For a request that carries a
//! [`CallerIdentity`](auren_core::CallerIdentity), it checks the key against the identity's
//! `rate_limit_per_minute()`; a request without one passes untouched (auth in front has
//! already refused what needs a key).
//!
//! | outcome | response |
//! |---|---|
//! | admitted | the inner service's, plus the [`headers`](crate::headers) |
//! | over the limit | `429`, code `rate_limited`, the headers and `Retry-After` |
//! | store failing, `FailClosed` | `503`, code `rate_limit_unavailable`, `Retry-After: 1` |
//! | store failing, `FailOpen` | the inner service's, no headers |
//!
//! (See [`FailurePolicy`](crate::FailurePolicy) for the policies.)
//!
//! Error answers are rendered with [`ApiError::to_response`](auren_core::ApiError), so the
//! audit layer finds the code in the response extensions.
//!
//! # Example
//!
//! ```
//! use auren_core::{CallerIdentity, KeyId, Role};
//! use auren_ratelimit::{MemoryStore, RateLimitLayer, RateLimiter};
//! use tower::{service_fn, Layer, ServiceExt};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let limiter = RateLimiter::in_memory(MemoryStore::new());
//! let service = RateLimitLayer::new(limiter).layer(service_fn(|_: http::Request<()>| async {
//!     Ok::<_, std::convert::Infallible>(http::Response::new(bytes::Bytes::new()))
//! }));
//!
//! let caller = CallerIdentity::new("user_1", KeyId::new(), Role::User, 1);
//! let request = || {
//!     let mut request = http::Request::new(());
//!     request.extensions_mut().insert(caller.clone());
//!     request
//! };
//! let first = service.clone().oneshot(request()).await.unwrap();
//! assert_eq!(first.headers()["x-ratelimit-remaining"], "0");
//! let second = service.oneshot(request()).await.unwrap();
//! assert_eq!(second.status(), 429);
//! # });
//! ```

mod future;
#[allow(clippy::module_inception)]
mod layer;
mod service;

pub use future::ResponseFuture;
pub use layer::RateLimitLayer;
pub use service::RateLimit;
