//! Where readings are kept: in memory, or in Postgres.

mod memory;
mod postgres;

use std::fmt::Debug;

pub use memory::InMemoryReadingStore;
pub use postgres::PostgresReadingStore;

use crate::readings::HeartRateReading;

/// A place to keep heart-rate readings.
#[async_trait::async_trait]
pub trait ReadingStore: Debug + Send + Sync + 'static {
    /// Stores a reading.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the backend cannot be reached.
    async fn insert(&self, reading: &HeartRateReading) -> Result<(), StoreError>;

    /// The newest `limit` readings of `user_id`, newest first.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the backend cannot be reached.
    async fn list(&self, user_id: &str, limit: usize) -> Result<Vec<HeartRateReading>, StoreError>;
}

/// A reading store that could not do its work.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Postgres could not be reached or refused the statement.
    #[error("the readings database failed")]
    Postgres(#[from] auren_core::postgres::PostgresError),
    /// A stored row could not be read back.
    #[error("a stored reading is not valid: {0}")]
    Corrupt(&'static str),
}
