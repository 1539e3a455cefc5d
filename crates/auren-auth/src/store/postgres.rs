//! Keys in the `api_keys` table.

use async_trait::async_trait;
use auren_core::postgres::Pool;
use auren_core::{KeyId, Role};
use chrono::{DateTime, Utc};
use tokio_postgres::error::SqlState;
use tokio_postgres::Row;

use super::{KeyStore, Revocation, StoreError, StoredKey};
use crate::{KeyDigest, KeyRecord, KeyUpdate};

/// The channel on which the `api_keys` triggers announce changed keys (payload: the
/// digest in hex).
pub const NOTIFY_CHANNEL: &str = "auren_api_keys";

const COLUMNS: &str = "key_id, digest, display_prefix, user_id, description, role, \
    rate_limit_per_minute, created_at, expires_at, revoked_at, last_used_at";

/// A [`KeyStore`] in Postgres, table `api_keys` (migration `V10__api_keys.sql`).
///
/// The digest column is unique, so a lookup is one index probe. Every change that matters
/// to verification fires `NOTIFY auren_api_keys` from a trigger, which
/// [`InvalidationListener`](crate::InvalidationListener) turns into cache invalidations on
/// every instance, including changes made by the `auren` CLI.
///
/// # Example
///
/// ```no_run
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// use auren_auth::PostgresKeyStore;
///
/// let pool = auren_core::postgres::connect("postgres://postgres@127.0.0.1/auren")?;
/// let store = PostgresKeyStore::new(pool);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct PostgresKeyStore {
    pool: Pool,
}

impl PostgresKeyStore {
    /// A store on `pool`, whose database has the migrations applied.
    pub fn new(pool: Pool) -> Self {
        Self { pool }
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool.get().await.map_err(StoreError::Unavailable)
    }

    async fn one(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Option<StoredKey>, StoreError> {
        let client = self.client().await?;

        // Prepared once per pooled connection: a cache miss on the hot path (an unknown or
        // newly seen key) costs one round trip, with no parsing or planning.
        let statement = client
            .prepare_cached(sql)
            .await
            .map_err(StoreError::Query)?;
        let row = client
            .query_opt(&statement, params)
            .await
            .map_err(StoreError::Query)?;
        row.as_ref().map(stored_from_row).transpose()
    }
}

fn stored_from_row(row: &Row) -> Result<StoredKey, StoreError> {
    let key_id: String = row.try_get("key_id").map_err(StoreError::Query)?;
    let digest: Vec<u8> = row.try_get("digest").map_err(StoreError::Query)?;
    let role: String = row.try_get("role").map_err(StoreError::Query)?;
    let rate_limit: i32 = row
        .try_get("rate_limit_per_minute")
        .map_err(StoreError::Query)?;

    let record = KeyRecord {
        key_id: key_id
            .parse()
            .map_err(|_| StoreError::InvalidRow("key_id"))?,
        user_id: row.try_get("user_id").map_err(StoreError::Query)?,
        description: row.try_get("description").map_err(StoreError::Query)?,
        role: role.parse().map_err(|_| StoreError::InvalidRow("role"))?,
        rate_limit_per_minute: u32::try_from(rate_limit)
            .map_err(|_| StoreError::InvalidRow("rate_limit_per_minute"))?,
        display_prefix: row.try_get("display_prefix").map_err(StoreError::Query)?,
        created_at: row.try_get("created_at").map_err(StoreError::Query)?,
        expires_at: row.try_get("expires_at").map_err(StoreError::Query)?,
        revoked_at: row.try_get("revoked_at").map_err(StoreError::Query)?,
        last_used_at: row.try_get("last_used_at").map_err(StoreError::Query)?,
    };
    let digest = KeyDigest::from_bytes(&digest).ok_or(StoreError::InvalidRow("digest"))?;
    Ok(StoredKey { record, digest })
}

fn rate_limit_param(limit: u32) -> Result<i32, StoreError> {
    i32::try_from(limit).map_err(|_| StoreError::InvalidRow("rate_limit_per_minute"))
}

#[async_trait]
impl KeyStore for PostgresKeyStore {
    async fn insert(&self, record: &KeyRecord, digest: &KeyDigest) -> Result<(), StoreError> {
        let client = self.client().await?;
        insert_with(&client, record, digest).await
    }

    async fn find_by_digest(&self, digest: &KeyDigest) -> Result<Option<StoredKey>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM api_keys WHERE digest = $1");
        self.one(&sql, &[&digest.as_bytes().as_slice()]).await
    }

    async fn get(&self, key_id: KeyId) -> Result<Option<StoredKey>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM api_keys WHERE key_id = $1");
        self.one(&sql, &[&key_id.to_string()]).await
    }

    async fn list(&self, user_id: Option<&str>) -> Result<Vec<KeyRecord>, StoreError> {
        let client = self.client().await?;
        let sql = format!(
            "SELECT {COLUMNS} FROM api_keys WHERE ($1::TEXT IS NULL OR user_id = $1) \
             ORDER BY created_at, key_id"
        );
        let rows = client
            .query(&sql, &[&user_id])
            .await
            .map_err(StoreError::Query)?;
        rows.iter()
            .map(|row| stored_from_row(row).map(|stored| stored.record))
            .collect()
    }

    async fn revoke(&self, key_id: KeyId, at: DateTime<Utc>) -> Result<Revocation, StoreError> {
        let sql = format!(
            "UPDATE api_keys SET revoked_at = $2 WHERE key_id = $1 AND revoked_at IS NULL \
             RETURNING {COLUMNS}"
        );
        if let Some(stored) = self.one(&sql, &[&key_id.to_string(), &at]).await? {
            return Ok(Revocation::Revoked(stored));
        }
        Ok(match self.get(key_id).await? {
            Some(stored) => Revocation::AlreadyRevoked(stored),
            None => Revocation::NotFound,
        })
    }

    async fn expire_by(
        &self,
        key_id: KeyId,
        at: DateTime<Utc>,
    ) -> Result<Option<StoredKey>, StoreError> {
        let sql = format!(
            "UPDATE api_keys SET expires_at = LEAST(COALESCE(expires_at, $2), $2) \
             WHERE key_id = $1 RETURNING {COLUMNS}"
        );
        self.one(&sql, &[&key_id.to_string(), &at]).await
    }

    async fn update(
        &self,
        key_id: KeyId,
        update: &KeyUpdate,
    ) -> Result<Option<StoredKey>, StoreError> {
        let limit = update
            .rate_limit_per_minute
            .map(rate_limit_param)
            .transpose()?;
        let sql = format!(
            "UPDATE api_keys SET rate_limit_per_minute = COALESCE($2, rate_limit_per_minute), \
             description = COALESCE($3, description) WHERE key_id = $1 RETURNING {COLUMNS}"
        );
        self.one(&sql, &[&key_id.to_string(), &limit, &update.description])
            .await
    }

    async fn touch(&self, key_id: KeyId, at: DateTime<Utc>) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE api_keys SET last_used_at = $2 WHERE key_id = $1 \
                 AND (last_used_at IS NULL OR last_used_at < $2)",
                &[&key_id.to_string(), &at],
            )
            .await
            .map_err(StoreError::Query)?;
        Ok(())
    }

    async fn has_active_admin(&self, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_one(ACTIVE_ADMIN_EXISTS, &[&Role::Admin.as_str(), &now])
            .await
            .map_err(StoreError::Query)?;
        row.try_get(0).map_err(StoreError::Query)
    }

    async fn insert_if_no_active_admin(
        &self,
        record: &KeyRecord,
        digest: &KeyDigest,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(StoreError::Query)?;

        // Held until the transaction ends: racing callers check and insert one at a time,
        // and each sees the admin key the one before it committed.
        transaction
            .execute("SELECT pg_advisory_xact_lock($1)", &[&FIRST_ADMIN_LOCK])
            .await
            .map_err(StoreError::Query)?;
        let row = transaction
            .query_one(ACTIVE_ADMIN_EXISTS, &[&Role::Admin.as_str(), &now])
            .await
            .map_err(StoreError::Query)?;
        if row.try_get::<_, bool>(0).map_err(StoreError::Query)? {
            return Ok(false);
        }

        insert_with(&transaction, record, digest).await?;
        transaction.commit().await.map_err(StoreError::Query)?;
        Ok(true)
    }
}

/// The advisory lock that serialises creating the first admin key: the ASCII of `aurenadm`.
const FIRST_ADMIN_LOCK: i64 = 0x6175_7265_6e61_646d;

/// Whether an admin key is active at `$2`; `$1` is the admin role's name.
const ACTIVE_ADMIN_EXISTS: &str = "SELECT EXISTS (SELECT 1 FROM api_keys WHERE role = $1 \
    AND (revoked_at IS NULL OR revoked_at > $2) \
    AND (expires_at IS NULL OR expires_at > $2))";

/// Inserts `record` under `digest` through `client` (a connection or a transaction).
async fn insert_with(
    client: &impl deadpool_postgres::GenericClient,
    record: &KeyRecord,
    digest: &KeyDigest,
) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO api_keys ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    );
    let inserted = client
        .execute(
            &sql,
            &[
                &record.key_id.to_string(),
                &digest.as_bytes().as_slice(),
                &record.display_prefix,
                &record.user_id,
                &record.description,
                &record.role.as_str(),
                &rate_limit_param(record.rate_limit_per_minute)?,
                &record.created_at,
                &record.expires_at,
                &record.revoked_at,
                &record.last_used_at,
            ],
        )
        .await;
    match inserted {
        Ok(_) => Ok(()),
        Err(error) if error.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
            Err(StoreError::Duplicate)
        }
        Err(error) => Err(StoreError::Query(error)),
    }
}
