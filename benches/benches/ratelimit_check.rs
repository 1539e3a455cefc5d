//! `ratelimit_check`: what the rate-limit layer pays per request.
//!
//! In one run:
//!
//! - `memory`: one check of the in-memory store against `governor`'s keyed limiter (the
//!   peer most Rust services use), on the same workload: 10 000 keys in turn, a limit of
//!   1 000 000 per minute so every check admits and writes.
//! - `redis` (when Redis answers): one check of the Redis store (an `EVALSHA` of the GCRA
//!   script) against a bare `EVALSHA` of `return 1`, the round-trip baseline; one request
//!   at a time.
//! - `redis_throughput` (when Redis answers): the same two with 50 requests in flight from
//!   one process and one client; criterion's time per element is the inverse of the
//!   throughput.

use std::hint::black_box;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use auren_core::KeyId;
use auren_ratelimit::{MemoryStore, RateLimitStore, RedisStore};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use fred::prelude::{Builder, Client, ClientLike, Config, LuaInterface};
use governor::{Quota, RateLimiter};

const KEYS: usize = 10_000;
const LIMIT: u32 = 1_000_000;
const IN_FLIGHT: u64 = 50;
const TRIVIAL: &str = "return 1";

fn memory(c: &mut Criterion) {
    let keys: Vec<KeyId> = (0..KEYS).map(|_| KeyId::new()).collect();
    let store = MemoryStore::new();
    let governor = RateLimiter::keyed(Quota::per_minute(
        NonZeroU32::new(LIMIT).unwrap_or(NonZeroU32::MIN),
    ));

    let mut group = c.benchmark_group("ratelimit_check/memory");
    group.bench_function("governor_keyed", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % KEYS;
            black_box(governor.check_key(black_box(&keys[i])).is_ok())
        });
    });
    group.bench_function("auren_memory", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % KEYS;
            black_box(store.check_now(black_box(keys[i]), LIMIT).allowed)
        });
    });
    group.finish();
}

fn redis(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let Some(redis) = runtime.block_on(auren_testing::TestRedis::create()) else {
        eprintln!("Redis is unreachable: the redis groups are skipped");
        return;
    };
    let client = runtime.block_on(connect(redis.url()));
    let store = Arc::new(
        RedisStore::builder(client.clone())
            .prefix(redis.prefix())
            .build()
            .expect("store"),
    );
    let sha: String = runtime
        .block_on(client.script_load(TRIVIAL))
        .expect("SCRIPT LOAD");
    let keys: Arc<Vec<KeyId>> = Arc::new((0..KEYS).map(|_| KeyId::new()).collect());

    let mut group = c.benchmark_group("ratelimit_check/redis");
    group.bench_function("baseline_evalsha_return_1", |b| {
        b.iter(|| runtime.block_on(evalsha(&client, &sha)));
    });
    group.bench_function("auren_redis_check", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % KEYS;
            runtime
                .block_on(store.check(keys[i], LIMIT))
                .expect("check")
        });
    });
    group.finish();

    let mut group = c.benchmark_group("ratelimit_check/redis_throughput");
    group.throughput(Throughput::Elements(1));
    group.bench_function("baseline_evalsha_50_in_flight", |b| {
        b.iter_custom(|iters| {
            let (client, sha) = (client.clone(), sha.clone());
            runtime.block_on(concurrently(iters, move |_| {
                let (client, sha) = (client.clone(), sha.clone());
                async move { evalsha(&client, &sha).await }
            }))
        });
    });
    group.bench_function("auren_redis_check_50_in_flight", |b| {
        b.iter_custom(|iters| {
            let (store, keys) = (store.clone(), keys.clone());
            runtime.block_on(concurrently(iters, move |n| {
                let (store, key) = (store.clone(), keys[n as usize % KEYS]);
                async move {
                    store.check(key, LIMIT).await.expect("check");
                }
            }))
        });
    });
    group.finish();

    runtime.block_on(async move {
        let _ = client.quit().await;
        drop(redis);
    });
}

/// Runs `iters` calls with `IN_FLIGHT` tasks pulling from a shared counter.
async fn concurrently<F, Fut>(iters: u64, call: F) -> Duration
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let call = Arc::new(call);
    let started = Instant::now();
    let tasks: Vec<_> = (0..IN_FLIGHT)
        .map(|_| {
            let (next, call) = (next.clone(), call.clone());
            tokio::spawn(async move {
                loop {
                    let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if n >= iters {
                        break;
                    }
                    call(n).await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task");
    }
    started.elapsed()
}

async fn evalsha(client: &Client, sha: &str) {
    let one: i64 = client
        .evalsha(sha, Vec::<String>::new(), Vec::<String>::new())
        .await
        .expect("EVALSHA");
    black_box(one);
}

async fn connect(url: &str) -> Client {
    let client = Builder::from_config(Config::from_url(url).expect("url"))
        .build()
        .expect("client");
    client.init().await.expect("connect");
    client
}

criterion_group!(benches, memory, redis);
criterion_main!(benches);
