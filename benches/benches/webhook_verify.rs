//! Criterion bench `webhook_verify`: each scheme's verification of a 1 KiB body, beside a
//! bare HMAC-SHA256 of the same bytes and the `standardwebhooks` crate's verifier.
//!
//! Run: `cargo bench -p auren-benches --bench webhook_verify -- --warm-up-time 1
//! --measurement-time 3`.
//!
//! The clock is read once, outside the measured loops: `verify` takes `now` as an
//! argument, and reading it inside the loop would charge the schemes for a clock read the
//! bare HMAC does not pay. (The `standardwebhooks` crate reads the clock itself, as it
//! must.)

use std::hint::black_box;

use auren_webhook::{WebhookProvider, WebhookScheme, WebhookSecret};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use http::{HeaderMap, HeaderName, HeaderValue};
use ring::hmac;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn body() -> Vec<u8> {
    let reading = br#"{"bpm":64,"recorded_at":"2026-01-02T03:04:05Z"},"#;
    let mut body = br#"{"user_id":"u1","readings":["#.to_vec();
    while body.len() < 1024 - 2 {
        body.extend_from_slice(reading);
    }
    body.truncate(1022);
    body.extend_from_slice(b"]}");
    body
}

fn signed_headers(scheme: WebhookScheme, body: &[u8], now: i64) -> HeaderMap {
    let pairs = scheme
        .sign(
            &WebhookSecret::new(SECRET),
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            now,
            body,
        )
        .expect("signs");
    pairs
        .into_iter()
        .map(|(name, value)| {
            let value = HeaderValue::from_str(&value).expect("header value");
            (HeaderName::from_static(name), value)
        })
        .collect()
}

fn webhook_verify(c: &mut Criterion) {
    let body = body();
    assert_eq!(body.len(), 1024);
    let now = chrono::Utc::now();
    let mut group = c.benchmark_group("webhook_verify_1KiB");
    group.throughput(Throughput::Bytes(body.len() as u64));

    let key = hmac::Key::new(hmac::HMAC_SHA256, SECRET.as_bytes());
    group.bench_function("baseline_bare_hmac_sha256", |b| {
        b.iter(|| hmac::sign(&key, black_box(&body)));
    });

    for scheme in WebhookScheme::ALL {
        let provider = WebhookProvider::new("bench", scheme, WebhookSecret::list(SECRET))
            .expect("valid provider");
        let headers = signed_headers(scheme, &body, now.timestamp());
        group.bench_function(format!("auren_webhook_{scheme}"), |b| {
            b.iter(|| {
                provider
                    .verify(black_box(&headers), black_box(&body), black_box(now))
                    .expect("verifies")
            });
        });
    }

    let theirs = standardwebhooks::Webhook::new(SECRET).expect("secret");
    let headers = signed_headers(WebhookScheme::Standard, &body, now.timestamp());
    group.bench_function("standardwebhooks_crate_standard", |b| {
        b.iter(|| {
            theirs
                .verify(black_box(&body), black_box(&headers))
                .expect("verifies");
        });
    });

    group.finish();
}

criterion_group!(benches, webhook_verify);
criterion_main!(benches);
