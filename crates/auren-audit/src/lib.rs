//! A complete, tamper-evident record of PHI access in Postgres.
//!
//! - [`AuditLayer`] records one [`AuditEvent`] per request to an audited path, once the
//!   response is known: failed authentications and rate-limited requests included.
//! - [`AuditLogger::log_access`] records anything else a handler does.
//! - [`AuditWriter`] queues events in a bounded in-process queue and stores them in
//!   batches through an [`AuditSink`] ([`PostgresSink`], or [`MemorySink`] for the embedded
//!   default), retrying with backoff while storage is down, flushing on shutdown.
//! - Each writer seals its events into a SHA-256 hash chain ([`ChainState`]); a sink's
//!   `verify` names the first modified, deleted or inserted row ([`VerifyReport`]).
//! - [`AuditQueryRequest`] / [`AuditQuery`] find events, newest first, with a keyset cursor.
//! - [`partitions`]: monthly partitions created ahead and dropped after the [`Retention`]
//!   (six years unless explicitly overridden).
//!
//! The design and its limits are in `docs/audit.md`.
//!
//! # Example
//!
//! ```
//! use auren_audit::{
//!     Action, AuditEvent, AuditQueryRequest, AuditWriter, AuditWriterConfig, MemorySink, Outcome,
//! };
//! use std::sync::Arc;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let sink = MemorySink::new();
//! let writer = AuditWriter::start(Arc::new(sink.clone()), AuditWriterConfig::default());
//! let event = AuditEvent::new(Action::Read, "/api/biometrics", Outcome::Success)
//!     .with_user(Some("alice"), None);
//! writer.record(event).await.unwrap();
//! writer.shutdown().await;
//!
//! let query = AuditQueryRequest { user_id: Some("alice".into()), ..Default::default() };
//! let page = sink.query_now(&query.validate().unwrap());
//! assert_eq!(page.events.len(), 1);
//! assert!(sink.verify_now(None, None).is_ok());
//! # });
//! ```

#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod chain;
mod error;
mod event;
mod layer;
mod logger;
pub mod metrics;
pub mod partitions;
mod query;
mod sink;
mod verify;
mod writer;

pub use chain::{chain_hash, ChainState, SealedEvent, GENESIS_HASH, HASH_LEN};
pub use error::{QueryError, RecordError, RetentionError, SinkError};
pub use event::{
    Action, ActionError, AuditEvent, Outcome, OutcomeError, MAX_ACTION_CHARS, MAX_RESOURCE_CHARS,
    MAX_USER_AGENT_CHARS,
};
pub use layer::{AuditLayer, AuditService, ResponseFuture};
pub use logger::AuditLogger;
pub use partitions::{MaintenanceReport, Retention};
pub use query::{AuditPage, AuditQuery, AuditQueryRequest, DEFAULT_LIMIT, MAX_LIMIT};
pub use sink::{
    AuditSink, CommitTurn, MemorySink, PostgresSink, SharedSink, TurnDone, DEFAULT_MEMORY_CAPACITY,
};
pub use verify::{Problem, ProblemKind, VerifyReport};
pub use writer::{AuditWriter, AuditWriterConfig, AuditWriterStats, QueueFullPolicy};
