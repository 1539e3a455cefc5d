//! Readings kept in the Postgres table `heart_rate_readings`, their PHI sealed.

use auren::core::postgres::{Pool, PostgresError};
use auren::phi_crypto::PhiCrypto;
use tokio_postgres::Row;

use crate::readings::HeartRateReading;
use crate::store::sealed::SealedReading;
use crate::store::{ReadingStore, StoreError};

/// Stores one sealed reading.
const INSERT_READING: &str = "INSERT INTO heart_rate_readings \
    (id, user_id, bpm_sealed, note_sealed, recorded_at, created_at) \
    VALUES ($1, $2, $3, $4, $5, $6)";

/// A user's newest readings. Both statements are prepared once per pooled connection
/// (`prepare_cached`), so a request costs one round trip and no parsing or planning.
const LIST_READINGS: &str = "SELECT id, user_id, bpm_sealed, note_sealed, recorded_at, \
    created_at FROM heart_rate_readings WHERE user_id = $1 \
    ORDER BY recorded_at DESC, id DESC LIMIT $2";

/// Readings in Postgres, in the table created by `migrations/V1__heart_rate_readings.sql`.
///
/// `bpm` and `note` are stored in the TEXT columns `bpm_sealed` and `note_sealed`, sealed
/// for the row's user and the field name; a database dump shows no PHI.
#[derive(Debug, Clone)]
pub struct PostgresReadingStore {
    pool: Pool,
    phi: PhiCrypto,
}

impl PostgresReadingStore {
    /// A store over `pool` that seals with `phi`; the migrations must have run.
    pub fn new(pool: Pool, phi: PhiCrypto) -> Self {
        Self { pool, phi }
    }
}

#[async_trait::async_trait]
impl ReadingStore for PostgresReadingStore {
    async fn insert(&self, reading: &HeartRateReading) -> Result<(), StoreError> {
        let sealed = SealedReading::seal(&self.phi, reading).await?;

        let client = self.pool.get().await.map_err(PostgresError::Unavailable)?;
        let statement = client
            .prepare_cached(INSERT_READING)
            .await
            .map_err(PostgresError::Query)?;
        client
            .execute(
                &statement,
                &[
                    &sealed.id.to_string(),
                    &sealed.user_id,
                    &sealed.bpm_sealed,
                    &sealed.note_sealed,
                    &sealed.recorded_at,
                    &sealed.created_at,
                ],
            )
            .await
            .map_err(PostgresError::Query)?;
        Ok(())
    }

    async fn list(&self, user_id: &str, limit: usize) -> Result<Vec<HeartRateReading>, StoreError> {
        let client = self.pool.get().await.map_err(PostgresError::Unavailable)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let statement = client
            .prepare_cached(LIST_READINGS)
            .await
            .map_err(PostgresError::Query)?;
        let rows = client
            .query(&statement, &[&user_id, &limit])
            .await
            .map_err(PostgresError::Query)?;
        drop(client);

        let mut readings = Vec::with_capacity(rows.len());
        for row in &rows {
            readings.push(sealed_from_row(row)?.open(&self.phi).await?);
        }
        Ok(readings)
    }
}

fn sealed_from_row(row: &Row) -> Result<SealedReading, StoreError> {
    let id: String = row.get("id");
    Ok(SealedReading {
        id: id.parse().map_err(|_| StoreError::Corrupt("id"))?,
        user_id: row.get("user_id"),
        bpm_sealed: row.get("bpm_sealed"),
        note_sealed: row.get("note_sealed"),
        recorded_at: row.get("recorded_at"),
        created_at: row.get("created_at"),
    })
}
