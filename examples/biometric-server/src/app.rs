//! Assembling the server: the auren stack, the stores, the routes and the layers.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use auren::core::{ApiError, RequestId};
use auren::Auren;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use http::Request;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::RequestBodyTimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::config::ServerConfig;
use crate::readings;
use crate::state::AppState;
use crate::store::{InMemoryReadingStore, PostgresReadingStore, ReadingStore};

/// The largest request body accepted, in bytes (1 MiB).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// How long a request body may take to arrive, so a client that stops sending mid-body
/// (slowloris) gets `408` instead of holding its connection and handler forever.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// A server that failed to start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The auren stack could not start: a service, the PHI master key, the admin key.
    #[error(transparent)]
    Auren(#[from] auren::StartError),
    /// A webhook provider (`AUREN_WEBHOOK_SECRET_<NAME>`) could not be set up.
    #[error("a webhook provider is not usable: {0}")]
    Webhook(#[from] auren::webhook::WebhookConfigError),
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
    auren: Arc<Auren>,
}

impl App {
    /// Starts the auren stack (connecting to the configured services and applying
    /// pending migrations, or in memory) and builds the router.
    ///
    /// When no admin key exists yet, one is created and printed once on stdout as
    /// `AUREN_ADMIN_KEY=auren_…`, for the operator to store.
    ///
    /// # Errors
    ///
    /// [`StartError`] naming the part that cannot start.
    pub async fn build(config: &ServerConfig) -> Result<Self, StartError> {
        let mut auren = Auren::start(config.auren.clone()).await?;
        if let Some(admin_key) = auren.take_created_admin_key() {
            println!("AUREN_ADMIN_KEY={}", admin_key.expose_secret());
        }

        let phi = auren.phi().clone();
        let readings: Arc<dyn ReadingStore> = match auren.postgres() {
            Some(pool) => Arc::new(PostgresReadingStore::new(pool.clone(), phi)),
            None => Arc::new(InMemoryReadingStore::new(phi)),
        };

        let replay = crate::webhooks::replay_store(&auren, &config.webhooks);
        let webhooks = crate::webhooks::routes(&config.webhooks, &replay)?;

        let auren = Arc::new(auren);
        Ok(Self {
            router: router(AppState { readings }, &auren, webhooks),
            auren,
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
    /// A client gets [`auren::DEFAULT_HEADER_READ_TIMEOUT`] (10 s) to send a request's
    /// line and headers, and [`BODY_READ_TIMEOUT`] for its body.
    ///
    /// # Errors
    ///
    /// The I/O error that stopped the server.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let served = auren::serve(listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await;
        // Every in-flight request has finished: write its audit events, then close.
        self.auren.shutdown().await;
        served?;

        tracing::info!("server stopped");
        Ok(())
    }
}

fn router(state: AppState, auren: &Arc<Auren>, webhooks: Router<AppState>) -> Router {
    // `/api/*` needs a key, and each key has its rate limit.
    let api = Router::new()
        .route("/biometrics", get(readings::list_heart_rate))
        .route(
            "/biometrics/heart-rate",
            post(readings::create_heart_rate).get(readings::list_heart_rate),
        )
        .layer(auren.key_layer());

    Router::new()
        .nest("/api", api)
        // Keys, audit query, rate limits and metrics, behind an admin key.
        .nest("/admin", auren.admin_router())
        // `/webhooks/*` is authenticated by each provider's signature, not by an API key.
        .merge(webhooks)
        .fallback(|| async { ApiError::not_found() })
        .with_state(state)
        .merge(crate::health::router(Arc::clone(auren)))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(RequestBodyTimeoutLayer::new(BODY_READ_TIMEOUT))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::internal().to_response::<axum::body::Body>(None)
        }))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        // Request id, metrics, error body and audit: outside auth, so refused requests
        // are recorded too.
        .layer(auren.edge_layer())
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
