//! Ingest through the batched audit writer beside one INSERT per event, in the same run.
//!
//! Needs Postgres (`DATABASE_URL`, default local); uses a database of its own,
//! `auren_bench_audit_ingest`, recreated at each run.

use std::sync::Arc;
use std::time::{Duration, Instant};

use auren_audit::{
    Action, AuditEvent, AuditWriter, AuditWriterConfig, ChainState, Outcome, PostgresSink,
};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tokio_postgres::NoTls;

const DATABASE: &str = "auren_bench_audit_ingest";
const BATCHED_EVENTS: u64 = 20_000;
const BASELINE_EVENTS: u64 = 500;

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
    group.bench_function("batched_writer", |b| {
        b.iter_custom(|iters| {
            runtime.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let writer = AuditWriter::start(sink.clone(), AuditWriterConfig::default());
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

    group.throughput(Throughput::Elements(BASELINE_EVENTS));
    group.bench_function("row_per_insert", |b| {
        b.iter_custom(|iters| {
            runtime.block_on(async {
                let client = pool.get().await.expect("connection");
                let insert = client
                    .prepare(
                        "INSERT INTO phi_audit_log (occurred_at, event_id, request_id, user_id, \
                         key_id, action, resource, method, outcome, status_code, \
                         response_time_ms, client_addr, user_agent, chain_id, chain_seq, \
                         prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
                         $11, $12, $13, $14, $15, $16, $17) ON CONFLICT DO NOTHING",
                    )
                    .await
                    .expect("prepare");
                let mut chain = ChainState::new();
                client
                    .execute(
                        "INSERT INTO phi_audit_chains (chain_id) VALUES ($1)",
                        &[&chain.chain_id()],
                    )
                    .await
                    .expect("chain");

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

criterion_group!(benches, ingest);
criterion_main!(benches);
