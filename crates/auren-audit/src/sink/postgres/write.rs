//! Storing a sealed batch: binary `COPY` as the fast path, an idempotent insert for a retry.
//!
//! `COPY` cannot skip rows that already exist, so a batch whose earlier attempt was stored
//! after all (the connection was cut after the commit) fails with a unique violation on
//! the primary key `(occurred_at, event_id)`. Only then is the batch stored again with
//! `INSERT ... SELECT FROM unnest(...) ON CONFLICT DO NOTHING`, which stores what is
//! missing and skips the rest.
//!
//! Either way the batch commits in its [`CommitTurn`], after the batch before it. While it
//! waits for its turn its transaction is open and holds a lock on the table; if the turn
//! is late (the earlier batch is retrying, or waits for a lock that a migration or the
//! retention job queued behind this transaction), the transaction is rolled back after
//! [`TURN_PATIENCE`] so nothing waits on a wait that Postgres cannot see.

use std::time::Duration;

use chrono::{DateTime, Utc};
use deadpool_postgres::Object;
use futures_util::pin_mut;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{ToSql, Type};
use ulid::ULID_LEN;

use crate::{AuditEvent, CommitTurn, SealedEvent};

/// The fast path: every row of the batch in one binary `COPY`.
const COPY_BATCH: &str = "COPY phi_audit_log (occurred_at, event_id, request_id, user_id, \
    key_id, action, resource, method, outcome, status_code, response_time_ms, client_addr, \
    user_agent, chain_id, chain_seq, prev_hash, hash) FROM STDIN (FORMAT binary)";

/// The types of the columns of [`COPY_BATCH`], in order.
const COPY_TYPES: [Type; 17] = [
    Type::TIMESTAMPTZ,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::INT2,
    Type::INT4,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::INT8,
    Type::BYTEA,
    Type::BYTEA,
];

/// The retry path: arrays bound as parameters, unnested server-side. Rows already stored
/// hit the primary key and are skipped, so nothing is stored twice.
const INSERT_BATCH: &str = "INSERT INTO phi_audit_log (occurred_at, event_id, request_id, \
    user_id, key_id, action, resource, method, outcome, status_code, response_time_ms, \
    client_addr, user_agent, chain_id, chain_seq, prev_hash, hash) \
    SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], \
    $6::text[], $7::text[], $8::text[], $9::text[], $10::int2[], $11::int4[], $12::text[], \
    $13::text[], $14::text[], $15::int8[], $16::bytea[], $17::bytea[]) \
    ON CONFLICT DO NOTHING";

/// How long a batch's open transaction waits for its turn before giving way.
const TURN_PATIENCE: Duration = Duration::from_secs(1);

/// What became of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stored {
    /// Committed in its turn.
    Committed,
    /// Rolled back because its turn was late: write it again once the turn has come.
    OutOfTurn,
}

/// Whether `error` is a unique violation: the batch, or part of it, is already stored.
pub(super) fn is_unique_violation(error: &tokio_postgres::Error) -> bool {
    error.code() == Some(&SqlState::UNIQUE_VIOLATION)
}

/// Copies the batch in one transaction, committing in its turn.
///
/// # Errors
///
/// The statement's error; a unique violation means an earlier attempt was stored.
pub(super) async fn copy_batch(
    client: &mut Object,
    batch: &[SealedEvent],
    turn: &CommitTurn,
) -> Result<Stored, tokio_postgres::Error> {
    let transaction = client.transaction().await?;
    let statement = transaction.prepare_cached(COPY_BATCH).await?;
    let sink = transaction.copy_in(&statement).await?;
    let writer = BinaryCopyInWriter::new(sink, &COPY_TYPES);
    pin_mut!(writer);

    let mut event_id = [0_u8; ULID_LEN];
    for row in batch {
        let id: &str = row.event().event_id().array_to_str(&mut event_id);
        let values = RowValues::of(row);
        writer.as_mut().write(&values.params(&id)).await?;
    }
    writer.finish().await?;

    commit_in_turn(transaction, turn).await
}

/// Inserts whatever of the batch is missing in one transaction, committing in its turn.
///
/// # Errors
///
/// The statement's error.
pub(super) async fn insert_batch(
    client: &mut Object,
    batch: &[SealedEvent],
    turn: &CommitTurn,
) -> Result<Stored, tokio_postgres::Error> {
    let columns = BatchColumns::from(batch);
    let transaction = client.transaction().await?;
    let statement = transaction.prepare_cached(INSERT_BATCH).await?;
    transaction.execute(&statement, &columns.params()).await?;

    commit_in_turn(transaction, turn).await
}

/// Commits once `turn` has come, or rolls back if it has not within [`TURN_PATIENCE`].
async fn commit_in_turn(
    transaction: deadpool_postgres::Transaction<'_>,
    turn: &CommitTurn,
) -> Result<Stored, tokio_postgres::Error> {
    if tokio::time::timeout(TURN_PATIENCE, turn.wait())
        .await
        .is_err()
    {
        transaction.rollback().await?;
        return Ok(Stored::OutOfTurn);
    }
    transaction.commit().await?;
    Ok(Stored::Committed)
}

/// The values of one row other than its event id, converted for Postgres.
struct RowValues<'a> {
    occurred_at: DateTime<Utc>,
    request_id: Option<&'a str>,
    user_id: Option<&'a str>,
    key_id: Option<&'a str>,
    action: &'a str,
    resource: &'a str,
    method: &'a str,
    outcome: &'static str,
    status_code: i16,
    response_time_ms: i32,
    client_addr: Option<&'a str>,
    user_agent: Option<&'a str>,
    chain_id: &'a str,
    seq: i64,
    prev_hash: &'a [u8],
    hash: &'a [u8],
}

impl<'a> RowValues<'a> {
    fn of(row: &'a SealedEvent) -> Self {
        let event = row.event();
        Self {
            occurred_at: event.occurred_at(),
            request_id: event.request_id(),
            user_id: event.user_id(),
            key_id: event.key_id(),
            action: event.action().as_str(),
            resource: event.resource(),
            method: event.method(),
            outcome: event.outcome().as_str(),
            status_code: status_code(event),
            response_time_ms: response_time_ms(event),
            client_addr: event.client_addr(),
            user_agent: event.user_agent(),
            chain_id: row.chain_id(),
            seq: row.seq(),
            prev_hash: row.prev_hash().as_slice(),
            hash: row.hash().as_slice(),
        }
    }

    /// The row's values in the order of [`COPY_TYPES`].
    fn params<'s>(&'s self, event_id: &'s &'s str) -> [&'s (dyn ToSql + Sync); 17] {
        [
            &self.occurred_at,
            event_id,
            &self.request_id,
            &self.user_id,
            &self.key_id,
            &self.action,
            &self.resource,
            &self.method,
            &self.outcome,
            &self.status_code,
            &self.response_time_ms,
            &self.client_addr,
            &self.user_agent,
            &self.chain_id,
            &self.seq,
            &self.prev_hash,
            &self.hash,
        ]
    }
}

/// The status code as stored (`SMALLINT`); codes are three digits, so it always fits.
fn status_code(event: &AuditEvent) -> i16 {
    i16::try_from(event.status_code()).unwrap_or(i16::MAX)
}

/// The response time as stored (`INTEGER`), saturating past 24 days.
fn response_time_ms(event: &AuditEvent) -> i32 {
    i32::try_from(event.response_time_ms()).unwrap_or(i32::MAX)
}

/// A batch split into one array per column, for `unnest`.
struct BatchColumns<'a> {
    occurred_at: Vec<DateTime<Utc>>,
    event_id: Vec<String>,
    request_id: Vec<Option<&'a str>>,
    user_id: Vec<Option<&'a str>>,
    key_id: Vec<Option<&'a str>>,
    action: Vec<&'a str>,
    resource: Vec<&'a str>,
    method: Vec<&'a str>,
    outcome: Vec<&'static str>,
    status_code: Vec<i16>,
    response_time_ms: Vec<i32>,
    client_addr: Vec<Option<&'a str>>,
    user_agent: Vec<Option<&'a str>>,
    chain_id: Vec<&'a str>,
    chain_seq: Vec<i64>,
    prev_hash: Vec<&'a [u8]>,
    hash: Vec<&'a [u8]>,
}

impl<'a> From<&'a [SealedEvent]> for BatchColumns<'a> {
    fn from(batch: &'a [SealedEvent]) -> Self {
        let events = || batch.iter().map(SealedEvent::event);
        Self {
            occurred_at: events().map(AuditEvent::occurred_at).collect(),
            event_id: events().map(|e| e.event_id().to_string()).collect(),
            request_id: events().map(AuditEvent::request_id).collect(),
            user_id: events().map(AuditEvent::user_id).collect(),
            key_id: events().map(AuditEvent::key_id).collect(),
            action: events().map(|e| e.action().as_str()).collect(),
            resource: events().map(AuditEvent::resource).collect(),
            method: events().map(AuditEvent::method).collect(),
            outcome: events().map(|e| e.outcome().as_str()).collect(),
            status_code: events().map(status_code).collect(),
            response_time_ms: events().map(response_time_ms).collect(),
            client_addr: events().map(AuditEvent::client_addr).collect(),
            user_agent: events().map(AuditEvent::user_agent).collect(),
            chain_id: batch.iter().map(SealedEvent::chain_id).collect(),
            chain_seq: batch.iter().map(SealedEvent::seq).collect(),
            prev_hash: batch.iter().map(|row| row.prev_hash().as_slice()).collect(),
            hash: batch.iter().map(|row| row.hash().as_slice()).collect(),
        }
    }
}

impl BatchColumns<'_> {
    /// The arrays in the order of [`INSERT_BATCH`]'s parameters.
    fn params(&self) -> [&(dyn ToSql + Sync); 17] {
        [
            &self.occurred_at,
            &self.event_id,
            &self.request_id,
            &self.user_id,
            &self.key_id,
            &self.action,
            &self.resource,
            &self.method,
            &self.outcome,
            &self.status_code,
            &self.response_time_ms,
            &self.client_addr,
            &self.user_agent,
            &self.chain_id,
            &self.chain_seq,
            &self.prev_hash,
            &self.hash,
        ]
    }
}
