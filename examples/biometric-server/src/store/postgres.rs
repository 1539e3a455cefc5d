//! Readings kept in the Postgres table `heart_rate_readings`.

use auren_core::postgres::{Pool, PostgresError};
use tokio_postgres::Row;

use crate::readings::HeartRateReading;
use crate::store::{ReadingStore, StoreError};

/// Readings in Postgres, in the table created by `migrations/V1__heart_rate_readings.sql`.
#[derive(Debug, Clone)]
pub struct PostgresReadingStore {
    pool: Pool,
}

impl PostgresReadingStore {
    /// A store over `pool`; the migrations must have run.
    pub fn new(pool: Pool) -> Self {
        Self { pool }
    }
}

#[async_trait::async_trait]
impl ReadingStore for PostgresReadingStore {
    async fn insert(&self, reading: &HeartRateReading) -> Result<(), StoreError> {
        let client = self.pool.get().await.map_err(PostgresError::Unavailable)?;
        client
            .execute(
                "INSERT INTO heart_rate_readings (id, user_id, bpm, note, recorded_at, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    &reading.id.to_string(),
                    &reading.user_id,
                    &i16::try_from(reading.bpm).map_err(|_| StoreError::Corrupt("bpm"))?,
                    &reading.note,
                    &reading.recorded_at,
                    &reading.created_at,
                ],
            )
            .await
            .map_err(PostgresError::Query)?;
        Ok(())
    }

    async fn list(&self, user_id: &str, limit: usize) -> Result<Vec<HeartRateReading>, StoreError> {
        let client = self.pool.get().await.map_err(PostgresError::Unavailable)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = client
            .query(
                "SELECT id, user_id, bpm, note, recorded_at, created_at \
                 FROM heart_rate_readings WHERE user_id = $1 \
                 ORDER BY recorded_at DESC, id DESC LIMIT $2",
                &[&user_id, &limit],
            )
            .await
            .map_err(PostgresError::Query)?;
        rows.iter().map(reading_from_row).collect()
    }
}

fn reading_from_row(row: &Row) -> Result<HeartRateReading, StoreError> {
    let id: String = row.get("id");
    let bpm: i16 = row.get("bpm");
    Ok(HeartRateReading {
        id: id.parse().map_err(|_| StoreError::Corrupt("id"))?,
        user_id: row.get("user_id"),
        bpm: u16::try_from(bpm).map_err(|_| StoreError::Corrupt("bpm"))?,
        note: row.get("note"),
        recorded_at: row.get("recorded_at"),
        created_at: row.get("created_at"),
    })
}
