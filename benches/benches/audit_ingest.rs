//! Ingest through the batched audit writer beside one INSERT per event, in the same run.
//!
//! - `batched_writer`: `AuditWriter` + `PostgresSink` as configured by default (binary
//!   `COPY` per batch, two batches in flight, committing in chain order);
//! - `batched_writer_one_in_flight`: the same with `max_in_flight: 1`;
//! - `unnest_insert_per_batch`: the former write path, for comparison: batches of 2,000
//!   sealed events, one `INSERT ... SELECT FROM unnest(...) ON CONFLICT DO NOTHING` each,
//!   one after the other (no queue);
//! - `row_per_insert`: the baseline, one prepared single-row `INSERT` per event.
//!
//! Needs Postgres (`DATABASE_URL`, default local); uses a database of its own,
//! `auren_bench_audit_ingest`, recreated at each run.

use std::sync::Arc;
use std::time::{Duration, Instant};

use auren_audit::{
    Action, AuditEvent, AuditWriter, AuditWriterConfig, ChainState, Outcome, PostgresSink,
    SealedEvent,
};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tokio_postgres::NoTls;

const DATABASE: &str = "auren_bench_audit_ingest";
const BATCHED_EVENTS: u64 = 20_000;
const BASELINE_EVENTS: u64 = 500;
const UNNEST_BATCH: usize = 2_000;

/// Every column of `phi_audit_log`, in the order both inserts bind them.
const INSERT_COLUMNS: &str = "occurred_at, event_id, request_id, user_id, key_id, action, \
    resource, method, outcome, status_code, response_time_ms, client_addr, user_agent, \
    chain_id, chain_seq, prev_hash, hash";

fn event(i: u64) -> AuditEvent {
    AuditEvent::new(Action::Read, "/api/biometrics", Outcome::Success)
        .with_user(Some(&format!("user{}", i % 10_000)), None)
        .with_method("GET")
        .with_status(200)
        .with_response_time_ms(3)
        .with_user_agent("bench/1.0")
}

async fn fresh_database() -> deadpool_postgres::Pool {
    let base = auren_testing::base_database_url();
    let (client, connection) = tokio_postgres::connect(&base, NoTls)
        .await
        .expect("connect");
    tokio::spawn(connection);
    client
        .batch_execute(&format!("DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
        .await
        .expect("drop");
    client
        .batch_execute(&format!("CREATE DATABASE {DATABASE}"))
        .await
        .expect("create");
    let url = format!("{}/{DATABASE}", base.rsplit_once('/').expect("a path").0);
    let pool = auren_core::postgres::connect_with_size(&url, 8).expect("pool");
    auren_core::postgres::run_migrations(&pool)
        .await
        .expect("migrate");
    pool
}

fn ingest(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let pool = runtime.block_on(fresh_database());
    let sink = Arc::new(PostgresSink::new(pool.clone()));

    let mut group = c.benchmark_group("audit_ingest");
    group.sample_size(10);

    group.throughput(Throughput::Elements(BATCHED_EVENTS));
    let pipelined = AuditWriterConfig::default();
    let one_in_flight = AuditWriterConfig {
        max_in_flight: 1,
        ..AuditWriterConfig::default()
    };
    for (name, config) in [
        ("batched_writer", pipelined),
        ("batched_writer_one_in_flight", one_in_flight),
    ] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                runtime.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let writer = AuditWriter::start(sink.clone(), config);
                        let start = Instant::now();
                        for i in 0..BATCHED_EVENTS {
                            writer.record(event(i)).await.expect("recorded");
                        }
                        writer.shutdown().await;
                        total += start.elapsed();
                    }
                    total
                })
            });
        });
    }

    group.bench_function("unnest_insert_per_batch", |b| {
        b.iter_custom(|iters| runtime.block_on(unnest_batches(&pool, iters)));
    });

    group.throughput(Throughput::Elements(BASELINE_EVENTS));
    group.bench_function("row_per_insert", |b| {
        b.iter_custom(|iters| {
            runtime.block_on(async {
                let client = pool.get().await.expect("connection");
                let insert = client
                    .prepare(&format!(
                        "INSERT INTO phi_audit_log ({INSERT_COLUMNS}) VALUES ($1, $2, $3, $4, \
                         $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
                         ON CONFLICT DO NOTHING"
                    ))
                    .await
                    .expect("prepare");
                let mut chain = ChainState::new();
                open_chain(&client, &chain).await;

                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let start = Instant::now();
                    for i in 0..BASELINE_EVENTS {
                        let row = chain.seal(event(i));
                        let e = row.event();
                        client
                            .execute(
                                &insert,
                                &[
                                    &e.occurred_at(),
                                    &e.event_id().to_string(),
                                    &e.request_id(),
                                    &e.user_id(),
                                    &e.key_id(),
                                    &e.action().as_str(),
                                    &e.resource(),
                                    &e.method(),
                                    &e.outcome().as_str(),
                                    &(e.status_code() as i16),
                                    &(e.response_time_ms() as i32),
                                    &e.client_addr(),
                                    &e.user_agent(),
                                    &row.chain_id(),
                                    &row.seq(),
                                    &row.prev_hash().as_slice(),
                                    &row.hash().as_slice(),
                                ],
                            )
                            .await
                            .expect("insert");
                    }
                    total += start.elapsed();
                }
                total
            })
        });
    });
    group.finish();
}

async fn open_chain(client: &tokio_postgres::Client, chain: &ChainState) {
    client
        .execute(
            "INSERT INTO phi_audit_chains (chain_id) VALUES ($1)",
            &[&chain.chain_id()],
        )
        .await
        .expect("chain");
}

/// The former write path: seal a batch, then one `unnest` insert for it, in turn.
async fn unnest_batches(pool: &deadpool_postgres::Pool, iters: u64) -> Duration {
    let client = pool.get().await.expect("connection");
    let insert = client
        .prepare(&format!(
            "INSERT INTO phi_audit_log ({INSERT_COLUMNS}) \
             SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], \
             $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::int2[], \
             $11::int4[], $12::text[], $13::text[], $14::text[], $15::int8[], $16::bytea[], \
             $17::bytea[]) ON CONFLICT DO NOTHING"
        ))
        .await
        .expect("prepare");

    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let mut chain = ChainState::new();
        open_chain(&client, &chain).await;
        let start = Instant::now();
        let events: Vec<u64> = (0..BATCHED_EVENTS).collect();
        for chunk in events.chunks(UNNEST_BATCH) {
            let rows: Vec<SealedEvent> = chunk.iter().map(|i| chain.seal(event(*i))).collect();
            let e = || rows.iter().map(SealedEvent::event);
            let occurred_at: Vec<_> = e().map(AuditEvent::occurred_at).collect();
            let event_id: Vec<_> = e().map(|e| e.event_id().to_string()).collect();
            let request_id: Vec<_> = e().map(AuditEvent::request_id).collect();
            let user_id: Vec<_> = e().map(AuditEvent::user_id).collect();
            let key_id: Vec<_> = e().map(AuditEvent::key_id).collect();
            let action: Vec<_> = e().map(|e| e.action().as_str()).collect();
            let resource: Vec<_> = e().map(AuditEvent::resource).collect();
            let method: Vec<_> = e().map(AuditEvent::method).collect();
            let outcome: Vec<_> = e().map(|e| e.outcome().as_str()).collect();
            let status: Vec<_> = e().map(|e| e.status_code() as i16).collect();
            let time: Vec<_> = e().map(|e| e.response_time_ms() as i32).collect();
            let client_addr: Vec<_> = e().map(AuditEvent::client_addr).collect();
            let user_agent: Vec<_> = e().map(AuditEvent::user_agent).collect();
            let chain_id: Vec<_> = rows.iter().map(SealedEvent::chain_id).collect();
            let seq: Vec<_> = rows.iter().map(SealedEvent::seq).collect();
            let prev: Vec<_> = rows.iter().map(|r| r.prev_hash().as_slice()).collect();
            let hash: Vec<_> = rows.iter().map(|r| r.hash().as_slice()).collect();
            client
                .execute(
                    &insert,
                    &[
                        &occurred_at,
                        &event_id,
                        &request_id,
                        &user_id,
                        &key_id,
                        &action,
                        &resource,
                        &method,
                        &outcome,
                        &status,
                        &time,
                        &client_addr,
                        &user_agent,
                        &chain_id,
                        &seq,
                        &prev,
                        &hash,
                    ],
                )
                .await
                .expect("insert");
        }
        total += start.elapsed();
    }
    total
}

criterion_group!(benches, ingest);
criterion_main!(benches);
