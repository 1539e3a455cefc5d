//! An example biometric API, secured by the auren layers.
//!
//! This is the "existing system" of our users: a small service that stores heart-rate
//! readings. It shows how a host wires the auren crates around its own router.
//!
//! | route | what it does |
//! |---|---|
//! | `GET /health` | `200 {"status":"ok"}`, or `503` naming a dependency that is down |
//! | `POST /api/biometrics/heart-rate` | stores a reading for the caller, `201` |
//! | `GET /api/biometrics` | the caller's readings, newest first, `?limit=` |
//! | `GET /api/biometrics/heart-rate` | the same, heart rate only |
//!
//! Run it with `cargo run -p biometric-server`; see [`ServerConfig`] for the environment.

#![allow(clippy::print_stdout)]

mod app;
mod caller;
mod config;
mod health;
mod logging;
mod readings;
mod state;
mod store;

pub use app::{App, StartError, MAX_BODY_BYTES};
pub use caller::DEV_USER_ID;
pub use config::{ConfigError, LogFormat, ServerConfig, DEFAULT_LISTEN};
pub use logging::init as init_logging;
pub use readings::{HeartRateReading, NewHeartRate, ReadingList, MAX_BPM, MIN_BPM};
pub use store::{InMemoryReadingStore, PostgresReadingStore, ReadingStore, StoreError};
