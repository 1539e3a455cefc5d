//! The auren layers in their documented order, as one layer or as two halves.
//!
//! From the outside in:
//!
//! 1. request id: every response carries `x-request-id`, every log line and audit event
//!    the same ULID;
//! 2. request metrics: every answered request counted by outcome, with its latency;
//! 3. error body: every error response has the shared JSON body with that id;
//! 4. audit: records each request to an audited path once its response is known, so
//!    requests turned away by auth or the rate limiter are recorded too;
//! 5. auth: an active API key, or `401`;
//! 6. rate limit: the key's own limit, or `429`;
//! 7. the host's service.
//!
//! Layers 1 to 4 wrap the whole application ([`EdgeLayer`]); 5 and 6 wrap the routes that
//! need a key ([`KeyLayer`]), so public routes such as `/health` or signed webhooks sit
//! outside them. [`SecurityLayer`] is both halves for a service that is all private.

use std::sync::Arc;

use auren_audit::{AuditLayer, AuditWriter};
use auren_auth::{ApiKeys, AuthLayer};
use auren_core::{ErrorBodyLayer, RequestIdLayer, RequestMetricsLayer};
use auren_ratelimit::{RateLimitLayer, RateLimiter};
use tower::layer::util::Stack;
use tower::Layer;

type EdgeStack =
    Stack<AuditLayer, Stack<ErrorBodyLayer, Stack<RequestMetricsLayer, RequestIdLayer>>>;
type KeyStack = Stack<RateLimitLayer, AuthLayer>;

/// Request id, request metrics, error body and audit: the layers around a whole
/// application.
///
/// # Example
///
/// ```
/// use auren::audit::{AuditWriter, AuditWriterConfig, MemorySink};
/// use auren::EdgeLayer;
/// use axum::{routing::get, Router};
/// use std::sync::Arc;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let writer = AuditWriter::start(Arc::new(MemorySink::new()), AuditWriterConfig::default());
/// let app: Router = Router::new()
///     .route("/health", get(|| async { "ok" }))
///     .layer(EdgeLayer::new(writer, ["/api"]));
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct EdgeLayer {
    stack: EdgeStack,
}

impl EdgeLayer {
    /// The edge layers, auditing requests whose path starts with one of `audit_paths`.
    pub fn new<I, P>(writer: AuditWriter, audit_paths: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: Into<String>,
    {
        let audit = AuditLayer::new(writer).audit_paths(audit_paths);
        Self {
            stack: Stack::new(
                audit,
                Stack::new(
                    ErrorBodyLayer::new(),
                    Stack::new(RequestMetricsLayer::new(), RequestIdLayer::new()),
                ),
            ),
        }
    }
}

impl<S> Layer<S> for EdgeLayer {
    type Service = <EdgeStack as Layer<S>>::Service;

    fn layer(&self, inner: S) -> Self::Service {
        self.stack.layer(inner)
    }
}

/// Auth and rate limit: the layers around the routes that need an API key.
///
/// # Example
///
/// ```
/// use auren::auth::{ApiKeys, InMemoryKeyStore};
/// use auren::ratelimit::{MemoryStore, RateLimiter};
/// use auren::KeyLayer;
/// use axum::{routing::get, Router};
/// use std::sync::Arc;
///
/// let keys = Arc::new(ApiKeys::new(Arc::new(InMemoryKeyStore::new())));
/// let limiter = RateLimiter::in_memory(MemoryStore::new());
/// let api: Router = Router::new()
///     .route("/readings", get(|| async { "[]" }))
///     .layer(KeyLayer::new(keys, limiter));
/// ```
#[derive(Debug, Clone)]
pub struct KeyLayer {
    stack: KeyStack,
}

impl KeyLayer {
    /// Verifies keys with `keys` and limits each with `limiter`.
    pub fn new(keys: Arc<ApiKeys>, limiter: RateLimiter) -> Self {
        Self {
            stack: Stack::new(RateLimitLayer::new(limiter), AuthLayer::new(keys)),
        }
    }
}

impl<S> Layer<S> for KeyLayer {
    type Service = <KeyStack as Layer<S>>::Service;

    fn layer(&self, inner: S) -> Self::Service {
        self.stack.layer(inner)
    }
}

/// Every auren layer in order, for a service whose every request needs a key.
///
/// Works on any tower `Service` over `http` requests as well as on an axum `Router`.
///
/// # Example
///
/// ```
/// use auren::{AurenConfig, Auren};
/// use axum::{routing::get, Router};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let auren = Auren::start(AurenConfig::default()).await?;
/// let app: Router = Router::new()
///     .route("/readings", get(|| async { "[]" }))
///     .layer(auren.layer());
/// auren.shutdown().await;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct SecurityLayer {
    stack: Stack<KeyLayer, EdgeLayer>,
}

impl SecurityLayer {
    /// The edge layers outside, the key layers inside.
    pub fn new(edge: EdgeLayer, key: KeyLayer) -> Self {
        Self {
            stack: Stack::new(key, edge),
        }
    }
}

impl<S> Layer<S> for SecurityLayer {
    type Service = <Stack<KeyLayer, EdgeLayer> as Layer<S>>::Service;

    fn layer(&self, inner: S) -> Self::Service {
        self.stack.layer(inner)
    }
}
