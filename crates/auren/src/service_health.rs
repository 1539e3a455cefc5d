//! Whether the services the stack was configured with answer: for a host's `/health`.

use std::future::Future;
use std::time::Duration;

use auren_core::postgres::Pool;
use fred::prelude::{Client, ClientLike};

use crate::stack::Auren;

/// The state of one configured service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServiceState {
    /// It answered in time.
    Up,
    /// It failed, or did not answer in time.
    Down,
}

impl ServiceState {
    /// `"ok"` or `"down"`, as health bodies show it.
    ///
    /// ```
    /// assert_eq!(auren::ServiceState::Up.as_str(), "ok");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceState::Up => "ok",
            ServiceState::Down => "down",
        }
    }
}

/// The state of Postgres and Redis, each `None` when the stack runs without it.
///
/// # Example
///
/// ```
/// use auren::{Auren, AurenConfig};
/// use std::time::Duration;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let auren = Auren::start(AurenConfig::default()).await?;
/// let health = auren.check_services(Duration::from_secs(1)).await;
/// assert_eq!(health.postgres, None, "in memory: no Postgres to check");
/// assert!(health.all_up());
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServiceHealth {
    /// Postgres, when `DATABASE_URL` is set.
    pub postgres: Option<ServiceState>,
    /// Redis, when `REDIS_URL` is set.
    pub redis: Option<ServiceState>,
}

impl ServiceHealth {
    /// Whether no configured service is down.
    pub fn all_up(&self) -> bool {
        self.down().is_empty()
    }

    /// The names (`postgres`, `redis`) of the configured services that are down.
    pub fn down(&self) -> Vec<&'static str> {
        [("postgres", self.postgres), ("redis", self.redis)]
            .into_iter()
            .filter(|(_, state)| *state == Some(ServiceState::Down))
            .map(|(name, _)| name)
            .collect()
    }
}

impl Auren {
    /// Pings Postgres and Redis at once, each bounded by `timeout`.
    ///
    /// A service that is slow counts as down; nothing here waits longer than `timeout`.
    pub async fn check_services(&self, timeout: Duration) -> ServiceHealth {
        let (postgres, redis) = tokio::join!(
            check(self.postgres(), timeout, ping_postgres),
            check(self.redis(), timeout, ping_redis),
        );
        ServiceHealth { postgres, redis }
    }
}

async fn check<'a, T, F>(
    service: Option<&'a T>,
    timeout: Duration,
    ping: impl FnOnce(&'a T) -> F,
) -> Option<ServiceState>
where
    F: Future<Output = bool>,
{
    let service = service?;

    let answered = tokio::time::timeout(timeout, ping(service)).await;
    Some(match answered {
        Ok(true) => ServiceState::Up,
        _ => ServiceState::Down,
    })
}

async fn ping_postgres(pool: &Pool) -> bool {
    auren_core::postgres::ping(pool).await.is_ok()
}

async fn ping_redis(client: &Client) -> bool {
    client.ping::<String>(None).await.is_ok()
}
