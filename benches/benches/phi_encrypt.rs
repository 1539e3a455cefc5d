//! Criterion bench `phi_encrypt`: sealing a `u16` heart rate with `encrypt_phi_field`,
//! with warm key caches and with the caches off, beside the baseline of a bare `ring`
//! AES-256-GCM seal (random nonce included) of the same serialized bytes; and opening it
//! with `decrypt_phi_field` with warm caches, beside a bare `ring` open of the same
//! sealed bytes.
//!
//! The caches-off case is measured twice, and the two answer different questions. Over
//! the in-memory key store it measures only what the caches save in CPU (one AES-GCM
//! unwrap of the data key and one HKDF derivation per call). Over the Postgres key store,
//! when Postgres is reachable, it measures what they save in production: a round trip to
//! the key table per call, on top of the unwrap and the derivation.
//!
//! Run: `cargo bench -p auren-benches --bench phi_encrypt -- --warm-up-time 1
//! --measurement-time 3`.

use std::hint::black_box;

use auren_phi_crypto::{InMemoryKeyStore, KeyStore, MasterKey, PhiCrypto, PostgresKeyStore};
use criterion::{criterion_group, criterion_main, Criterion};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};

const USER: &str = "device_123";

fn phi(runtime: &tokio::runtime::Runtime, cached: bool) -> PhiCrypto {
    phi_over(runtime, cached, InMemoryKeyStore::new())
}

fn phi_over(runtime: &tokio::runtime::Runtime, cached: bool, store: impl KeyStore) -> PhiCrypto {
    runtime.block_on(async {
        let master = MasterKey::generate().expect("random");
        let builder = PhiCrypto::builder(master, store);
        let builder = if cached {
            builder
        } else {
            builder.without_cache()
        };
        builder.build().await.expect("phi")
    })
}

fn phi_encrypt(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let warm = phi(&runtime, true);
    let cold = phi(&runtime, false);
    let sealed = runtime
        .block_on(warm.encrypt_phi_field(&72_u16, USER))
        .expect("warms the cache");

    let random = SystemRandom::new();
    let mut key_bytes = [0_u8; 32];
    random.fill(&mut key_bytes).expect("random");
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &key_bytes).expect("key"));
    // 72_u16 as the crate serializes it: CBOR `0x18 0x48`.
    let plaintext = [0x18_u8, 0x48];

    let mut group = c.benchmark_group("phi_encrypt");
    group.bench_function("baseline_ring_aes256gcm_seal", |b| {
        b.iter(|| {
            let mut nonce = [0_u8; NONCE_LEN];
            random.fill(&mut nonce).expect("random");
            let mut buffer = Vec::with_capacity(plaintext.len() + 16);
            buffer.extend_from_slice(black_box(&plaintext));
            key.seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::empty(),
                &mut buffer,
            )
            .expect("seal");
            black_box(buffer)
        });
    });
    group.bench_function("baseline_ring_aes256gcm_open", |b| {
        let mut nonce = [0_u8; NONCE_LEN];
        random.fill(&mut nonce).expect("random");
        let mut sealed = plaintext.to_vec();
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::empty(),
            &mut sealed,
        )
        .expect("seal");
        b.iter(|| {
            // Opening works in place, so each call opens a fresh copy, as
            // `decrypt_phi_field` opens a freshly decoded buffer.
            let mut buffer = black_box(&sealed).clone();
            let opened = key
                .open_in_place(
                    Nonce::assume_unique_for_key(nonce),
                    Aad::empty(),
                    &mut buffer,
                )
                .expect("open");
            black_box(opened.len())
        });
    });
    group.bench_function("encrypt_phi_field_u16_warm_cache", |b| {
        b.to_async(&runtime).iter(|| async {
            let sealed = warm.encrypt_phi_field(black_box(&72_u16), USER).await;
            black_box(sealed.expect("seal"))
        });
    });
    group.bench_function("decrypt_phi_field_u16_warm_cache", |b| {
        b.to_async(&runtime).iter(|| async {
            let opened = warm
                .decrypt_phi_field::<u16>(black_box(&sealed), USER)
                .await;
            black_box(opened.expect("open"))
        });
    });
    group.bench_function("encrypt_phi_field_u16_cache_disabled", |b| {
        b.to_async(&runtime).iter(|| async {
            let sealed = cold.encrypt_phi_field(black_box(&72_u16), USER).await;
            black_box(sealed.expect("seal"))
        });
    });

    let database = runtime.block_on(auren_testing::TestDatabase::create());
    if let Some(database) = &database {
        let postgres = PostgresKeyStore::new(database.pool().clone());
        let cold_postgres = phi_over(&runtime, false, postgres);
        group.bench_function("encrypt_phi_field_u16_cache_disabled_postgres_store", |b| {
            b.to_async(&runtime).iter(|| async {
                let sealed = cold_postgres
                    .encrypt_phi_field(black_box(&72_u16), USER)
                    .await;
                black_box(sealed.expect("seal"))
            });
        });
    }
    group.finish();
    drop(database);
}

criterion_group!(benches, phi_encrypt);
criterion_main!(benches);
