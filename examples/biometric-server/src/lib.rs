//! An example biometric API, secured by the auren layers.
//!
//! This is the "existing system" of our users: a small service that stores heart-rate
//! readings. It shows how a host secures its own router with the `auren` facade alone:
//! [`App::build`] starts the stack from one configuration and wraps the routes in its
//! layers.
//!
//! | route | what it does |
//! |---|---|
//! | `GET /health` | `200 {"status":"ok"}`, or `503` naming a dependency that is down |
//! | `POST /api/biometrics/heart-rate` | stores a reading for the caller, `201` |
//! | `GET /api/biometrics` | the caller's readings, newest first, `?limit=` |
//! | `GET /api/biometrics/heart-rate` | the same, heart rate only |
//! | `POST /webhooks/{provider}` | a signed provider delivery of readings, `202` |
//! | `/admin/api-keys` | issue, list, revoke, rotate and update API keys (admin key) |
//! | `/admin/audit-logs` | query the PHI access log (admin key) |
//! | `/admin/rate-limits` | each key's limit, remaining and reset; reset a key (admin key) |
//! | `GET /admin/metrics` | every metric in the Prometheus text format (admin key) |
//!
//! `/api/*` needs `Authorization: Bearer <key>`; `/admin/*` needs a key with the `admin`
//! role; `/health` needs none. See `docs/auth.md`.
//!
//! Run it with `cargo run -p biometric-server`; see [`ServerConfig`] for the environment.

#![allow(clippy::print_stdout)]

mod app;
mod bare;
mod caller;
mod config;
mod health;
mod logging;
mod readings;
mod state;
mod store;
mod webhooks;

pub use app::{App, StartError, BODY_READ_TIMEOUT, MAX_BODY_BYTES};
pub use bare::bare_router;
pub use config::{
    ConfigError, ConfigProblem, LogFormat, ServerConfig, AUDITED_PATHS, DEFAULT_LISTEN,
};
pub use logging::init as init_logging;
pub use readings::{HeartRateReading, NewHeartRate, ReadingList, MAX_BPM, MIN_BPM};
pub use store::{InMemoryReadingStore, PostgresReadingStore, ReadingStore, StoreError};
pub use webhooks::{
    WebhookAccepted, WebhookConfig, WebhookProviderConfig, MAX_READINGS_PER_DELIVERY,
    WEBHOOK_SCHEME_PREFIX, WEBHOOK_SECRET_PREFIX,
};
