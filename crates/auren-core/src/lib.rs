//! Shared ground for the auren security crates.
//!
//! Every other `auren-*` crate builds on the pieces here:
//!
//! - [`RequestIdLayer`]: gives every request a ULID request id, keeps an incoming
//!   `x-request-id` only when it is a valid ULID, and returns the id on every response.
//! - [`ApiError`] and [`ErrorBodyLayer`]: the one JSON error body that every layer and
//!   handler answers with, `{"error": {"code", "message", "request_id"}}`.
//! - [`ApiJson`], [`ApiQuery`] and [`ApiPath`]: axum extractors whose rejections use that
//!   error body instead of plain text.
//! - [`CallerIdentity`], [`KeyId`] and [`Role`]: who is calling, as the auth layer puts it
//!   into request extensions for the layers and handlers behind it.
//! - [`Clock`]: the current time behind a trait, so time-dependent logic is testable
//!   without sleeping.
//! - [`TtlCache`]: a bounded, expiring, sharded map for lookups on the hot path.
//! - [`RequestMetricsLayer`]: requests by outcome and their latency, as [`metrics`] names
//!   them.
//! - `postgres` (feature `postgres`): connection pools and the embedded SQL migrations.
//!
//! # Example
//!
//! ```
//! use auren_core::{ApiError, ErrorBodyLayer, RequestIdLayer};
//! use axum::{routing::get, Router};
//!
//! let app: Router = Router::new()
//!     .route("/health", get(|| async { "ok" }))
//!     .fallback(|| async { ApiError::not_found() })
//!     .layer(ErrorBodyLayer::new())
//!     .layer(RequestIdLayer::new());
//! # drop(app);
//! ```

#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod clock;
mod error;
mod error_body;
mod extract;
mod identity;
pub mod metrics;
mod request_id;
mod request_metrics;
pub mod ttl_cache;

#[cfg(feature = "postgres")]
pub mod postgres;

pub use clock::{Clock, ManualClock, SharedClock, SystemClock};
pub use error::{ApiError, ErrorBody, ErrorDetail};
pub use error_body::{ErrorBodyFuture, ErrorBodyLayer, ErrorBodyService};
pub use extract::{ApiJson, ApiPath, ApiQuery};
pub use identity::{CallerIdentity, KeyId, KeyIdError, Role, RoleError};
pub use request_id::{
    RequestId, RequestIdLayer, RequestIdService, UlidRequestIds, REQUEST_ID_HEADER,
};
pub use request_metrics::{RequestMetricsFuture, RequestMetricsLayer, RequestMetricsService};
pub use ttl_cache::TtlCache;
