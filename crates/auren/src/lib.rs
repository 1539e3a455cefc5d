//! `auren`: one entry point to the auren security crates.
//!
//! A service that holds Protected Health Information adds the auren layers to its router
//! and calls a few async helpers. This crate starts every part from one configuration
//! ([`AurenConfig`], built in code or read from the environment and validated as a whole)
//! and hands out the layers in their documented order: request id, error body, audit,
//! auth, rate limit, then the host's service (see [`layers`](crate::EdgeLayer)).
//!
//! ```
//! use auren::{Auren, AurenConfig};
//! use axum::{routing::get, Router};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // `AurenConfig::from_env()?` reads the same settings from the environment.
//! let auren = Auren::start(AurenConfig::default()).await?;
//!
//! let app: Router = Router::new()
//!     .route("/readings", get(|| async { "[]" }))
//!     .layer(auren.layer());
//! // auren::serve(listener, app).with_graceful_shutdown(signal).await?;
//!
//! auren.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! Each part stays usable on its own, re-exported behind a cargo feature of its name (all
//! on by default):
//!
//! | feature | module | crate |
//! |---|---|---|
//! | `auth` | [`auth`] | `auren-auth`: API keys, `AuthLayer` |
//! | `phi` | [`phi_crypto`] | `auren-phi-crypto`: field encryption of PHI |
//! | `audit` | [`audit`] | `auren-audit`: the PHI access log |
//! | `ratelimit` | [`ratelimit`] | `auren-ratelimit`: per-key limits |
//! | `webhook` | [`webhook`] | `auren-webhook`: signed provider webhooks |
//! | `admin` | [`admin`] | `auren-admin`: the admin routers |
//!
//! [`Auren`] and the layers need `auth`, `phi`, `audit` and `ratelimit`.

#[cfg(all(
    feature = "auth",
    feature = "phi",
    feature = "audit",
    feature = "ratelimit"
))]
mod admin_key;
#[cfg(all(feature = "admin", feature = "phi"))]
mod admin_routes;
mod config;
mod config_error;
#[cfg(all(
    feature = "auth",
    feature = "phi",
    feature = "audit",
    feature = "ratelimit"
))]
mod connect;
#[cfg(all(feature = "auth", feature = "audit", feature = "ratelimit"))]
mod layers;
#[cfg(feature = "admin")]
mod metrics_export;
#[cfg(feature = "ratelimit")]
mod rate_limit_settings;
mod serve;
#[cfg(all(
    feature = "auth",
    feature = "phi",
    feature = "audit",
    feature = "ratelimit"
))]
mod service_health;
#[cfg(all(
    feature = "auth",
    feature = "phi",
    feature = "audit",
    feature = "ratelimit"
))]
mod stack;

#[cfg(all(
    feature = "auth",
    feature = "phi",
    feature = "audit",
    feature = "ratelimit"
))]
pub use admin_key::BOOTSTRAP_ADMIN_USER;
pub use config::{AurenConfig, DEFAULT_AUDIT_PATHS};
pub use config_error::{ConfigError, ConfigProblem};
#[cfg(all(feature = "auth", feature = "audit", feature = "ratelimit"))]
pub use layers::{EdgeLayer, KeyLayer, SecurityLayer};
#[cfg(feature = "admin")]
pub use metrics_export::MetricsExport;
#[cfg(feature = "ratelimit")]
pub use rate_limit_settings::{OnRedisFailure, RateLimitSettings};
pub use serve::{serve, Server, DEFAULT_HEADER_READ_TIMEOUT};
#[cfg(all(
    feature = "auth",
    feature = "phi",
    feature = "audit",
    feature = "ratelimit"
))]
pub use service_health::{ServiceHealth, ServiceState};
#[cfg(all(
    feature = "auth",
    feature = "phi",
    feature = "audit",
    feature = "ratelimit"
))]
pub use stack::{Auren, StartError};

/// Shared building blocks: request ids, the error body, caller identity, Postgres.
pub use auren_core as core;
pub use auren_core::{ApiError, CallerIdentity, RequestId, Role};

/// The admin routers (`auren-admin`).
#[cfg(feature = "admin")]
pub use auren_admin as admin;
/// The PHI access log (`auren-audit`).
#[cfg(feature = "audit")]
pub use auren_audit as audit;
/// API keys and the auth layer (`auren-auth`).
#[cfg(feature = "auth")]
pub use auren_auth as auth;
/// Field encryption of PHI (`auren-phi-crypto`).
#[cfg(feature = "phi")]
pub use auren_phi_crypto as phi_crypto;
/// Per-key rate limits (`auren-ratelimit`).
#[cfg(feature = "ratelimit")]
pub use auren_ratelimit as ratelimit;
/// Provider webhook verification (`auren-webhook`).
#[cfg(feature = "webhook")]
pub use auren_webhook as webhook;
