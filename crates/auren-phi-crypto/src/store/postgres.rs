//! Wrapped data keys in the Postgres table `phi_encryption_keys`.

use auren_core::postgres::{Pool, PostgresError};
use tokio_postgres::error::SqlState;
use tokio_postgres::Row;

use crate::data_key::{DataKeyId, DataKeyState, StoredDataKey};
use crate::error::{KeyStoreError, PhiError};
use crate::store::{KeyStore, Rewrap};

const COLUMNS: &str = "id, version, wrapped_key, state, created_at, rotated_at";

/// Wrapped data keys in Postgres, in the table created by
/// `migrations/V20__phi_encryption_keys.sql`.
///
/// A partial unique index keeps at most one key active, so instances that start or
/// rotate at the same time cannot both win.
///
/// # Example
///
/// ```no_run
/// use auren_phi_crypto::{MasterKey, PhiCrypto, PostgresKeyStore};
///
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// let pool = auren_core::postgres::connect("postgres://postgres@127.0.0.1/auren")?;
/// auren_core::postgres::run_migrations(&pool).await?;
/// let master = MasterKey::from_base64(&std::env::var("PHI_MASTER_KEY")?)?;
/// let phi = PhiCrypto::builder(master, PostgresKeyStore::new(pool)).build().await?;
/// # drop(phi);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct PostgresKeyStore {
    pool: Pool,
}

impl PostgresKeyStore {
    /// A store over `pool`; the migrations must have run.
    pub fn new(pool: Pool) -> Self {
        Self { pool }
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, KeyStoreError> {
        Ok(self.pool.get().await.map_err(PostgresError::Unavailable)?)
    }
}

fn query_error(error: tokio_postgres::Error) -> KeyStoreError {
    if error.code() == Some(&SqlState::UNIQUE_VIOLATION) {
        return KeyStoreError::Conflict;
    }
    KeyStoreError::Postgres(PostgresError::Query(error))
}

#[async_trait::async_trait]
impl KeyStore for PostgresKeyStore {
    async fn active(&self) -> Result<Option<StoredDataKey>, KeyStoreError> {
        let client = self.client().await?;
        let sql = format!("SELECT {COLUMNS} FROM phi_encryption_keys WHERE state = 'active'");
        let row = client.query_opt(&sql, &[]).await.map_err(query_error)?;
        row.as_ref().map(key_from_row).transpose()
    }

    async fn get(&self, id: DataKeyId) -> Result<Option<StoredDataKey>, KeyStoreError> {
        let client = self.client().await?;
        let sql = format!("SELECT {COLUMNS} FROM phi_encryption_keys WHERE id = $1");
        let row = client
            .query_opt(&sql, &[&id.to_string()])
            .await
            .map_err(query_error)?;
        row.as_ref().map(key_from_row).transpose()
    }

    async fn list(&self) -> Result<Vec<StoredDataKey>, KeyStoreError> {
        let client = self.client().await?;
        let sql = format!("SELECT {COLUMNS} FROM phi_encryption_keys ORDER BY version");
        let rows = client.query(&sql, &[]).await.map_err(query_error)?;
        rows.iter().map(key_from_row).collect()
    }

    async fn create_first(&self, first: StoredDataKey) -> Result<StoredDataKey, KeyStoreError> {
        let client = self.client().await?;

        // Of instances starting together, the first insert wins; the others find its key.
        client
            .execute(
                "INSERT INTO phi_encryption_keys (id, version, wrapped_key, state, created_at) \
                 SELECT $1, $2, $3, 'active', $4 \
                 WHERE NOT EXISTS (SELECT 1 FROM phi_encryption_keys) \
                 ON CONFLICT DO NOTHING",
                &[
                    &first.id.to_string(),
                    &version_param(first.version)?,
                    &first.wrapped,
                    &first.created_at,
                ],
            )
            .await
            .map_err(query_error)?;
        drop(client);

        self.active().await?.ok_or(KeyStoreError::Conflict)
    }

    async fn rotate(&self, retiring: DataKeyId, next: StoredDataKey) -> Result<(), KeyStoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(query_error)?;

        let retired = transaction
            .execute(
                "UPDATE phi_encryption_keys SET state = 'retired', rotated_at = now() \
                 WHERE id = $1 AND state = 'active'",
                &[&retiring.to_string()],
            )
            .await
            .map_err(query_error)?;
        if retired != 1 {
            return Err(KeyStoreError::Conflict);
        }

        transaction
            .execute(
                "INSERT INTO phi_encryption_keys (id, version, wrapped_key, state, created_at) \
                 VALUES ($1, $2, $3, 'active', $4)",
                &[
                    &next.id.to_string(),
                    &version_param(next.version)?,
                    &next.wrapped,
                    &next.created_at,
                ],
            )
            .await
            .map_err(query_error)?;
        transaction.commit().await.map_err(query_error)?;
        Ok(())
    }

    async fn rewrap_all(&self, rewrap: Rewrap<'_>) -> Result<usize, PhiError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(query_error)?;

        // Locks every key row (and blocks new keys through the table lock) until commit,
        // so no key is added or re-wrapped by someone else in between.
        transaction
            .batch_execute("LOCK TABLE phi_encryption_keys IN SHARE ROW EXCLUSIVE MODE")
            .await
            .map_err(query_error)?;
        let sql = format!("SELECT {COLUMNS} FROM phi_encryption_keys ORDER BY version");
        let rows = transaction.query(&sql, &[]).await.map_err(query_error)?;
        let keys = rows
            .iter()
            .map(key_from_row)
            .collect::<Result<Vec<_>, _>>()?;

        for key in &keys {
            let wrapped = rewrap(key)?;
            transaction
                .execute(
                    "UPDATE phi_encryption_keys SET wrapped_key = $2, rotated_at = now() \
                     WHERE id = $1",
                    &[&key.id.to_string(), &wrapped],
                )
                .await
                .map_err(query_error)?;
        }
        transaction.commit().await.map_err(query_error)?;
        Ok(keys.len())
    }
}

fn version_param(version: u32) -> Result<i32, KeyStoreError> {
    i32::try_from(version).map_err(|_| KeyStoreError::Corrupt("version"))
}

fn key_from_row(row: &Row) -> Result<StoredDataKey, KeyStoreError> {
    let id: String = row
        .try_get("id")
        .map_err(|_| KeyStoreError::Corrupt("id"))?;
    let version: i32 = row
        .try_get("version")
        .map_err(|_| KeyStoreError::Corrupt("version"))?;
    let state: String = row
        .try_get("state")
        .map_err(|_| KeyStoreError::Corrupt("state"))?;

    Ok(StoredDataKey {
        id: id.parse().map_err(|_| KeyStoreError::Corrupt("id"))?,
        version: u32::try_from(version).map_err(|_| KeyStoreError::Corrupt("version"))?,
        wrapped: row
            .try_get("wrapped_key")
            .map_err(|_| KeyStoreError::Corrupt("wrapped_key"))?,
        state: DataKeyState::parse(&state).ok_or(KeyStoreError::Corrupt("state"))?,
        created_at: row
            .try_get("created_at")
            .map_err(|_| KeyStoreError::Corrupt("created_at"))?,
        rotated_at: row
            .try_get("rotated_at")
            .map_err(|_| KeyStoreError::Corrupt("rotated_at"))?,
    })
}
