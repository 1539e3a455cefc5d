//! Assembling the server: stores, routes and the auren layers around them.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use auren_auth::{ApiKeys, AuthLayer, RequireRoleLayer};
use auren_core::postgres::{self, PostgresError};
use auren_core::{ApiError, ErrorBodyLayer, RequestId, RequestIdLayer};
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use fred::prelude::{Builder, ClientLike, ReconnectPolicy};
use http::Request;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::RequestBodyTimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::config::ServerConfig;
use crate::health::{self, Dependencies};
use crate::readings;
use crate::state::AppState;
use crate::store::{InMemoryReadingStore, PostgresReadingStore, ReadingStore};

/// The largest request body accepted, in bytes (1 MiB).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// How long a request body may take to arrive, so a client that stops sending mid-body
/// (slowloris) gets `408` instead of holding its connection and handler forever.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How long start-up waits for Redis before going on without it.
const REDIS_CONNECT_WAIT: Duration = Duration::from_secs(2);

/// A server that failed to start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
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
    /// Postgres is configured but no PHI master key is.
    #[error("PHI_MASTER_KEY is required when DATABASE_URL is set")]
    PhiMasterKeyMissing,
    /// The admin key (`AUREN_ADMIN_KEY`) could not be registered, or none created.
    #[error("the admin key (AUREN_ADMIN_KEY) could not be set up: {0}")]
    AdminKey(#[from] auren_auth::KeyError),
    /// A webhook provider (`AUREN_WEBHOOK_SECRET_<NAME>`) could not be set up.
    #[error("a webhook provider is not usable: {0}")]
    Webhook(#[from] auren_webhook::WebhookConfigError),
    /// The rate-limit configuration is not usable.
    #[error("rate limiting is not usable: {0}")]
    RateLimit(#[from] auren_ratelimit::ConfigError),
    /// The listening socket could not be opened.
    #[error("cannot listen on {address}: {source}")]
    Listen {
        /// The address from `AUREN_LISTEN`.
        address: SocketAddr,
        /// What the operating system said.
        source: std::io::Error,
    },
}

/// The example server, ready to serve.
///
/// # Example
///
/// ```no_run
/// use biometric_server::{App, ServerConfig};
///
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// let config = ServerConfig::from_env()?;
/// let app = App::build(&config).await?;
/// let listener = app.bind(&config).await?;
/// app.serve(listener, async { let _ = tokio::signal::ctrl_c().await; }).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct App {
    router: Router,
    dependencies: Dependencies,
    /// Keeps the key cache's invalidation listener running while the app lives.
    _key_listener: Option<auren_auth::InvalidationListener>,
    /// The PHI access log's writer, flushed when the server stops.
    audit: crate::audit_wiring::ServerAudit,
}

impl App {
    /// Connects to the configured services, applies pending migrations and builds the
    /// router. Services that are not configured are replaced by in-memory backends.
    ///
    /// # Errors
    ///
    /// [`StartError`] when Postgres cannot be reached or migrated, or the Redis client
    /// cannot be built.
    pub async fn build(config: &ServerConfig) -> Result<Self, StartError> {
        let dependencies = connect_dependencies(config).await?;

        let phi = crate::phi::start(config, dependencies.postgres.as_ref()).await?;
        let readings: Arc<dyn ReadingStore> = match &dependencies.postgres {
            Some(pool) => Arc::new(PostgresReadingStore::new(pool.clone(), phi)),
            None => Arc::new(InMemoryReadingStore::new(phi)),
        };
        let state = AppState {
            readings,
            dependencies: dependencies.clone(),
        };

        let replay = crate::webhooks::replay_store(&dependencies, &config.webhooks);
        let webhooks = crate::webhooks::routes(&config.webhooks, &replay)?;

        let auth = crate::admin_bootstrap::start(config, dependencies.postgres.as_ref()).await?;
        let limiter =
            crate::rate_limiting::limiter(&config.rate_limit, dependencies.redis.as_ref())?;
        let audit = crate::audit_wiring::ServerAudit::start(dependencies.postgres.as_ref()).await;
        Ok(Self {
            router: router(state, &auth.keys, webhooks, &audit, limiter),
            dependencies,
            _key_listener: auth.listener,
            audit,
        })
    }

    /// The router with every layer, for serving or for driving in tests.
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// Opens the listening socket named by the configuration.
    ///
    /// # Errors
    ///
    /// [`StartError::Listen`] when the address cannot be bound.
    pub async fn bind(&self, config: &ServerConfig) -> Result<TcpListener, StartError> {
        TcpListener::bind(config.listen)
            .await
            .map_err(|source| StartError::Listen {
                address: config.listen,
                source,
            })
    }

    /// Serves on `listener` until `shutdown` completes, then lets in-flight requests
    /// finish and closes the connections to the services.
    ///
    /// # Errors
    ///
    /// The I/O error that stopped the server.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let service = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        let served = axum::serve(listener, service)
            .with_graceful_shutdown(shutdown)
            .await;
        // Every in-flight request has finished: flush its audit events before closing.
        self.audit.shutdown().await;
        served?;

        if let Some(redis) = &self.dependencies.redis {
            let _ = redis.quit().await;
        }
        if let Some(pool) = &self.dependencies.postgres {
            pool.close();
        }
        tracing::info!("server stopped");
        Ok(())
    }
}

async fn connect_dependencies(config: &ServerConfig) -> Result<Dependencies, StartError> {
    let postgres = match &config.database_url {
        Some(url) => {
            let pool = postgres::connect(url)?;
            postgres::run_migrations(&pool).await?;
            tracing::info!("readings are stored in Postgres");
            Some(pool)
        }
        None => {
            tracing::info!("DATABASE_URL is unset: readings are kept in memory and lost at exit");
            None
        }
    };

    let redis = match &config.redis_url {
        Some(url) => {
            let client = Builder::from_config(fred::prelude::Config::from_url(url)?)
                .set_policy(ReconnectPolicy::new_exponential(0, 100, 5_000, 2))
                .build()?;
            client.connect();
            if tokio::time::timeout(REDIS_CONNECT_WAIT, client.wait_for_connect())
                .await
                .is_err()
            {
                tracing::warn!("Redis is not reachable yet; the client keeps trying");
            }
            Some(client)
        }
        None => {
            tracing::info!("REDIS_URL is unset: in-memory backends serve in its place");
            None
        }
    };

    Ok(Dependencies { postgres, redis })
}

fn router(
    state: AppState,
    keys: &Arc<ApiKeys>,
    webhooks: Router<AppState>,
    audit: &crate::audit_wiring::ServerAudit,
    limiter: auren_ratelimit::RateLimiter,
) -> Router {
    let api = Router::new()
        .route("/biometrics", get(readings::list_heart_rate))
        .route(
            "/biometrics/heart-rate",
            post(readings::create_heart_rate).get(readings::list_heart_rate),
        );
    // `/api/*` needs a key. Layers added before the auth layer run inside it (rate limiting).
    let api = api
        .layer(auren_ratelimit::RateLimitLayer::new(limiter.clone()))
        .layer(AuthLayer::new(Arc::clone(keys)));

    // `/admin/*` needs an admin key. Merge more admin routers here, before the layers.
    let admin = Router::new()
        .merge(auren_admin::api_keys::router(Arc::clone(keys)))
        .merge(auren_admin::audit_logs::router(audit.sink()))
        .merge(auren_admin::rate_limits::router(limiter))
        .layer(RequireRoleLayer::admin())
        .layer(AuthLayer::new(Arc::clone(keys)));

    Router::new()
        .route("/health", get(health::health))
        .nest("/api", api)
        .nest("/admin", admin)
        // `/webhooks/*` is authenticated by each provider's signature, not by an API key.
        .merge(webhooks)
        .fallback(|| async { ApiError::not_found() })
        .with_state(state)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(RequestBodyTimeoutLayer::new(BODY_READ_TIMEOUT))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::internal().to_response::<axum::body::Body>(None)
        }))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        // Outside auth, so refused requests are recorded too; inside the request id.
        .layer(audit.layer())
        .layer(ErrorBodyLayer::new())
        .layer(RequestIdLayer::new())
}

/// The span of one request: method, path and request id, never a query or a header.
fn request_span<B>(request: &Request<B>) -> tracing::Span {
    let request_id = RequestId::from_extensions(request.extensions())
        .map(|id| id.to_string())
        .unwrap_or_default();
    tracing::debug_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %request_id,
    )
}
