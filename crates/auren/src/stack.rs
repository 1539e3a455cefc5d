//! The running stack: services connected, every part started from one configuration.

use std::sync::Arc;

use auren_audit::{AuditWriter, AuditWriterConfig, MemorySink, PostgresSink, SharedSink};
use auren_auth::{
    ApiKey, ApiKeys, InMemoryKeyStore, InvalidationListener, PostgresKeyStore, VerificationCache,
};
use auren_core::postgres::{Pool, PostgresError};
use auren_phi_crypto::{MasterKey, PhiCrypto};
use auren_ratelimit::{MemoryStore, RateLimiter, RedisStore};
use fred::prelude::{Client, ClientLike};

use crate::config::AurenConfig;
use crate::config_error::ConfigError;
use crate::layers::{EdgeLayer, KeyLayer, SecurityLayer};

/// A stack that failed to start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The configuration is not usable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Postgres could not be reached or migrated.
    #[error("Postgres (DATABASE_URL) is not usable: {0}")]
    Postgres(#[from] PostgresError),
    /// The Redis client could not be built.
    #[error("Redis (REDIS_URL) is not usable: {0}")]
    Redis(#[from] fred::error::Error),
    /// PHI encryption could not start: above all, a `PHI_MASTER_KEY` that cannot unwrap
    /// the stored data keys.
    #[error("PHI encryption (PHI_MASTER_KEY) is not usable: {0}")]
    Phi(#[from] auren_phi_crypto::PhiError),
    /// The admin key (`AUREN_ADMIN_KEY`) could not be registered, or none created.
    #[error("the admin key (AUREN_ADMIN_KEY) could not be set up: {0}")]
    AdminKey(#[from] auren_auth::KeyError),
    /// The rate limiter could not be built.
    #[error("rate limiting is not usable: {0}")]
    RateLimit(#[from] auren_ratelimit::ConfigError),
}

/// Every auren part, started from one [`AurenConfig`]: API keys, PHI encryption, the
/// audit writer and the rate limiter, over Postgres and Redis when configured and in
/// memory otherwise.
///
/// Hand its layers to the router ([`Auren::layer`], or [`Auren::edge_layer`] and
/// [`Auren::key_layer`] when some routes are public), seal PHI with [`Auren::phi`], and
/// call [`Auren::shutdown`] once the server has stopped so every audit event is written.
///
/// # Example
///
/// ```
/// use auren::{Auren, AurenConfig};
/// use axum::{routing::get, Router};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut auren = Auren::start(AurenConfig::default()).await?;
/// let first_admin_key = auren.take_created_admin_key();
/// assert!(first_admin_key.is_some(), "an empty key store gets an admin key");
///
/// let api = Router::new()
///     .route("/readings", get(|| async { "[]" }))
///     .layer(auren.key_layer());
/// let app: Router = Router::new()
///     .route("/health", get(|| async { "ok" }))
///     .nest("/api", api)
///     .layer(auren.edge_layer());
///
/// let sealed = auren.phi().encrypt_phi_field(&72_u16, "user_1").await?;
/// let value: u16 = auren.phi().decrypt_phi_field(&sealed, "user_1").await?;
/// assert_eq!(value, 72);
///
/// auren.shutdown().await;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Auren {
    keys: Arc<ApiKeys>,
    phi: PhiCrypto,
    limiter: RateLimiter,
    audit: AuditWriter,
    audit_sink: SharedSink,
    audit_paths: Vec<String>,
    postgres: Option<Pool>,
    redis: Option<Client>,
    created_admin_key: Option<ApiKey>,
    #[cfg(feature = "admin")]
    metrics: Option<auren_admin::metrics::PrometheusHandle>,
    /// Keeps the key cache's invalidation listener running while the stack lives.
    _key_listener: Option<InvalidationListener>,
}

impl Auren {
    /// Validates `config`, connects to its services, applies pending migrations and
    /// starts every part.
    ///
    /// # Errors
    ///
    /// [`StartError`] naming the part that cannot start. An unreachable Redis is not an
    /// error: the rate limiter's failure policy applies until it is back.
    pub async fn start(config: AurenConfig) -> Result<Self, StartError> {
        config.validate()?;

        // First, so that what the parts record while starting is kept.
        #[cfg(feature = "admin")]
        let metrics = (config.metrics == crate::MetricsExport::Prometheus)
            .then(auren_admin::metrics::install_prometheus_recorder);

        let postgres = crate::connect::postgres(config.database_url.as_deref()).await?;
        let redis = crate::connect::redis(config.redis_url.as_deref()).await?;

        let phi = start_phi(&config, postgres.as_ref()).await?;
        let (keys, key_listener) = start_keys(&config, postgres.as_ref())?;
        let created_admin_key = crate::admin_key::ensure(&keys, config.admin_key.as_ref()).await?;
        let limiter = start_limiter(&config, redis.as_ref())?;
        let (audit, audit_sink) = start_audit(config.audit_writer, postgres.as_ref()).await;

        Ok(Self {
            keys: Arc::new(keys),
            phi,
            limiter,
            audit,
            audit_sink,
            audit_paths: config.audited_paths(),
            postgres,
            redis,
            created_admin_key,
            #[cfg(feature = "admin")]
            metrics,
            _key_listener: key_listener,
        })
    }

    /// Every layer in order, for an application whose every route needs a key.
    pub fn layer(&self) -> SecurityLayer {
        SecurityLayer::new(self.edge_layer(), self.key_layer())
    }

    /// Request id, request metrics, error body and audit, around the whole application.
    pub fn edge_layer(&self) -> EdgeLayer {
        EdgeLayer::new(self.audit.clone(), self.audit_paths.clone())
    }

    /// Auth and rate limit, around the routes that need a key.
    pub fn key_layer(&self) -> KeyLayer {
        KeyLayer::new(Arc::clone(&self.keys), self.limiter.clone())
    }

    /// The API keys: issue, verify, revoke.
    pub fn keys(&self) -> &Arc<ApiKeys> {
        &self.keys
    }

    /// PHI field encryption.
    pub fn phi(&self) -> &PhiCrypto {
        &self.phi
    }

    /// The rate limiter.
    pub fn limiter(&self) -> &RateLimiter {
        &self.limiter
    }

    /// The audit writer, for [`AuditWriter::logger`] and its statistics.
    pub fn audit_writer(&self) -> &AuditWriter {
        &self.audit
    }

    /// Where audit events are stored, for queries.
    pub fn audit_sink(&self) -> &SharedSink {
        &self.audit_sink
    }

    /// The Postgres pool, when `DATABASE_URL` is set.
    pub fn postgres(&self) -> Option<&Pool> {
        self.postgres.as_ref()
    }

    /// The Redis client, when `REDIS_URL` is set.
    pub fn redis(&self) -> Option<&Client> {
        self.redis.as_ref()
    }

    /// The Prometheus handle, unless [`AurenConfig::metrics`] is `Off`.
    #[cfg(feature = "admin")]
    pub fn prometheus(&self) -> Option<&auren_admin::metrics::PrometheusHandle> {
        self.metrics.as_ref()
    }

    /// The admin key created at start-up because none existed, once; a secret to hand to
    /// the operator and drop.
    pub fn take_created_admin_key(&mut self) -> Option<ApiKey> {
        self.created_admin_key.take()
    }

    /// Writes every queued audit event, then closes the connections to the services.
    /// Call it once the server has stopped taking requests.
    pub async fn shutdown(&self) {
        self.audit.shutdown().await;

        if let Some(redis) = &self.redis {
            let _ = redis.quit().await;
        }
        if let Some(pool) = &self.postgres {
            pool.close();
        }
        tracing::debug!("auren stopped");
    }
}

async fn start_phi(config: &AurenConfig, postgres: Option<&Pool>) -> Result<PhiCrypto, StartError> {
    if let Some(pool) = postgres {
        // `validate` refuses Postgres without a master key.
        let master = config.phi_master_key.clone().ok_or_else(|| {
            ConfigError::single("PHI_MASTER_KEY", "required when DATABASE_URL is set")
        })?;
        let store = auren_phi_crypto::PostgresKeyStore::new(pool.clone());
        return Ok(PhiCrypto::builder(master, store).build().await?);
    }

    let master = match &config.phi_master_key {
        Some(master) => master.clone(),
        None => {
            tracing::warn!(
                "PHI_MASTER_KEY is unset: PHI is sealed under an ephemeral key, generated now \
                 and lost at exit"
            );
            MasterKey::generate()?
        }
    };
    let store = auren_phi_crypto::InMemoryKeyStore::new();
    Ok(PhiCrypto::builder(master, store).build().await?)
}

fn start_keys(
    config: &AurenConfig,
    postgres: Option<&Pool>,
) -> Result<(ApiKeys, Option<InvalidationListener>), StartError> {
    let (Some(pool), Some(url)) = (postgres, &config.database_url) else {
        return Ok((ApiKeys::new(Arc::new(InMemoryKeyStore::new())), None));
    };

    let cache = Arc::new(VerificationCache::new());
    let listener =
        InvalidationListener::spawn(url, Arc::clone(&cache)).map_err(PostgresError::InvalidUrl)?;
    let store = Arc::new(PostgresKeyStore::new(pool.clone()));
    Ok((ApiKeys::new(store).with_cache(cache), Some(listener)))
}

fn start_limiter(config: &AurenConfig, redis: Option<&Client>) -> Result<RateLimiter, StartError> {
    let Some(client) = redis else {
        return Ok(RateLimiter::in_memory(MemoryStore::new()));
    };

    let settings = &config.rate_limit;
    let store = RedisStore::builder(client.clone())
        .prefix(settings.redis_prefix.clone())
        .build()?;
    Ok(RateLimiter::builder(store)
        .failure_policy(settings.on_failure.policy())
        .timeout(settings.timeout)
        .build()?)
}

async fn start_audit(
    writer_config: AuditWriterConfig,
    postgres: Option<&Pool>,
) -> (AuditWriter, SharedSink) {
    let sink: SharedSink = match postgres {
        Some(pool) => {
            let now = chrono::Utc::now();
            let months = auren_audit::partitions::DEFAULT_MONTHS_AHEAD;
            // The writer creates a missing partition itself before writing into it, so a
            // failure here only delays that work; it does not stop the start.
            if let Err(error) = auren_audit::partitions::create_ahead(pool, now, months).await {
                tracing::warn!(error = %error, "audit partitions could not be created ahead");
            }
            Arc::new(PostgresSink::new(pool.clone()))
        }
        None => {
            tracing::info!("audit events are kept in memory (bounded) and lost at exit");
            Arc::new(MemorySink::new())
        }
    };
    (AuditWriter::start(Arc::clone(&sink), writer_config), sink)
}
