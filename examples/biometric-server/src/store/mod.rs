//! Where readings are kept: in memory, or in Postgres.
//!
//! Both stores seal `bpm` and `note` with auren-phi-crypto before keeping them and open
//! them again on the way out, so every caller of a [`ReadingStore`] (the HTTP handlers,
//! the webhook receiver) stores PHI encrypted without doing anything for it.

mod memory;
mod postgres;
mod sealed;

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
    Postgres(#[from] auren::core::postgres::PostgresError),
    /// A stored row could not be read back.
    #[error("a stored reading is not valid: {0}")]
    Corrupt(&'static str),
    /// Sealing or opening the reading's PHI failed.
    #[error("the reading's PHI could not be sealed or opened: {0}")]
    Phi(#[from] auren::phi_crypto::PhiError),
}
