//! `auth_timing`: does refusing a wrong key leak whether a key with its display prefix
//! exists?
//!
//! Two sets of wrong keys, all of the right format (prefix, length, valid checksum):
//! `shared_prefix` keys begin with the display prefix (`auren_` + 4 characters) of a
//! registered key, `fresh_prefix` keys begin with a display prefix no registered key has.
//! Criterion measures both beside a bare SHA-256 baseline; then many interleaved samples
//! of each are timed one by one and compared with Welch's t test. `|t|` below about 4.5
//! (the threshold of the dudect tool) says no difference is detectable at this sample
//! size.
//!
//! The store is the in-memory one, without the verification cache, so every refusal
//! takes the lookup path.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use auren_auth::{ApiKeys, InMemoryKeyStore, KeyFormat, NewKey, DISPLAY_RANDOM_CHARS};
use auren_core::Role;
use criterion::Criterion;
use futures_util::FutureExt;

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const REGISTERED: usize = 1_000;
const SAMPLES: usize = 100_000;

/// The checksum of the key format, restated here to forge wrong keys of the right format.
fn with_checksum(body: &str) -> String {
    let mut value = u64::from(crc32fast::hash(body.as_bytes()));
    let mut digits = [b'0'; 6];
    for digit in digits.iter_mut().rev() {
        *digit = ALPHABET[(value % 62) as usize];
        value /= 62;
    }
    format!("{body}{}", String::from_utf8_lossy(&digits))
}

/// A wrong key: `prefix` (display prefix) and then the random part of `filler`.
fn wrong_key(prefix: &str, filler: &str) -> String {
    let body_len = filler.len() - 6;
    with_checksum(&format!("{prefix}{}", &filler[prefix.len()..body_len]))
}

struct Fixture {
    keys: ApiKeys,
    shared: Vec<String>,
    fresh: Vec<String>,
}

fn fixture(runtime: &tokio::runtime::Runtime) -> Fixture {
    let keys = ApiKeys::new(Arc::new(InMemoryKeyStore::new()));
    let format = KeyFormat::default();
    let display = "auren_".len() + DISPLAY_RANDOM_CHARS;
    let mut prefixes = std::collections::HashSet::new();
    for index in 0..REGISTERED {
        let issued = runtime
            .block_on(keys.create(NewKey::new(format!("timing_{index}"), Role::User)))
            .expect("create");
        prefixes.insert(issued.key.display_prefix().to_owned());
    }

    let filler = || {
        format
            .generate()
            .expect("random")
            .expose_secret()
            .to_owned()
    };
    let shared: Vec<String> = prefixes
        .iter()
        .map(|prefix| wrong_key(prefix, &filler()))
        .collect();
    let mut fresh = Vec::new();
    while fresh.len() < shared.len() {
        let candidate = filler();
        if !prefixes.contains(&candidate[..display]) {
            fresh.push(wrong_key(&candidate[..display], &filler()));
        }
    }
    for key in shared.iter().chain(&fresh) {
        assert!(format.check(key).is_ok(), "a wrong key of the right format");
        let refused = runtime.block_on(keys.verify(key));
        assert!(refused.is_err(), "wrong keys are refused");
    }
    Fixture {
        keys,
        shared,
        fresh,
    }
}

fn criterion_part(c: &mut Criterion, fixture: &Fixture) {
    let mut group = c.benchmark_group("auth_timing");
    group.bench_function("baseline_sha256", |b| {
        let mut index = 0;
        b.iter(|| {
            index = (index + 1) % fixture.fresh.len();
            ring::digest::digest(
                &ring::digest::SHA256,
                black_box(fixture.fresh[index].as_bytes()),
            )
        });
    });
    for (name, set) in [
        ("shared_prefix", &fixture.shared),
        ("fresh_prefix", &fixture.fresh),
    ] {
        group.bench_function(name, |b| {
            let mut index = 0;
            b.iter(|| {
                index = (index + 1) % set.len();
                fixture.keys.verify(black_box(&set[index])).now_or_never()
            });
        });
    }
    group.finish();
}

/// Mean and variance of `samples`, in nanoseconds.
fn moments(samples: &[f64]) -> (f64, f64) {
    let n = samples.len() as f64;
    let mean = samples.iter().sum::<f64>() / n;
    let variance = samples.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, variance)
}

fn welch_t(a: &[f64], b: &[f64]) -> f64 {
    let (mean_a, var_a) = moments(a);
    let (mean_b, var_b) = moments(b);
    (mean_a - mean_b) / (var_a / a.len() as f64 + var_b / b.len() as f64).sqrt()
}

/// Drops the slowest 1% (preemption by other processes on the shared machine).
fn trimmed(samples: &[f64]) -> Vec<f64> {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.truncate(sorted.len() * 99 / 100);
    sorted
}

fn statistical_part(fixture: &Fixture) {
    let mut shared = Vec::with_capacity(SAMPLES);
    let mut fresh = Vec::with_capacity(SAMPLES);
    for index in 0..SAMPLES {
        // Interleaved, alternating which class goes first, so drift hits both alike.
        let pair = [
            (true, &fixture.shared[index % fixture.shared.len()]),
            (false, &fixture.fresh[index % fixture.fresh.len()]),
        ];
        let order = if index % 2 == 0 { [0, 1] } else { [1, 0] };
        for slot in order {
            let (is_shared, key) = pair[slot];
            let start = Instant::now();
            let refused = fixture.keys.verify(black_box(key)).now_or_never();
            let elapsed = start.elapsed().as_nanos() as f64;
            black_box(refused);
            if is_shared {
                shared.push(elapsed);
            } else {
                fresh.push(elapsed);
            }
        }
    }

    let (mean_shared, _) = moments(&shared);
    let (mean_fresh, _) = moments(&fresh);
    let t_raw = welch_t(&shared, &fresh);
    let (shared_t, fresh_t) = (trimmed(&shared), trimmed(&fresh));
    let (trim_shared, _) = moments(&shared_t);
    let (trim_fresh, _) = moments(&fresh_t);
    let t_trimmed = welch_t(&shared_t, &fresh_t);
    println!("auth_timing/welch: {SAMPLES} samples per class, interleaved");
    println!(
        "  mean shared_prefix {mean_shared:.1} ns, fresh_prefix {mean_fresh:.1} ns, t = {t_raw:.2}"
    );
    println!(
        "  slowest 1% dropped: shared_prefix {trim_shared:.1} ns, fresh_prefix {trim_fresh:.1} ns, \
         t = {t_trimmed:.2}"
    );
    let verdict = if t_trimmed.abs() < 4.5 {
        "no detectable difference"
    } else {
        "DIFFERENCE"
    };
    println!("  verdict (|t| < 4.5): {verdict}");
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let fixture = fixture(&runtime);
    let _runtime = runtime.enter();

    let mut criterion = Criterion::default().configure_from_args();
    criterion_part(&mut criterion, &fixture);
    criterion.final_summary();

    statistical_part(&fixture);
}
