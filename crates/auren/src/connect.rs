//! Reaching the configured services: Postgres (migrated) and Redis.

use std::time::Duration;

use auren_core::postgres::{self, Pool};
use fred::prelude::{Builder, Client, ClientLike, ReconnectPolicy};

use crate::stack::StartError;

/// How long start-up waits for Redis before going on without it.
const REDIS_CONNECT_WAIT: Duration = Duration::from_secs(2);

/// A Postgres pool with every pending migration applied, or `None` without a URL.
pub(crate) async fn postgres(url: Option<&str>) -> Result<Option<Pool>, StartError> {
    let Some(url) = url else {
        tracing::info!(
            "DATABASE_URL is unset: keys, PHI data keys and audit events stay in memory"
        );
        return Ok(None);
    };

    let pool = postgres::connect(url)?;
    let applied = postgres::run_migrations(&pool).await?;
    tracing::info!(applied, "Postgres is ready");
    Ok(Some(pool))
}

/// A Redis client that reconnects by itself, or `None` without a URL.
///
/// An unreachable Redis does not stop the start: the client keeps trying, and the rate
/// limiter applies its failure policy meanwhile.
pub(crate) async fn redis(url: Option<&str>) -> Result<Option<Client>, StartError> {
    let Some(url) = url else {
        tracing::info!("REDIS_URL is unset: rate limits are kept in memory");
        return Ok(None);
    };

    let client = Builder::from_config(fred::prelude::Config::from_url(url)?)
        .set_policy(ReconnectPolicy::new_exponential(0, 100, 5_000, 2))
        .build()?;
    client.connect();

    let connected = tokio::time::timeout(REDIS_CONNECT_WAIT, client.wait_for_connect()).await;
    if connected.is_err() {
        tracing::warn!("Redis is not reachable yet; the client keeps trying");
    }
    Ok(Some(client))
}
