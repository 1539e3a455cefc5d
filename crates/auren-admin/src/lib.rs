//! Admin endpoints: API keys, audit queries, rate-limit status and Prometheus metrics.
//!
//! Each module is an axum `Router` that a host mounts under `/admin`, behind the auth
//! layer with the admin role required.

pub mod api_keys;
pub mod audit_logs;
pub mod metrics;
pub mod rate_limits;
