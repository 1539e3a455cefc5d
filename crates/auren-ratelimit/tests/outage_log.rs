//! An outage is told to operators once, and its end once: not per request.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use auren_core::KeyId;
use auren_ratelimit::{CheckOutcome, FailurePolicy, RateLimiter};
use auren_testing::{TcpProxy, TestRedis};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn warnings(&self) -> usize {
        let text = String::from_utf8_lossy(&self.0.lock().expect("lock")).into_owned();
        text.lines().filter(|line| line.contains("WARN")).count()
    }
}

#[tokio::test]
async fn one_warning_per_outage_and_one_on_recovery() {
    let Some(redis) = TestRedis::create().await else {
        return;
    };
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_max_level(tracing::Level::WARN)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let upstream = redis
        .url()
        .trim_start_matches("redis://")
        .trim_end_matches('/');
    let proxy = TcpProxy::start(upstream.parse().expect("host:port")).await;
    let url = format!("redis://{}", proxy.address());
    let store = common::redis_store(&url, redis.prefix(), Duration::from_secs(60)).await;
    let limiter = RateLimiter::builder(store)
        .failure_policy(FailurePolicy::FailClosed)
        .timeout(Duration::from_millis(100))
        .circuit_breaker(2, Duration::from_millis(50))
        .build()
        .expect("limiter");
    let key = KeyId::new();
    assert!(matches!(
        limiter.check(key, 100).await,
        CheckOutcome::Decided(_)
    ));

    proxy.sever();
    for _ in 0..10 {
        assert_eq!(limiter.check(key, 100).await, CheckOutcome::Unavailable);
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    assert_eq!(
        captured.warnings(),
        1,
        "one warning for the outage, probes included"
    );

    proxy.restore();
    for _ in 0..100 {
        if matches!(limiter.check(key, 100).await, CheckOutcome::Decided(_)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for _ in 0..5 {
        assert!(matches!(
            limiter.check(key, 100).await,
            CheckOutcome::Decided(_)
        ));
    }
    assert_eq!(captured.warnings(), 2, "and one when Redis is back");
}
