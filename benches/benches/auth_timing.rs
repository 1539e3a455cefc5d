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
//! takes the lookup path. Every sample uses a wrong key of its own.

// Printing the test's figures is what this bench is for.
#![allow(clippy::print_stdout)]

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
    /// A second set of fresh-prefix keys: fresh against control is an A/A test, the noise
    /// floor of the harness on this machine.
    control: Vec<String>,
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

    // A fresh wrong key for every sample, so that what one particular key costs (its
    // hash bucket, its probe length) averages out instead of biasing a class.
    let filler = || {
        format
            .generate()
            .expect("random")
            .expose_secret()
            .to_owned()
    };
    let registered: Vec<&String> = prefixes.iter().collect();
    let shared: Vec<String> = (0..SAMPLES)
        .map(|index| wrong_key(registered[index % registered.len()], &filler()))
        .collect();
    let mut fresh = Vec::with_capacity(2 * SAMPLES);
    while fresh.len() < 2 * SAMPLES {
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
    // Copy both classes into allocations made alternately, so neither class sits in
    // memory that is laid out better (a first run showed a 3% gap from layout alone).
    let (fresh, control) = fresh.split_at(SAMPLES);
    let mut copies = [Vec::new(), Vec::new(), Vec::new()];
    for index in 0..SAMPLES {
        copies[0].push(shared[index].clone());
        copies[1].push(fresh[index].clone());
        copies[2].push(control[index].clone());
    }
    let [shared, fresh, control] = copies;
    Fixture {
        keys,
        shared,
        fresh,
        control,
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

/// Interleaves the three classes, in each of the six orders in turn, and times each call.
fn sample(fixture: &Fixture) -> [Vec<f64>; 3] {
    const ORDERS: [[usize; 3]; 6] = [
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ];
    let classes = [&fixture.shared, &fixture.fresh, &fixture.control];
    let mut times = [
        Vec::with_capacity(SAMPLES),
        Vec::with_capacity(SAMPLES),
        Vec::with_capacity(SAMPLES),
    ];
    for index in 0..SAMPLES {
        for class in ORDERS[index % ORDERS.len()] {
            let key = &classes[class][index];
            let start = Instant::now();
            let refused = fixture.keys.verify(black_box(key)).now_or_never();
            let elapsed = start.elapsed().as_nanos() as f64;
            black_box(refused);
            times[class].push(elapsed);
        }
    }
    times
}

fn statistical_part(fixture: &Fixture) {
    let [shared, fresh, control] = sample(fixture);
    let [shared_t, fresh_t, control_t] = [trimmed(&shared), trimmed(&fresh), trimmed(&control)];
    let mean = |samples: &[f64]| moments(samples).0;

    println!("auth_timing/welch: {SAMPLES} samples per class, interleaved");
    println!(
        "  means: shared_prefix {:.1} ns, fresh_prefix {:.1} ns, control {:.1} ns",
        mean(&shared),
        mean(&fresh),
        mean(&control)
    );
    println!(
        "  slowest 1% dropped: shared_prefix {:.1} ns, fresh_prefix {:.1} ns, control {:.1} ns",
        mean(&shared_t),
        mean(&fresh_t),
        mean(&control_t)
    );
    let t_test = welch_t(&shared_t, &fresh_t);
    let t_control = welch_t(&control_t, &fresh_t);
    println!("  t (shared vs fresh) = {t_test:.2}; t (control vs fresh, A/A) = {t_control:.2}");
    let verdict = if t_test.abs() < 4.5 {
        "no detectable difference"
    } else if t_test.abs() <= 2.0 * t_control.abs().max(4.5) {
        "within the harness noise (the A/A test differs as much)"
    } else {
        "DIFFERENCE beyond the harness noise"
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
