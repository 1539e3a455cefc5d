//! Re-encryption: moves the values of a host's table that retired data keys sealed to
//! the active key, in batches, resumable.

use auren_core::postgres::{Pool, PostgresError};

use crate::error::PhiError;
use crate::phi::{PhiContext, PhiCrypto};

/// Rows read per batch when the caller does not choose.
pub const DEFAULT_BATCH_SIZE: usize = 500;

/// A table of the host whose sealed columns are to be re-encrypted.
///
/// Identifiers must match `[a-z_][a-z0-9_]{0,62}`; they are checked when given and
/// quoted in every statement, so no caller input can change the SQL.
///
/// # Example
///
/// ```
/// use auren_phi_crypto::ReencryptTarget;
///
/// let target = ReencryptTarget::new("heart_rate_readings", "id", "user_id")
///     .unwrap()
///     .column("bpm_sealed", Some("bpm"))
///     .unwrap()
///     .column("note_sealed", Some("note"))
///     .unwrap();
/// assert_eq!(target.table(), "heart_rate_readings");
/// assert!(ReencryptTarget::new("readings; DROP TABLE x", "id", "user_id").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReencryptTarget {
    table: String,
    id_column: String,
    user_column: String,
    columns: Vec<SealedColumn>,
}

/// One sealed column and the field name its values are bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SealedColumn {
    column: String,
    field: Option<String>,
}

impl ReencryptTarget {
    /// The table `table`, keyed (and walked in order) by `id_column`, whose rows belong
    /// to the user in `user_column`.
    ///
    /// # Errors
    ///
    /// [`ReencryptError::InvalidIdentifier`] naming the first identifier that does not
    /// match the pattern.
    pub fn new(table: &str, id_column: &str, user_column: &str) -> Result<Self, ReencryptError> {
        Ok(Self {
            table: identifier(table)?,
            id_column: identifier(id_column)?,
            user_column: identifier(user_column)?,
            columns: Vec::new(),
        })
    }

    /// Adds the sealed column `column`, whose values were sealed with the field name
    /// `field` (or none).
    ///
    /// # Errors
    ///
    /// [`ReencryptError::InvalidIdentifier`] when `column` does not match the pattern.
    pub fn column(mut self, column: &str, field: Option<&str>) -> Result<Self, ReencryptError> {
        self.columns.push(SealedColumn {
            column: identifier(column)?,
            field: field.map(str::to_owned),
        });
        Ok(self)
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }
}

fn identifier(name: &str) -> Result<String, ReencryptError> {
    let mut chars = name.chars();
    let valid_start = chars
        .next()
        .is_some_and(|first| first.is_ascii_lowercase() || first == '_');
    let valid_rest = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if valid_start && valid_rest && name.len() <= 63 {
        Ok(name.to_owned())
    } else {
        Err(ReencryptError::InvalidIdentifier(name.to_owned()))
    }
}

/// How a re-encryption run proceeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReencryptOptions {
    /// Rows read per batch.
    pub batch_size: usize,
    /// Start after the row with this id (as text): the `last_id` of an interrupted run.
    pub resume_after: Option<String>,
}

impl Default for ReencryptOptions {
    fn default() -> Self {
        Self {
            batch_size: DEFAULT_BATCH_SIZE,
            resume_after: None,
        }
    }
}

/// How far a run has come; passed to the progress callback after every batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReencryptProgress {
    /// Rows read so far.
    pub rows_scanned: u64,
    /// Values re-sealed under the active key so far.
    pub values_resealed: u64,
    /// The id (as text) of the last row done: resume after it.
    pub last_id: Option<String>,
}

/// A re-encryption that could not finish.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReencryptError {
    /// A table or column name does not match `[a-z_][a-z0-9_]{0,62}`.
    #[error("invalid SQL identifier {0:?}: expected [a-z_][a-z0-9_]{{0,62}}")]
    InvalidIdentifier(String),
    /// Postgres failed; rows before `last_id` are done, so the run can resume.
    #[error("Postgres failed during re-encryption")]
    Postgres(#[from] PostgresError),
    /// One value could not be opened; rows before it are done.
    #[error("the value in row {id}, column {column} cannot be re-encrypted: {source}")]
    Value {
        /// The row's id, as text.
        id: String,
        /// The column.
        column: String,
        /// Why.
        source: PhiError,
    },
    /// The active key could not be read.
    #[error(transparent)]
    Phi(#[from] PhiError),
}

/// Counts the rows of `target`, for a progress bar.
///
/// # Errors
///
/// [`ReencryptError::Postgres`] when the query fails.
pub async fn count_rows(pool: &Pool, target: &ReencryptTarget) -> Result<u64, ReencryptError> {
    let client = pool.get().await.map_err(PostgresError::Unavailable)?;
    let sql = format!("SELECT count(*) FROM \"{}\"", target.table);
    let row = client
        .query_one(&sql, &[])
        .await
        .map_err(PostgresError::Query)?;
    Ok(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
}

/// Walks `target` in order of its id column and re-seals every value that a key other
/// than the active one sealed. Calls `on_batch` after each batch.
///
/// Each batch is one transaction, and each update only applies if the value is still the
/// one read, so a run can be stopped at any point and started again (from
/// `resume_after`, or from the start: values already under the active key are skipped).
/// Values written concurrently by the host are never overwritten.
///
/// # Errors
///
/// [`ReencryptError::Value`] naming the row and column of a value that cannot be opened
/// (tampered, wrong context, unknown key), [`ReencryptError::Postgres`] when Postgres
/// fails. [`ReencryptProgress::last_id`] of the last callback says where to resume.
pub async fn reencrypt(
    phi: &PhiCrypto,
    pool: &Pool,
    target: &ReencryptTarget,
    options: &ReencryptOptions,
    mut on_batch: impl FnMut(&ReencryptProgress) + Send,
) -> Result<ReencryptProgress, ReencryptError> {
    let mut progress = ReencryptProgress {
        last_id: options.resume_after.clone(),
        ..ReencryptProgress::default()
    };
    let batch_size = i64::try_from(options.batch_size.max(1)).unwrap_or(i64::MAX);

    loop {
        let rows = read_batch(pool, target, progress.last_id.as_deref(), batch_size).await?;
        let Some(last) = rows.last() else {
            break;
        };
        let last_id = last.id.clone();

        progress.values_resealed += reseal_batch(phi, pool, target, &rows).await?;
        progress.rows_scanned += rows.len() as u64;
        progress.last_id = Some(last_id);
        tracing::debug!(
            table = %target.table,
            rows = progress.rows_scanned,
            resealed = progress.values_resealed,
            "re-encryption batch done"
        );
        on_batch(&progress);
    }
    Ok(progress)
}

struct BatchRow {
    id: String,
    user_id: String,
    values: Vec<Option<String>>,
}

async fn read_batch(
    pool: &Pool,
    target: &ReencryptTarget,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<BatchRow>, ReencryptError> {
    let client = pool.get().await.map_err(PostgresError::Unavailable)?;
    let columns: String = target
        .columns
        .iter()
        .map(|column| format!(", \"{}\"::text", column.column))
        .collect();
    let (id, user, table) = (&target.id_column, &target.user_column, &target.table);
    let select = format!("SELECT \"{id}\"::text, \"{user}\"::text{columns} FROM \"{table}\"");

    let rows = match after {
        Some(after) => {
            let sql = format!("{select} WHERE \"{id}\"::text > $1 ORDER BY 1 LIMIT $2");
            client.query(&sql, &[&after, &limit]).await
        }
        None => {
            let sql = format!("{select} ORDER BY 1 LIMIT $1");
            client.query(&sql, &[&limit]).await
        }
    }
    .map_err(PostgresError::Query)?;

    Ok(rows
        .iter()
        .map(|row| BatchRow {
            id: row.get(0),
            user_id: row.get(1),
            values: (0..target.columns.len()).map(|i| row.get(i + 2)).collect(),
        })
        .collect())
}

async fn reseal_batch(
    phi: &PhiCrypto,
    pool: &Pool,
    target: &ReencryptTarget,
    rows: &[BatchRow],
) -> Result<u64, ReencryptError> {
    let mut updates = Vec::new();
    for row in rows {
        for (column, value) in target.columns.iter().zip(&row.values) {
            let Some(value) = value else { continue };
            let mut context = PhiContext::user(&row.user_id);
            if let Some(field) = &column.field {
                context = context.field(field);
            }
            let resealed =
                phi.reseal(value, context)
                    .await
                    .map_err(|source| ReencryptError::Value {
                        id: row.id.clone(),
                        column: column.column.clone(),
                        source,
                    })?;
            if let Some(resealed) = resealed {
                updates.push((&row.id, &column.column, value, resealed));
            }
        }
    }
    if updates.is_empty() {
        return Ok(0);
    }

    let mut client = pool.get().await.map_err(PostgresError::Unavailable)?;
    let transaction = client.transaction().await.map_err(PostgresError::Query)?;
    let mut applied = 0;
    for (id, column, old, new) in &updates {
        let sql = format!(
            "UPDATE \"{}\" SET \"{column}\" = $1 WHERE \"{}\"::text = $2 AND \"{column}\" = $3",
            target.table, target.id_column
        );
        applied += transaction
            .execute(&sql, &[new, id, old])
            .await
            .map_err(PostgresError::Query)?;
    }
    transaction.commit().await.map_err(PostgresError::Query)?;
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_strict() {
        for good in ["t", "_t", "heart_rate_readings", "col_2"] {
            assert!(identifier(good).is_ok(), "{good}");
        }
        let too_long = "a".repeat(64);
        for bad in [
            "",
            "T",
            "2t",
            "t-1",
            "t\"",
            "t;drop",
            "schema.t",
            too_long.as_str(),
        ] {
            assert!(identifier(bad).is_err(), "{bad}");
        }
    }
}
