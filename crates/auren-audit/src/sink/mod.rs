//! Where sealed events go: Postgres, or memory for the embedded default.
//!
//! A sink stores batches of [`SealedEvent`]s, answers queries and verifies its chains.
//! Writing a batch twice must store it once, because the writer retries a batch whose
//! outcome it could not learn. The writer keeps more than one batch in flight, so a sink
//! is told when a batch may commit ([`CommitTurn`]).

mod memory;
mod postgres;
mod turn;

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

pub use memory::{MemorySink, DEFAULT_MEMORY_CAPACITY};
pub use postgres::PostgresSink;
pub use turn::{CommitTurn, TurnDone};

use crate::{AuditPage, AuditQuery, SealedEvent, SinkError, VerifyReport};

/// Storage for audit events.
#[async_trait]
pub trait AuditSink: Debug + Send + Sync + 'static {
    /// Records that a writer opened the chain `chain_id`, before its first row arrives.
    ///
    /// # Errors
    ///
    /// [`SinkError`] when storage is unreachable; the writer retries.
    async fn open_chain(&self, chain_id: &str) -> Result<(), SinkError>;

    /// Stores a batch; storing the same batch again changes nothing.
    ///
    /// # Errors
    ///
    /// [`SinkError`] when storage is unreachable; the writer retries.
    async fn write_batch(&self, batch: &[SealedEvent]) -> Result<(), SinkError>;

    /// Stores a batch, making it durable only once `turn` has come, that is once every
    /// earlier batch of the chain is stored.
    ///
    /// The writer calls this with several batches in flight. A sink may do the work of
    /// the batch at once (send it, insert it in an open transaction) but must commit only
    /// after [`CommitTurn::wait`], so the stored part of a chain never has a hole: a crash
    /// loses at most the newest rows. The default waits for the turn, then calls
    /// [`write_batch`](Self::write_batch).
    ///
    /// # Errors
    ///
    /// [`SinkError`] when storage is unreachable; the writer retries with the same turn.
    async fn write_batch_in_turn(
        &self,
        batch: &[SealedEvent],
        turn: &CommitTurn,
    ) -> Result<(), SinkError> {
        turn.wait().await;
        self.write_batch(batch).await
    }

    /// One page of events, newest first.
    ///
    /// # Errors
    ///
    /// [`SinkError`] when storage is unreachable.
    async fn query(&self, query: &AuditQuery) -> Result<AuditPage, SinkError>;

    /// Verifies every chain, or only the rows with `from <= timestamp < to`.
    ///
    /// # Errors
    ///
    /// [`SinkError`] when storage is unreachable.
    async fn verify(
        &self,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> Result<VerifyReport, SinkError>;
}

/// A sink shared between the writer, the admin router and the command line.
pub type SharedSink = Arc<dyn AuditSink>;
