//! Test support for the auren crates: isolated Postgres databases and Redis key prefixes,
//! private servers to stop and start, and a proxy to cut connections.
//!
//! Tests that need a real service ask for it here. Each [`TestDatabase`] is a database of
//! its own, migrated and dropped again when the value is dropped; each [`TestRedis`] is a
//! key prefix of its own, whose keys are deleted on drop. So tests run in parallel and
//! leave nothing behind. A test that takes a service away uses [`TcpProxy`] (a network
//! cut in front of the shared server) or [`PrivatePostgres`] / [`PrivateRedis`] (a server
//! of its own, really stopped and started again).
//!
//! When a service is unreachable, the constructors return `None` and the test returns
//! early, *unless* the `CI` environment variable is set: then they panic, so a CI run
//! without Postgres or Redis fails instead of passing silently.
//!
//! # Example
//!
//! ```no_run
//! # async fn example() {
//! let Some(db) = auren_testing::TestDatabase::create().await else { return };
//! let client = db.pool().get().await.unwrap();
//! client.simple_query("SELECT 1").await.unwrap();
//! # }
//! ```

#![allow(clippy::print_stderr)]

mod connection;
mod database;
mod private_postgres;
mod private_redis;
mod private_server;
mod proxy;
mod redis;

pub use connection::read_until_closed;
pub use database::{base_database_url, TestDatabase};
pub use private_postgres::PrivatePostgres;
pub use private_redis::PrivateRedis;
pub use proxy::TcpProxy;
pub use redis::{base_redis_url, TestRedis};

/// Reacts to a service that cannot be reached: panics under CI, otherwise says so on
/// stderr and returns `None` so the test can return early.
///
/// # Panics
///
/// When the `CI` environment variable is set and not empty.
pub fn service_unavailable<T>(service: &str, reason: &dyn std::fmt::Display) -> Option<T> {
    let under_ci = std::env::var("CI").is_ok_and(|value| !value.is_empty());
    if under_ci {
        panic!("{service} is required when CI is set, but it is unreachable: {reason}");
    }
    eprintln!("skipping: {service} is unreachable ({reason}); set CI=1 to make this fail");
    None
}

/// A short unique lowercase name, usable in database names and key prefixes.
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}_{}", ulid::Ulid::new().to_string().to_lowercase())
}
