//! What can go wrong while recording, storing, querying or verifying events.

/// A sink could not store or read events.
///
/// Messages never contain a connection URL or an event's fields.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SinkError {
    /// No Postgres connection could be taken from the pool.
    #[error("no Postgres connection is available")]
    Unavailable(#[source] deadpool_postgres::PoolError),
    /// A Postgres statement failed.
    #[error("a Postgres statement failed")]
    Postgres(#[source] tokio_postgres::Error),
    /// A stored row could not be read back as an event.
    #[error("a stored audit row is malformed: {0}")]
    Malformed(String),
}

/// An event that could not be handed to the writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The queue is full and the policy is [`QueueFullPolicy::Reject`](crate::QueueFullPolicy).
    #[error("the audit queue is full")]
    QueueFull,
    /// The writer has shut down.
    #[error("the audit writer has shut down")]
    Closed,
}

/// A query that cannot run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// A filter, the limit or the cursor is invalid; the message says which.
    #[error("{0}")]
    Invalid(String),
    /// The sink failed.
    #[error(transparent)]
    Sink(#[from] SinkError),
}

/// A retention that is not allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RetentionError {
    /// Less than six years, without the explicit override.
    #[error(
        "audit records are kept at least 72 months (six years); {months} months needs the override"
    )]
    TooShort {
        /// The months asked for.
        months: u32,
    },
    /// Zero months.
    #[error("a retention of zero months would drop every record")]
    Zero,
}
