//! [`AuditLayer`]: one event per request to an audited path, once the response is known.
//!
//! The layer sits outside the auth layer, so it sees every request, including those that
//! auth refuses. It learns the caller from the [`CallerIdentity`](auren_core::CallerIdentity)
//! that auth copies into the response extensions, and the request id from
//! [`RequestId`](auren_core::RequestId) in the request extensions. It records the path
//! (never the query), the method, the status, the outcome (401, 403 and 429 are
//! `denied`; 401 is recorded as action `authenticate`), the response time, the client
//! address (axum's `ConnectInfo<SocketAddr>`, when served with connect info) and the user
//! agent, cut to 256 characters with control characters removed.
//!
//! The event is handed to the [`AuditWriter`](crate::AuditWriter)'s queue and the response
//! returns at once. When the queue is full, [`QueueFullPolicy`](crate::QueueFullPolicy)
//! decides: wait for room, or answer `503 audit_unavailable`.
//!
//! # Example
//!
//! ```
//! use auren_audit::{AuditLayer, AuditWriter, AuditWriterConfig, MemorySink};
//! use axum::{routing::get, Router};
//! use std::sync::Arc;
//! use tower::ServiceExt;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let sink = MemorySink::new();
//! let writer = AuditWriter::start(Arc::new(sink.clone()), AuditWriterConfig::default());
//! let app = Router::new()
//!     .route("/api/readings", get(|| async { "[]" }))
//!     .route("/health", get(|| async { "ok" }))
//!     .layer(AuditLayer::new(writer.clone()).audit_paths(["/api"]));
//!
//! let request = http::Request::get("/api/readings?secret=1").body(axum::body::Body::empty());
//! app.clone().oneshot(request.unwrap()).await.unwrap();
//! let request = http::Request::get("/health").body(axum::body::Body::empty());
//! app.oneshot(request.unwrap()).await.unwrap();
//!
//! writer.shutdown().await;
//! let rows = sink.rows();
//! assert_eq!(rows.len(), 1);
//! assert_eq!(rows[0].event().resource(), "/api/readings");
//! # });
//! ```

mod future;
#[allow(clippy::module_inception)]
mod layer;
mod service;

pub use future::ResponseFuture;
pub use layer::AuditLayer;
pub use service::AuditService;
