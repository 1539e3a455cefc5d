//! The Postgres sink: `phi_audit_log`, written in batches with binary `COPY`.

mod write;

use write::Stored;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use deadpool_postgres::Pool;
use futures_util::{pin_mut, TryStreamExt};
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;
use ulid::Ulid;

use crate::chain::HASH_LEN;
use crate::event::EventParts;
use crate::partitions::{ensure_partition, month_of};
use crate::verify::Verifier;
use crate::{
    Action, AuditEvent, AuditPage, AuditQuery, AuditSink, CommitTurn, SealedEvent, SinkError,
    VerifyReport,
};

/// The columns every read selects, in the order [`sealed_from_row`] expects.
const COLUMNS: &str = "occurred_at, event_id, request_id, user_id, key_id, action, resource, \
    method, outcome, status_code, response_time_ms, client_addr, user_agent, chain_id, \
    chain_seq, prev_hash, hash";

/// Stores events in Postgres (`phi_audit_log`, created by the migrations).
///
/// Each batch is one binary `COPY` in a transaction that commits in the batch's
/// [`CommitTurn`]; a batch already stored by an earlier attempt is completed with an
/// idempotent insert instead. Give the pool at least one connection per batch in flight,
/// plus one.
///
/// Before writing a batch it makes sure the monthly partitions the batch needs exist, so
/// an event is never refused for want of a partition.
///
/// # Example
///
/// ```no_run
/// # async fn example(pool: deadpool_postgres::Pool) {
/// use auren_audit::{AuditWriter, AuditWriterConfig, PostgresSink};
/// use std::sync::Arc;
///
/// let sink = Arc::new(PostgresSink::new(pool));
/// let writer = AuditWriter::start(sink, AuditWriterConfig::default());
/// # writer.shutdown().await;
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct PostgresSink {
    pool: Pool,
    known_months: Arc<Mutex<HashSet<NaiveDate>>>,
}

impl PostgresSink {
    /// A sink writing through `pool`.
    pub fn new(pool: Pool) -> Self {
        Self {
            pool,
            known_months: Arc::new(Mutex::new(HashSet::new())),
        }
    }

    /// The pool.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    async fn ensure_months(&self, batch: &[SealedEvent]) -> Result<(), SinkError> {
        let months: HashSet<NaiveDate> = batch
            .iter()
            .map(|row| month_of(row.event().occurred_at()))
            .collect();
        for month in months {
            let known = self
                .known_months
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .contains(&month);
            if !known {
                ensure_partition(&self.pool, month).await?;
                self.known_months
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .insert(month);
            }
        }
        Ok(())
    }

    /// Stores a batch with `COPY`, or, if part of it is already stored, with the
    /// idempotent insert.
    async fn store(&self, batch: &[SealedEvent], turn: &CommitTurn) -> Result<Stored, SinkError> {
        let mut client = self.pool.get().await.map_err(SinkError::Unavailable)?;
        match write::copy_batch(&mut client, batch, turn).await {
            Err(error) if write::is_unique_violation(&error) => {
                // An earlier attempt of this batch was stored after all (its outcome was
                // lost with the connection): insert whatever is missing, skip the rest.
                tracing::debug!(
                    events = batch.len(),
                    "audit batch already stored; re-checking"
                );
                write::insert_batch(&mut client, batch, turn).await
            }
            result => result,
        }
        .map_err(SinkError::Postgres)
    }
}

#[async_trait]
impl AuditSink for PostgresSink {
    async fn open_chain(&self, chain_id: &str) -> Result<(), SinkError> {
        let client = self.pool.get().await.map_err(SinkError::Unavailable)?;
        client
            .execute(
                "INSERT INTO phi_audit_chains (chain_id) VALUES ($1) ON CONFLICT DO NOTHING",
                &[&chain_id],
            )
            .await
            .map_err(SinkError::Postgres)?;
        Ok(())
    }

    async fn write_batch(&self, batch: &[SealedEvent]) -> Result<(), SinkError> {
        self.write_batch_in_turn(batch, &CommitTurn::now()).await
    }

    async fn write_batch_in_turn(
        &self,
        batch: &[SealedEvent],
        turn: &CommitTurn,
    ) -> Result<(), SinkError> {
        if batch.is_empty() {
            return Ok(());
        }
        self.ensure_months(batch).await?;

        if self.store(batch, turn).await? == Stored::OutOfTurn {
            // The connection goes back to the pool while this batch waits: the batch
            // before it may need one.
            tracing::debug!(
                events = batch.len(),
                "an earlier audit batch is late; waiting"
            );
            turn.wait().await;
            self.store(batch, turn).await?;
        }
        Ok(())
    }

    async fn query(&self, query: &AuditQuery) -> Result<AuditPage, SinkError> {
        let mut params: Vec<Box<dyn ToSql + Sync + Send>> = Vec::new();
        let mut placeholder = |value: Box<dyn ToSql + Sync + Send>| {
            params.push(value);
            format!("${}", params.len())
        };

        let mut conditions: Vec<String> = Vec::new();
        let equal = [
            ("user_id", query.user_id.clone()),
            ("key_id", query.key_id.clone()),
            (
                "action",
                query.action.as_ref().map(|a| a.as_str().to_owned()),
            ),
            ("outcome", query.outcome.map(|o| o.as_str().to_owned())),
            ("resource", query.resource.clone()),
        ];
        for (column, value) in equal {
            if let Some(value) = value {
                conditions.push(format!("{column} = {}", placeholder(Box::new(value))));
            }
        }
        if let Some(start) = query.start {
            conditions.push(format!("occurred_at >= {}", placeholder(Box::new(start))));
        }
        if let Some(end) = query.end {
            conditions.push(format!("occurred_at < {}", placeholder(Box::new(end))));
        }
        if let Some(cursor) = &query.cursor {
            let at = placeholder(Box::new(cursor.occurred_at));
            let id = placeholder(Box::new(cursor.event_id.to_string()));
            // The plain bound lets the planner prune partitions; the row comparison is
            // the exact keyset condition.
            conditions.push(format!("occurred_at <= {at}"));
            conditions.push(format!("(occurred_at, event_id) < ({at}, {id})"));
        }
        let limit = placeholder(Box::new(i64::from(query.limit) + 1));
        if conditions.is_empty() {
            conditions.push("TRUE".to_owned());
        }
        let sql = format!(
            "SELECT {COLUMNS} FROM phi_audit_log WHERE {} \
             ORDER BY occurred_at DESC, event_id DESC LIMIT {limit}",
            conditions.join(" AND ")
        );

        let client = self.pool.get().await.map_err(SinkError::Unavailable)?;
        let refs: Vec<&(dyn ToSql + Sync)> = params
            .iter()
            .map(|param| param.as_ref() as &(dyn ToSql + Sync))
            .collect();
        let rows = client
            .query(&sql, &refs)
            .await
            .map_err(SinkError::Postgres)?;
        let events = rows
            .iter()
            .map(|row| sealed_from_row(row).map(|sealed| sealed.event().clone()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(AuditPage::from_overfetch(events, query.limit))
    }

    async fn verify(
        &self,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> Result<VerifyReport, SinkError> {
        let client = self.pool.get().await.map_err(SinkError::Unavailable)?;
        let in_range = "($1::timestamptz IS NULL OR occurred_at >= $1) \
                        AND ($2::timestamptz IS NULL OR occurred_at < $2)";

        let chains = client
            .query("SELECT chain_id FROM phi_audit_chains", &[])
            .await
            .map_err(SinkError::Postgres)?
            .iter()
            .map(|row| row.get::<_, String>(0))
            .collect();
        let mut verifier = Verifier::new(chains);

        let anchors = client
            .query(
                "SELECT chain_id, last_seq, last_hash FROM phi_audit_anchors",
                &[],
            )
            .await
            .map_err(SinkError::Postgres)?;
        for row in &anchors {
            verifier.allow_link(row.get(0), row.get(1), hash_of(row.get(2)));
        }

        // For a bounded check, the row just before each chain's first row in the range is
        // a valid start; it is itself checked when its own range is verified.
        let predecessors = client
            .query(
                &format!(
                    "SELECT p.chain_id, p.chain_seq, p.hash FROM phi_audit_log p \
                 JOIN (SELECT chain_id, min(chain_seq) AS first FROM phi_audit_log \
                       WHERE {in_range} GROUP BY chain_id) f \
                 ON p.chain_id = f.chain_id AND p.chain_seq = f.first - 1 \
                 WHERE $1::timestamptz IS NOT NULL AND p.occurred_at < $1"
                ),
                &[&from, &to],
            )
            .await
            .map_err(SinkError::Postgres)?;
        for row in &predecessors {
            verifier.allow_link(row.get(0), row.get(1), hash_of(row.get(2)));
        }

        let sql = format!(
            "SELECT {COLUMNS} FROM phi_audit_log WHERE {in_range} \
             ORDER BY chain_id, chain_seq, event_id"
        );
        let params: [&(dyn ToSql + Sync); 2] = [&from, &to];
        let rows = client
            .query_raw(&sql, params)
            .await
            .map_err(SinkError::Postgres)?;
        pin_mut!(rows);
        while let Some(row) = rows.try_next().await.map_err(SinkError::Postgres)? {
            verifier.push(&sealed_from_row(&row)?);
        }
        Ok(verifier.finish())
    }
}

/// A hash column as a fixed array; a hash of the wrong length (a tampered row) becomes
/// all zeros, which never verifies.
fn hash_of(bytes: &[u8]) -> [u8; HASH_LEN] {
    <[u8; HASH_LEN]>::try_from(bytes).unwrap_or([0; HASH_LEN])
}

/// Reads a row selected with [`COLUMNS`].
///
/// Values that cannot be parsed back (a row edited by hand) are kept as they are where
/// possible, so verification reports the row instead of failing.
pub(crate) fn sealed_from_row(row: &Row) -> Result<SealedEvent, SinkError> {
    let malformed = |what: &str| SinkError::Malformed(what.to_owned());
    let get_text = |index: usize| -> Result<String, SinkError> {
        row.try_get(index).map_err(SinkError::Postgres)
    };
    let get_opt = |index: usize| -> Result<Option<String>, SinkError> {
        row.try_get(index).map_err(SinkError::Postgres)
    };

    let event_id: String = get_text(1)?;
    let action: String = get_text(5)?;
    let outcome: String = get_text(8)?;
    let status_code: i16 = row.try_get(9).map_err(SinkError::Postgres)?;
    let response_time_ms: i32 = row.try_get(10).map_err(SinkError::Postgres)?;
    let prev_hash: Vec<u8> = row.try_get(15).map_err(SinkError::Postgres)?;
    let hash: Vec<u8> = row.try_get(16).map_err(SinkError::Postgres)?;

    let parts = EventParts {
        event_id: Ulid::from_string(&event_id).map_err(|_| malformed("event_id"))?,
        request_id: get_opt(2)?,
        occurred_at: row.try_get(0).map_err(SinkError::Postgres)?,
        user_id: get_opt(3)?,
        key_id: get_opt(4)?,
        action: action.parse().unwrap_or(Action::Custom(action)),
        resource: get_text(6)?,
        method: get_text(7)?,
        outcome: outcome.parse().map_err(|_| malformed("outcome"))?,
        status_code: u16::try_from(status_code).unwrap_or_default(),
        response_time_ms: u32::try_from(response_time_ms).unwrap_or_default(),
        client_addr: get_opt(11)?,
        user_agent: get_opt(12)?,
    };
    Ok(SealedEvent::from_stored(
        AuditEvent::from_parts(parts),
        get_text(13)?,
        row.try_get(14).map_err(SinkError::Postgres)?,
        hash_of(&prev_hash),
        hash_of(&hash),
    ))
}
