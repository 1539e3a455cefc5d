//! The Redis store against a real server: exact admission across instances, headers,
//! refills, `NOSCRIPT` recovery and outages.

mod common;

use std::time::Duration;

use auren_core::KeyId;
use auren_ratelimit::{CheckOutcome, FailurePolicy, RateLimitStore, RateLimiter};
use auren_testing::{TcpProxy, TestRedis};
use common::{app, caller, error_code, get_once, header, redis_store};
use fred::prelude::{KeysInterface, LuaInterface};

const MINUTE: Duration = Duration::from_secs(60);

fn limiter(store: auren_ratelimit::RedisStore, policy: FailurePolicy) -> RateLimiter {
    RateLimiter::builder(store)
        .failure_policy(policy)
        .timeout(Duration::from_millis(200))
        .circuit_breaker(2, Duration::from_millis(100))
        .build()
        .expect("valid limiter")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_admit_exactly_50_of_200_concurrent_requests() {
    let Some(redis) = TestRedis::create().await else {
        return;
    };
    let one = limiter(
        redis_store(redis.url(), redis.prefix(), MINUTE).await,
        FailurePolicy::FailClosed,
    );
    let two = limiter(
        redis_store(redis.url(), redis.prefix(), MINUTE).await,
        FailurePolicy::FailClosed,
    );
    let caller = caller(50);
    let apps = [app(one, Some(caller.clone())), app(two, Some(caller))];

    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let app = apps[i % 2].clone();
            tokio::spawn(async move { get_once(&app).await.status().as_u16() })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.expect("task"));
    }

    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 50);
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 150);
}

#[tokio::test]
async fn keys_are_hash_tagged_and_expire_by_themselves() {
    let Some(redis) = TestRedis::create().await else {
        return;
    };
    let store = redis_store(redis.url(), redis.prefix(), MINUTE).await;
    let key = KeyId::new();
    assert!(store.check(key, 60).await.expect("check").allowed);

    let name = format!("{}rate_limit:{{{key}}}", redis.prefix());
    assert_eq!(redis.keys().await, vec![name.clone()]);
    let ttl: i64 = redis.client().pttl(&name).await.expect("PTTL");
    assert!(
        ttl > 0 && ttl <= 1_002,
        "one request of 60/min is 1 s of state, not {ttl} ms"
    );
}

#[tokio::test]
async fn headers_count_down_and_the_window_refills() {
    let Some(redis) = TestRedis::create().await else {
        return;
    };
    // 3 per 600 ms: one request refills every 200 ms, so the test waits briefly.
    let store = redis_store(redis.url(), redis.prefix(), Duration::from_millis(600)).await;
    let app = app(limiter(store, FailurePolicy::FailClosed), Some(caller(3)));

    for expected in [2, 1, 0] {
        let response = get_once(&app).await;
        assert_eq!(response.status(), 200);
        assert_eq!(header(&response, "x-ratelimit-limit"), 3);
        assert_eq!(header(&response, "x-ratelimit-remaining"), expected);
        assert_eq!(header(&response, "x-ratelimit-reset"), 1);
        assert_eq!(
            response.headers()["ratelimit-policy"],
            "\"default\";q=3;w=1"
        );
    }
    let refused = get_once(&app).await;
    assert_eq!(refused.status(), 429);
    assert_eq!(header(&refused, "retry-after"), 1);
    assert_eq!(error_code(refused).await, "rate_limited");

    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(get_once(&app).await.status(), 200);
    assert_eq!(get_once(&app).await.status(), 429);
}

#[tokio::test]
async fn the_script_is_loaded_again_after_script_flush() {
    let Some(redis) = TestRedis::create().await else {
        return;
    };
    let store = redis_store(redis.url(), redis.prefix(), MINUTE).await;
    let key = KeyId::new();
    assert!(store.check(key, 2).await.expect("first check").allowed);

    redis
        .client()
        .script_flush(false)
        .await
        .expect("SCRIPT FLUSH");
    let decision = store.check(key, 2).await.expect("the script is reloaded");
    assert!(decision.allowed);
    assert_eq!(decision.remaining, 0);
    assert!(!store.check(key, 2).await.expect("third").allowed);

    redis
        .client()
        .script_flush(false)
        .await
        .expect("SCRIPT FLUSH");
    let status = store
        .status(key)
        .await
        .expect("status")
        .expect("key has state");
    assert_eq!(status.limit, 2);
}

#[tokio::test]
async fn admin_status_list_and_reset() {
    let Some(redis) = TestRedis::create().await else {
        return;
    };
    let store = redis_store(redis.url(), redis.prefix(), MINUTE).await;
    let limiter = limiter(store, FailurePolicy::FailClosed);
    let mut keys: Vec<KeyId> = (0..12).map(|_| KeyId::new()).collect();
    for key in &keys {
        limiter.check(*key, 10).await;
    }

    let status = limiter
        .status(keys[0])
        .await
        .expect("status")
        .expect("state");
    assert_eq!((status.limit, status.remaining), (10, 9));
    assert!(limiter
        .status(KeyId::new())
        .await
        .expect("status")
        .is_none());

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let page = limiter.list(cursor.as_deref(), 5).await.expect("page");
        seen.extend(page.keys.iter().map(|status| status.key_id));
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    seen.sort();
    seen.dedup();
    keys.sort();
    assert_eq!(seen, keys);
    assert!(limiter.list(Some("not a cursor"), 5).await.is_err());

    assert!(limiter.reset(keys[0]).await.expect("reset"));
    assert!(limiter.status(keys[0]).await.expect("status").is_none());
    assert!(!limiter.reset(keys[0]).await.expect("reset again"));
}

/// Checks through a severed proxy until the breaker has opened, returning the outcomes.
async fn outcomes_while_severed(
    limiter: &RateLimiter,
    key: KeyId,
    limit: u32,
) -> Vec<CheckOutcome> {
    let mut outcomes = Vec::new();
    for _ in 0..6 {
        outcomes.push(limiter.check(key, limit).await);
    }
    outcomes
}

async fn severed_setup(
    redis: &TestRedis,
    policy: FailurePolicy,
) -> (TcpProxy, RateLimiter, auren_ratelimit::RedisStore) {
    let upstream = redis
        .url()
        .trim_start_matches("redis://")
        .trim_end_matches('/');
    let proxy = TcpProxy::start(upstream.parse().expect("host:port")).await;
    let store = redis_store(
        &format!("redis://{}", proxy.address()),
        redis.prefix(),
        MINUTE,
    )
    .await;
    (proxy, limiter(store.clone(), policy), store)
}

#[tokio::test]
async fn fail_closed_refuses_while_redis_is_away_and_recovers() {
    let Some(redis) = TestRedis::create().await else {
        return;
    };
    let (proxy, limiter, _store) = severed_setup(&redis, FailurePolicy::FailClosed).await;
    let key = KeyId::new();
    assert!(matches!(limiter.check(key, 10).await, CheckOutcome::Decided(d) if d.allowed));

    proxy.sever();
    let outcomes = outcomes_while_severed(&limiter, key, 10).await;
    assert!(
        outcomes.iter().all(|o| *o == CheckOutcome::Unavailable),
        "{outcomes:?}"
    );

    let app = app(limiter.clone(), Some(caller(10)));
    let refused = get_once(&app).await;
    assert_eq!(refused.status(), 503);
    assert_eq!(header(&refused, "retry-after"), 1);
    assert_eq!(error_code(refused).await, "rate_limit_unavailable");

    proxy.restore();
    let probe = limiter.clone();
    for _ in 0..100 {
        if matches!(probe.check(key, 10).await, CheckOutcome::Decided(_)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the limiter did not recover after Redis came back");
}

#[tokio::test]
async fn fail_open_lets_requests_through_unchecked() {
    let Some(redis) = TestRedis::create().await else {
        return;
    };
    let (proxy, limiter, _store) = severed_setup(&redis, FailurePolicy::FailOpen).await;
    proxy.sever();

    let app = app(limiter.clone(), Some(caller(1)));
    for _ in 0..4 {
        let response = get_once(&app).await;
        assert_eq!(response.status(), 200);
        assert!(response.headers().get("x-ratelimit-limit").is_none());
    }

    proxy.restore();
    let key = KeyId::new();
    for _ in 0..100 {
        if matches!(limiter.check(key, 1).await, CheckOutcome::Decided(_)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the limiter did not recover after Redis came back");
}

#[tokio::test]
async fn local_fallback_enforces_its_share_while_redis_is_away() {
    let Some(redis) = TestRedis::create().await else {
        return;
    };
    let (proxy, limiter, store) =
        severed_setup(&redis, FailurePolicy::LocalFallback { share: 0.5 }).await;
    proxy.sever();

    let key = KeyId::new();
    let admitted = outcomes_while_severed(&limiter, key, 8)
        .await
        .into_iter()
        .chain([limiter.check(key, 8).await, limiter.check(key, 8).await])
        .filter(|o| matches!(o, CheckOutcome::Decided(d) if d.allowed))
        .count();
    assert_eq!(admitted, 4, "half of 8, enforced in memory");

    proxy.restore();
    let fresh = KeyId::new();
    until_recovered_with(&limiter, &store, fresh).await;
    let status = store.status(fresh).await.expect("Redis is back");
    assert!(status.is_some(), "checks reach Redis again");
}

async fn until_recovered_with(
    limiter: &RateLimiter,
    store: &auren_ratelimit::RedisStore,
    key: KeyId,
) {
    for _ in 0..100 {
        limiter.check(key, 100).await;
        if matches!(store.status(key).await, Ok(Some(_))) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the limiter did not recover after Redis came back");
}

#[tokio::test]
async fn distinct_clients_share_one_limit_per_key_only() {
    let Some(redis) = TestRedis::create().await else {
        return;
    };
    let store = redis_store(redis.url(), redis.prefix(), MINUTE).await;
    let (a, b) = (KeyId::new(), KeyId::new());
    for _ in 0..3 {
        store.check(a, 3).await.expect("check");
    }
    assert!(!store.check(a, 3).await.expect("check").allowed);
    assert!(store.check(b, 3).await.expect("check").allowed);
}
