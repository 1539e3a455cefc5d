//! Monthly partitions of `phi_audit_log`: created ahead of time, dropped after retention.
//!
//! Partitions are named `phi_audit_log_pYYYYMM` and hold `[first of month, first of next
//! month)` in UTC. Only the retention job removes audit rows, and only by dropping a whole
//! partition whose every row is older than the retention. Before dropping, it records for
//! each chain the last sequence number and hash it removes (`phi_audit_anchors`), so the
//! rows that remain still verify.

use chrono::{DateTime, Datelike, Months, NaiveDate, TimeZone, Utc};
use deadpool_postgres::Pool;
use serde::Serialize;

use crate::{RetentionError, SinkError};

/// How long audit records are kept by default: six years (HIPAA).
pub const DEFAULT_RETENTION_MONTHS: u32 = 72;

/// Months of partitions created ahead of the current one by default.
pub const DEFAULT_MONTHS_AHEAD: u32 = 3;

/// Serialises partition creation and dropping between instances.
const PARTITION_LOCK_ID: i64 = 0x6175_7265_6e5f_6170;

const PARENT: &str = "phi_audit_log";

/// How long records are kept, never below six years without an explicit override.
///
/// ```
/// use auren_audit::Retention;
///
/// assert_eq!(Retention::default().months(), 72);
/// assert!(Retention::months_checked(12).is_err());
/// assert_eq!(Retention::months_overriding_minimum(12).unwrap().months(), 12);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    months: u32,
}

impl Retention {
    /// A retention of `months`, at least [`DEFAULT_RETENTION_MONTHS`].
    ///
    /// # Errors
    ///
    /// [`RetentionError::TooShort`] below six years.
    pub fn months_checked(months: u32) -> Result<Self, RetentionError> {
        if months < DEFAULT_RETENTION_MONTHS {
            return Err(RetentionError::TooShort { months });
        }
        Ok(Self { months })
    }

    /// A retention of `months`, allowed below six years. Only for a host whose legal
    /// counsel says so; HIPAA asks for six.
    ///
    /// # Errors
    ///
    /// [`RetentionError::Zero`] for zero months.
    pub fn months_overriding_minimum(months: u32) -> Result<Self, RetentionError> {
        if months == 0 {
            return Err(RetentionError::Zero);
        }
        Ok(Self { months })
    }

    /// The retention in months.
    pub fn months(&self) -> u32 {
        self.months
    }

    /// The instant before which a partition must end to be dropped.
    pub fn cutoff(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now.checked_sub_months(Months::new(self.months))
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            months: DEFAULT_RETENTION_MONTHS,
        }
    }
}

/// What a maintenance run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MaintenanceReport {
    /// Partitions created.
    pub created: Vec<String>,
    /// Partitions dropped.
    pub dropped: Vec<String>,
}

/// The first day of the month of `at`.
pub(crate) fn month_of(at: DateTime<Utc>) -> NaiveDate {
    NaiveDate::from_ymd_opt(at.year(), at.month(), 1).unwrap_or(NaiveDate::MIN)
}

/// The name of the partition holding `month`.
pub fn partition_name(month: NaiveDate) -> String {
    format!("{PARENT}_p{:04}{:02}", month.year(), month.month())
}

fn parse_partition_name(name: &str) -> Option<NaiveDate> {
    let digits = name.strip_prefix(PARENT)?.strip_prefix("_p")?;
    if digits.len() != 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    NaiveDate::from_ymd_opt(digits[..4].parse().ok()?, digits[4..].parse().ok()?, 1)
}

fn next_month(month: NaiveDate) -> NaiveDate {
    month.checked_add_months(Months::new(1)).unwrap_or(month)
}

fn start_of(month: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&month.and_hms_opt(0, 0, 0).unwrap_or_default())
}

/// Creates the partition for `month` unless it exists; returns whether it was created.
///
/// # Errors
///
/// [`SinkError`] when Postgres is unreachable or refuses.
pub async fn ensure_partition(pool: &Pool, month: NaiveDate) -> Result<bool, SinkError> {
    let mut client = pool.get().await.map_err(SinkError::Unavailable)?;
    let transaction = client.transaction().await.map_err(SinkError::Postgres)?;
    transaction
        .execute("SELECT pg_advisory_xact_lock($1)", &[&PARTITION_LOCK_ID])
        .await
        .map_err(SinkError::Postgres)?;

    let name = partition_name(month);
    let exists = transaction
        .query_opt("SELECT 1 FROM pg_class WHERE relname = $1", &[&name])
        .await
        .map_err(SinkError::Postgres)?
        .is_some();
    if !exists {
        // The name and bounds come from a date, never from input; DDL takes no parameters.
        let statement = format!(
            "CREATE TABLE {name} PARTITION OF {PARENT} FOR VALUES FROM ('{}') TO ('{}')",
            start_of(month).to_rfc3339(),
            start_of(next_month(month)).to_rfc3339(),
        );
        transaction
            .batch_execute(&statement)
            .await
            .map_err(SinkError::Postgres)?;
        tracing::debug!(partition = %name, "audit partition created");
    }
    transaction.commit().await.map_err(SinkError::Postgres)?;
    Ok(!exists)
}

/// Creates the partitions from last month to `months_ahead` months after `now`.
///
/// # Errors
///
/// [`SinkError`] when Postgres is unreachable or refuses.
pub async fn create_ahead(
    pool: &Pool,
    now: DateTime<Utc>,
    months_ahead: u32,
) -> Result<Vec<String>, SinkError> {
    let current = month_of(now);
    let mut month = current
        .checked_sub_months(Months::new(1))
        .unwrap_or(current);
    let last = current
        .checked_add_months(Months::new(months_ahead))
        .unwrap_or(current);

    let mut created = Vec::new();
    while month <= last {
        if ensure_partition(pool, month).await? {
            created.push(partition_name(month));
        }
        month = next_month(month);
    }
    Ok(created)
}

/// The partitions that exist, oldest first.
///
/// # Errors
///
/// [`SinkError`] when Postgres is unreachable.
pub async fn list_partitions(pool: &Pool) -> Result<Vec<String>, SinkError> {
    let client = pool.get().await.map_err(SinkError::Unavailable)?;
    let rows = client
        .query(
            "SELECT c.relname FROM pg_inherits i \
             JOIN pg_class c ON c.oid = i.inhrelid \
             JOIN pg_class p ON p.oid = i.inhparent \
             WHERE p.relname = $1 ORDER BY c.relname",
            &[&PARENT],
        )
        .await
        .map_err(SinkError::Postgres)?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}

/// Drops every partition that ends at or before `retention.cutoff(now)`, recording the
/// chain anchors of each first.
///
/// # Errors
///
/// [`SinkError`] when Postgres is unreachable or refuses; partitions dropped before the
/// failure stay dropped, each with its anchors.
pub async fn drop_expired(
    pool: &Pool,
    now: DateTime<Utc>,
    retention: Retention,
) -> Result<Vec<String>, SinkError> {
    let cutoff = retention.cutoff(now);
    let mut dropped = Vec::new();

    for name in list_partitions(pool).await? {
        let Some(month) = parse_partition_name(&name) else {
            continue;
        };
        if start_of(next_month(month)) > cutoff {
            continue;
        }
        drop_partition(pool, &name, month).await?;
        tracing::debug!(partition = %name, "expired audit partition dropped");
        dropped.push(name);
    }
    Ok(dropped)
}

async fn drop_partition(pool: &Pool, name: &str, month: NaiveDate) -> Result<(), SinkError> {
    let mut client = pool.get().await.map_err(SinkError::Unavailable)?;
    let transaction = client.transaction().await.map_err(SinkError::Postgres)?;
    transaction
        .execute("SELECT pg_advisory_xact_lock($1)", &[&PARTITION_LOCK_ID])
        .await
        .map_err(SinkError::Postgres)?;

    // `name` was listed from the catalogue and parsed as phi_audit_log_pYYYYMM.
    let anchors = format!(
        "INSERT INTO phi_audit_anchors (chain_id, month, last_seq, last_hash, row_count) \
         SELECT DISTINCT ON (chain_id) chain_id, $1::date, chain_seq, hash, \
                count(*) OVER (PARTITION BY chain_id) \
         FROM {name} ORDER BY chain_id, chain_seq DESC \
         ON CONFLICT DO NOTHING"
    );
    transaction
        .execute(&anchors, &[&month])
        .await
        .map_err(SinkError::Postgres)?;
    transaction
        .batch_execute(&format!("DROP TABLE {name}"))
        .await
        .map_err(SinkError::Postgres)?;
    transaction.commit().await.map_err(SinkError::Postgres)
}

/// Creates partitions ahead and drops expired ones.
///
/// # Errors
///
/// [`SinkError`] when Postgres is unreachable or refuses.
pub async fn maintain(
    pool: &Pool,
    now: DateTime<Utc>,
    months_ahead: u32,
    retention: Retention,
) -> Result<MaintenanceReport, SinkError> {
    let created = create_ahead(pool, now, months_ahead).await?;
    let dropped = drop_expired(pool, now, retention).await?;
    Ok(MaintenanceReport { created, dropped })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let month = NaiveDate::from_ymd_opt(2026, 3, 1).expect("date");
        assert_eq!(partition_name(month), "phi_audit_log_p202603");
        assert_eq!(parse_partition_name("phi_audit_log_p202603"), Some(month));
        assert_eq!(parse_partition_name("phi_audit_log_p2026031"), None);
        assert_eq!(parse_partition_name("phi_audit_log_default"), None);
    }

    #[test]
    fn retention_below_six_years_needs_the_override() {
        assert_eq!(
            Retention::months_checked(71),
            Err(RetentionError::TooShort { months: 71 })
        );
        assert!(Retention::months_checked(72).is_ok());
        assert_eq!(
            Retention::months_overriding_minimum(0),
            Err(RetentionError::Zero)
        );
    }
}
