//! Postgres connection pools and the embedded SQL migrations (feature `postgres`).
//!
//! Every Postgres-backed store in the workspace takes a [`Pool`] made here, and every
//! table they use is created by the migrations under the repository's `migrations/`
//! folder, applied by [`run_migrations`] through `refinery`.
//!
//! # Example
//!
//! ```no_run
//! # async fn example() -> Result<(), auren_core::postgres::PostgresError> {
//! let pool = auren_core::postgres::connect("postgres://postgres@127.0.0.1/auren")?;
//! auren_core::postgres::run_migrations(&pool).await?;
//! auren_core::postgres::ping(&pool).await?;
//! # Ok(())
//! # }
//! ```

use std::time::Duration;

pub use deadpool_postgres::Pool;
use deadpool_postgres::{Manager, ManagerConfig, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;

#[allow(unreachable_pub, missing_docs, missing_debug_implementations)]
mod embedded {
    refinery::embed_migrations!("../../migrations");
}

/// Connections a pool opens at most, unless the caller chooses.
pub const DEFAULT_POOL_SIZE: usize = 16;

/// How long a caller waits for a free connection, or for a new one to open.
pub const DEFAULT_POOL_TIMEOUT: Duration = Duration::from_secs(5);

/// How long one statement may run before Postgres cancels it, unless the URL sets its own
/// `options`: a locked table or a slow query then ends in an error (a 503 to the caller)
/// instead of holding the request and its connection for as long as the lock is held.
pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(10);

/// An arbitrary constant that serialises migrations between instances starting together.
const MIGRATION_LOCK_ID: i64 = 0x6175_7265_6e5f_6d31;

/// Why a pool could not be made, reached or migrated.
///
/// Messages never contain the connection URL, which may hold a password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PostgresError {
    /// `DATABASE_URL` is not a valid Postgres connection string.
    #[error("the database URL is not a valid Postgres connection string")]
    InvalidUrl(#[source] tokio_postgres::Error),
    /// The pool could not be built.
    #[error("the Postgres pool could not be built")]
    Build(#[source] deadpool_postgres::BuildError),
    /// No connection could be taken from the pool.
    #[error("no Postgres connection is available")]
    Unavailable(#[source] deadpool_postgres::PoolError),
    /// A statement failed.
    #[error("a Postgres statement failed")]
    Query(#[source] tokio_postgres::Error),
    /// A migration failed.
    #[error("the database migrations failed")]
    Migration(#[source] refinery::Error),
}

/// A pool for `url` with [`DEFAULT_POOL_SIZE`] connections.
///
/// No connection is opened until one is needed.
///
/// # Errors
///
/// [`PostgresError::InvalidUrl`] when `url` does not parse, [`PostgresError::Build`] when
/// the pool cannot be built.
pub fn connect(url: &str) -> Result<Pool, PostgresError> {
    connect_with_size(url, DEFAULT_POOL_SIZE)
}

/// A pool for `url` with at most `max_size` connections.
///
/// Every connection's statements are cancelled after [`DEFAULT_STATEMENT_TIMEOUT`] unless
/// the URL passes its own `options` (for example `?options=-c%20statement_timeout%3D0`).
///
/// # Errors
///
/// As for [`connect`].
pub fn connect_with_size(url: &str, max_size: usize) -> Result<Pool, PostgresError> {
    let mut config: tokio_postgres::Config = url.parse().map_err(PostgresError::InvalidUrl)?;
    config.connect_timeout(DEFAULT_POOL_TIMEOUT);
    if config.get_options().is_none() {
        let timeout_ms = DEFAULT_STATEMENT_TIMEOUT.as_millis();
        config.options(format!("-c statement_timeout={timeout_ms}"));
    }

    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(max_size)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(DEFAULT_POOL_TIMEOUT))
        .create_timeout(Some(DEFAULT_POOL_TIMEOUT))
        .recycle_timeout(Some(DEFAULT_POOL_TIMEOUT))
        .build()
        .map_err(PostgresError::Build)
}

/// Checks that Postgres answers a trivial query.
///
/// # Errors
///
/// [`PostgresError::Unavailable`] or [`PostgresError::Query`] when it does not.
pub async fn ping(pool: &Pool) -> Result<(), PostgresError> {
    let client = pool.get().await.map_err(PostgresError::Unavailable)?;
    client
        .simple_query("SELECT 1")
        .await
        .map_err(PostgresError::Query)?;
    Ok(())
}

/// Applies every pending migration from `migrations/` and returns how many ran.
///
/// Instances that start together take turns through an advisory lock, so a migration
/// never runs twice.
///
/// # Errors
///
/// [`PostgresError::Unavailable`] without a connection, [`PostgresError::Migration`] when a
/// migration fails (it is rolled back) or the applied history differs from the files.
pub async fn run_migrations(pool: &Pool) -> Result<usize, PostgresError> {
    let mut client = pool.get().await.map_err(PostgresError::Unavailable)?;
    let client: &mut tokio_postgres::Client = &mut client;

    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK_ID])
        .await
        .map_err(PostgresError::Query)?;
    let report = embedded::migrations::runner().run_async(client).await;
    let unlocked = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK_ID])
        .await;

    let report = report.map_err(PostgresError::Migration)?;
    unlocked.map_err(PostgresError::Query)?;
    let applied = report.applied_migrations().len();
    tracing::debug!(applied, "database migrations are up to date");
    Ok(applied)
}
