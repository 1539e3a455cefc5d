//! The in-memory store and the layer over it, under many tokio tasks.

mod common;

use std::sync::Arc;

use auren_core::{KeyId, ManualClock};
use auren_ratelimit::{MemoryStore, RateLimiter};
use common::{app, caller, error_code, get_once, header};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_200_tasks_on_a_limit_of_50_admits_exactly_50() {
    for _ in 0..20 {
        let store = Arc::new(MemoryStore::new());
        let key = KeyId::new();
        let tasks: Vec<_> = (0..200)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { store.check_now(key, 50).allowed })
            })
            .collect();
        let mut admitted = 0;
        for task in tasks {
            admitted += usize::from(task.await.expect("task"));
        }
        assert_eq!(admitted, 50);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_layer_admits_exactly_the_limit_and_refuses_the_rest_with_429() {
    let limiter = RateLimiter::in_memory(MemoryStore::new());
    let app = app(limiter, Some(caller(50)));
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move { get_once(&app).await })
        })
        .collect();

    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.expect("task"));
    }
    let ok = statuses.iter().filter(|r| r.status() == 200).count();
    assert_eq!(ok, 50);

    let refused = statuses
        .into_iter()
        .find(|r| r.status() == 429)
        .expect("a 429");
    assert_eq!(header(&refused, "x-ratelimit-remaining"), 0);
    assert!(header(&refused, "retry-after") >= 1);
    assert_eq!(error_code(refused).await, "rate_limited");
}

#[tokio::test]
async fn headers_count_down_and_the_window_refills_on_the_clock() {
    let clock = ManualClock::starting_now();
    let store = MemoryStore::builder()
        .clock(clock.clone())
        .build()
        .expect("store");
    let app = app(RateLimiter::in_memory(store), Some(caller(3)));

    for expected in [2, 1, 0] {
        let response = get_once(&app).await;
        assert_eq!(response.status(), 200);
        assert_eq!(header(&response, "x-ratelimit-limit"), 3);
        assert_eq!(header(&response, "x-ratelimit-remaining"), expected);
        assert_eq!(
            response.headers()["ratelimit"],
            format!("\"default\";r={expected};t={}", 20 * (3 - expected))
        );
    }
    let refused = get_once(&app).await;
    assert_eq!(refused.status(), 429);
    assert_eq!(header(&refused, "retry-after"), 20);

    clock.advance(chrono::Duration::seconds(20));
    assert_eq!(get_once(&app).await.status(), 200);
    assert_eq!(get_once(&app).await.status(), 429);

    clock.advance(chrono::Duration::seconds(60));
    let response = get_once(&app).await;
    assert_eq!(header(&response, "x-ratelimit-remaining"), 2);
}

#[tokio::test]
async fn requests_without_an_identity_pass_untouched() {
    let app = app(RateLimiter::in_memory(MemoryStore::new()), None);
    for _ in 0..5 {
        let response = get_once(&app).await;
        assert_eq!(response.status(), 200);
        assert!(response.headers().get("x-ratelimit-limit").is_none());
    }
}

#[tokio::test]
async fn a_lowered_limit_applies_to_the_next_request() {
    let store = MemoryStore::new();
    let key = KeyId::new();
    assert_eq!(
        (0..10).filter(|_| store.check_now(key, 60).allowed).count(),
        10
    );
    // 10 of 60 used is a sixth of the window; at 6 per minute, five of six remain.
    assert_eq!(
        (0..10).filter(|_| store.check_now(key, 6).allowed).count(),
        5
    );
}
