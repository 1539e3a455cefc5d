//! The two audit queries over six years of synthetic events, beside a `SELECT 1` round trip
//! in the same run; prints p50 and p99 of each.
//!
//! Load the data first with `scripts/bench-audit.sh` (10M rows, 72 monthly partitions,
//! 10,000 users, kept between runs); `AUREN_BENCH_AUDIT_URL` names the database.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use auren_audit::{AuditQueryRequest, AuditSink, PostgresSink};
use chrono::{DateTime, Duration as Span, Utc};
use criterion::{criterion_group, criterion_main, Criterion};

/// A small deterministic generator, so runs pick the same users and days.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        (self.0 >> 33) % below
    }
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    let index = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[index]
}

fn queries(c: &mut Criterion) {
    let url = std::env::var("AUREN_BENCH_AUDIT_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/auren_bench_audit".to_owned());
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let pool = auren_core::postgres::connect_with_size(&url, 2).expect("pool");
    let bounds = runtime.block_on(async {
        let client = pool.get().await.ok()?;
        let row = client
            .query_one(
                "SELECT min(occurred_at), max(occurred_at), count(*) FROM phi_audit_log",
                &[],
            )
            .await
            .ok()?;
        let rows: i64 = row.get(2);
        (rows > 0).then(|| {
            (
                row.get::<_, DateTime<Utc>>(0),
                row.get::<_, DateTime<Utc>>(1),
                rows,
            )
        })
    });
    let Some((first, last, rows)) = bounds else {
        eprintln!("skipping: no audit data at {url}; run scripts/bench-audit.sh first");
        return;
    };
    eprintln!("audit_query over {rows} rows from {first} to {last}");

    let sink = PostgresSink::new(pool.clone());
    let days = (last - first).num_days() - 31;
    let mut group = c.benchmark_group("audit_query");
    let latencies: Mutex<Vec<(&str, Vec<Duration>)>> = Mutex::new(Vec::new());
    let record = |name: &'static str, samples: Vec<Duration>| {
        let mut all = latencies.lock().expect("lock");
        match all.iter_mut().find(|(n, _)| *n == name) {
            Some((_, list)) => list.extend(samples),
            None => all.push((name, samples)),
        }
    };

    group.bench_function("select_1_round_trip", |b| {
        b.iter_custom(|iters| {
            runtime.block_on(async {
                let client = pool.get().await.expect("connection");
                let mut samples = Vec::new();
                for _ in 0..iters {
                    let start = Instant::now();
                    client.query_one("SELECT 1", &[]).await.expect("select");
                    samples.push(start.elapsed());
                }
                let total = samples.iter().sum();
                record("select_1_round_trip", samples);
                total
            })
        });
    });

    let mut lcg = Lcg(42);
    group.bench_function("user_newest_100_in_30_days", |b| {
        b.iter_custom(|iters| {
            runtime.block_on(async {
                let mut samples = Vec::new();
                for _ in 0..iters {
                    let start_day = first + Span::days(lcg.next(days as u64) as i64);
                    let request = AuditQueryRequest {
                        user_id: Some(format!("user{}", lcg.next(10_000))),
                        start_date: Some(start_day.to_rfc3339()),
                        end_date: Some((start_day + Span::days(30)).to_rfc3339()),
                        limit: Some(100),
                        ..AuditQueryRequest::default()
                    };
                    let query = request.validate().expect("valid");
                    let start = Instant::now();
                    sink.query(&query).await.expect("query");
                    samples.push(start.elapsed());
                }
                let total = samples.iter().sum();
                record("user_newest_100_in_30_days", samples);
                total
            })
        });
    });

    group.bench_function("denied_in_one_day", |b| {
        b.iter_custom(|iters| {
            runtime.block_on(async {
                let mut samples = Vec::new();
                for _ in 0..iters {
                    let day = (first + Span::days(1 + lcg.next(days as u64) as i64)).date_naive();
                    let request = AuditQueryRequest {
                        outcome: Some("denied".to_owned()),
                        start_date: Some(day.to_string()),
                        end_date: Some(day.to_string()),
                        limit: Some(1000),
                        ..AuditQueryRequest::default()
                    };
                    let query = request.validate().expect("valid");
                    let start = Instant::now();
                    let page = sink.query(&query).await.expect("query");
                    samples.push(start.elapsed());
                    assert!(page.next_cursor.is_none(), "one page holds a day's denials");
                }
                let total = samples.iter().sum();
                record("denied_in_one_day", samples);
                total
            })
        });
    });
    group.finish();

    for (name, mut samples) in latencies.into_inner().expect("lock") {
        let p50 = percentile(&mut samples, 0.50);
        let p99 = percentile(&mut samples, 0.99);
        eprintln!("{name}: n={} p50={p50:?} p99={p99:?}", samples.len());
    }
}

criterion_group!(benches, queries);
criterion_main!(benches);
