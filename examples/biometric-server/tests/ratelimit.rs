//! Rate limiting through the whole server: limits per key, headers, the admin endpoints,
//! and exact admission across two instances sharing Postgres and Redis.

mod common;

use std::time::Duration;

use auren_testing::{TestDatabase, TestRedis};
use biometric_server::ServerConfig;
use common::{error_code, TestServer};

/// Creates a key with `rate_limit` requests per minute; returns the secret and the key id.
async fn key_with_limit(server: &TestServer, rate_limit: u32) -> (String, String) {
    let response = server
        .client
        .post(server.url("/admin/api-keys"))
        .bearer_auth(server.admin_key().await)
        .json(&serde_json::json!({"user_id": "alice", "role": "user", "rate_limit": rate_limit}))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 201);
    let created: serde_json::Value = response.json().await.expect("json");
    (
        created["api_key"].as_str().expect("api_key").to_owned(),
        created["key_id"].as_str().expect("key_id").to_owned(),
    )
}

async fn get(server: &TestServer, key: &str, path: &str) -> reqwest::Response {
    server
        .client
        .get(server.url(path))
        .bearer_auth(key)
        .send()
        .await
        .expect("send")
}

fn number(response: &reqwest::Response, name: &str) -> u64 {
    response.headers()[name]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("number")
}

#[tokio::test]
async fn a_key_gets_its_limit_then_429_with_headers() {
    let server = TestServer::in_memory().await;
    let (key, _) = key_with_limit(&server, 3).await;

    for expected in [2, 1, 0] {
        let response = get(&server, &key, "/api/biometrics").await;
        assert_eq!(response.status(), 200);
        assert_eq!(number(&response, "x-ratelimit-limit"), 3);
        assert_eq!(number(&response, "x-ratelimit-remaining"), expected);
        assert!(response.headers().contains_key("ratelimit-policy"));
        assert!(response.headers().contains_key("ratelimit"));
    }
    let refused = get(&server, &key, "/api/biometrics").await;
    assert_eq!(refused.status(), 429);
    assert_eq!(number(&refused, "retry-after"), 20);
    assert_eq!(error_code(refused).await, "rate_limited");

    let (other, _) = key_with_limit(&server, 3).await;
    assert_eq!(get(&server, &other, "/api/biometrics").await.status(), 200);
    server.stop().await;
}

#[tokio::test]
async fn admin_sees_and_resets_a_key_and_health_is_not_limited() {
    let server = TestServer::in_memory().await;
    let admin = server.admin_key().await;
    let (key, key_id) = key_with_limit(&server, 2).await;
    get(&server, &key, "/api/biometrics").await;
    get(&server, &key, "/api/biometrics").await;
    assert_eq!(get(&server, &key, "/api/biometrics").await.status(), 429);

    let shown = get(&server, &admin, &format!("/admin/rate-limits/{key_id}")).await;
    assert_eq!(shown.status(), 200);
    let shown: serde_json::Value = shown.json().await.expect("json");
    assert_eq!(
        (shown["limit"].as_u64(), shown["remaining"].as_u64()),
        (Some(2), Some(0))
    );

    let listed: serde_json::Value = get(&server, &admin, "/admin/rate-limits")
        .await
        .json()
        .await
        .expect("json");
    let listed = listed["rate_limits"].as_array().expect("array");
    assert!(listed
        .iter()
        .any(|entry| entry["key_id"] == key_id.as_str()));

    let reset = server
        .client
        .delete(server.url(&format!("/admin/rate-limits/{key_id}")))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("send");
    assert_eq!(reset.status(), 200);
    assert_eq!(get(&server, &key, "/api/biometrics").await.status(), 200);

    let user = get(&server, &key, "/admin/rate-limits").await;
    assert_eq!(user.status(), 403);
    for _ in 0..5 {
        assert_eq!(get(&server, &key, "/health").await.status(), 200);
    }
    server.stop().await;
}

#[tokio::test]
async fn a_raised_limit_applies_within_a_second_or_so() {
    let server = TestServer::in_memory().await;
    let (key, key_id) = key_with_limit(&server, 1).await;
    assert_eq!(get(&server, &key, "/api/biometrics").await.status(), 200);
    assert_eq!(get(&server, &key, "/api/biometrics").await.status(), 429);

    let patched = server
        .client
        .patch(server.url(&format!("/admin/api-keys/{key_id}")))
        .bearer_auth(server.admin_key().await)
        .json(&serde_json::json!({"rate_limit": 600}))
        .send()
        .await
        .expect("send");
    assert_eq!(patched.status(), 200);

    // The used share of the window carries over: at 600/min one request refills every
    // 100 ms, so the key passes again as soon as the new limit is seen.
    for _ in 0..30 {
        let response = get(&server, &key, "/api/biometrics").await;
        if response.status() == 200 {
            assert_eq!(number(&response, "x-ratelimit-limit"), 600);
            server.stop().await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the raised limit did not apply within 3 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_sharing_redis_admit_exactly_50_of_200() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let Some(redis) = TestRedis::create().await else {
        return;
    };
    let mut config = ServerConfig::for_tests();
    config.auren.database_url = Some(db.url().to_owned());
    config.auren.redis_url = Some(redis.url().to_owned());
    config.auren.rate_limit.redis_prefix = redis.prefix().to_owned();
    // A debug build on a busy machine can take longer than the 50 ms default; and a
    // timeout must show as 503 (failing the test), never as a local admission.
    config.auren.rate_limit.timeout = Duration::from_secs(2);
    config.auren.rate_limit.on_failure = auren::OnRedisFailure::Closed;
    config.auren.admin_key = Some(
        auren::auth::KeyFormat::default()
            .generate()
            .expect("admin key"),
    );

    let one = TestServer::start(config.clone()).await;
    let two = TestServer::start(config).await;
    let (key, _) = key_with_limit(&one, 50).await;
    // The second instance knows the key through the shared Postgres key store.
    assert_eq!(get(&two, &key, "/api/biometrics").await.status(), 200);
    let (key, _) = key_with_limit(&one, 50).await;

    let started = std::time::Instant::now();
    let mut tasks = Vec::new();
    for i in 0..200 {
        let (client, url) = if i % 2 == 0 {
            (one.client.clone(), one.url("/api/biometrics"))
        } else {
            (two.client.clone(), two.url("/api/biometrics"))
        };
        let key = key.clone();
        tasks.push(tokio::spawn(async move {
            let response = client.get(url).bearer_auth(key).send().await.expect("send");
            response.status().as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.expect("task"));
    }
    // GCRA refills one request every 60 s / 50 = 1.2 s while the burst lasts.
    let refills = (started.elapsed().as_millis() / 1_200) as usize;
    let admitted = statuses.iter().filter(|s| **s == 200).count();
    assert!(
        (50..=50 + refills).contains(&admitted),
        "{admitted} admitted with {refills} refills: {statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        200 - admitted
    );
    assert!(redis
        .keys()
        .await
        .iter()
        .any(|name| name.contains("rate_limit:{ak_")));

    one.stop().await;
    two.stop().await;
}
