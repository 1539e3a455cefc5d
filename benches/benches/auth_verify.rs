//! `auth_verify`: what the auth layer pays per request.
//!
//! In one run: a cached verification of a valid key (parse, checksum, SHA-256, cache hit,
//! constant-time compare, expiry check, identity), the rejection of a malformed key
//! (refused offline, before any hashing), and the baseline, a bare SHA-256 of the key.

use std::hint::black_box;
use std::sync::Arc;

use auren_auth::{ApiKeys, InMemoryKeyStore, NewKey, VerificationCache};
use auren_core::Role;
use criterion::{criterion_group, criterion_main, Criterion};
use futures_util::FutureExt;

fn auth_verify(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let keys = ApiKeys::new(Arc::new(InMemoryKeyStore::new()))
        .with_cache(Arc::new(VerificationCache::new()));
    let issued = runtime
        .block_on(keys.create(NewKey::new("bench_user", Role::User)))
        .expect("create");
    let valid = issued.key.expose_secret().to_owned();
    let mut malformed = valid.clone().into_bytes();
    let last = malformed.len() - 1;
    malformed[last] = if malformed[last] == b'0' { b'1' } else { b'0' };
    let malformed = String::from_utf8(malformed).expect("ASCII");

    // Warm the cache, so the measured verifications are hits. A cache hit never waits, so
    // the future is polled once, inside the runtime, without a scheduler round trip.
    runtime.block_on(keys.verify(&valid)).expect("valid key");
    let _runtime = runtime.enter();
    assert!(matches!(keys.verify(&valid).now_or_never(), Some(Ok(_))));

    let mut group = c.benchmark_group("auth_verify");
    group.bench_function("baseline_sha256", |b| {
        b.iter(|| ring::digest::digest(&ring::digest::SHA256, black_box(valid.as_bytes())));
    });
    group.bench_function("cached_valid_key", |b| {
        b.iter(|| keys.verify(black_box(&valid)).now_or_never());
    });
    group.bench_function("malformed_key", |b| {
        b.iter(|| keys.verify(black_box(&malformed)).now_or_never());
    });
    group.finish();
}

criterion_group!(benches, auth_verify);
criterion_main!(benches);
