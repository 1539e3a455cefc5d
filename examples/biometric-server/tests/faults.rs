//! Faults of the real services while the example server works: Postgres cut and back,
//! Redis cut and back, Postgres answering slowly, and SIGTERM under load.
//!
//! Outages are made with `auren_testing::TcpProxy` in front of the shared services, so
//! only this test's server sees them and the parallel suite is not disturbed. Durations
//! are never asserted: a generous timeout around each request only detects hangs.

mod common;
mod hardening;

use std::time::Duration;

use auren::webhook::{WebhookScheme, WebhookSecret};
use auren::OnRedisFailure;
use auren_testing::{TcpProxy, TestDatabase, TestRedis};
use biometric_server::{ServerConfig, WebhookConfig};
use common::{error_code, TestServer};
use hardening::HANG_DETECTOR;
use serde_json::json;

const HEART_RATE: &str = "/api/biometrics/heart-rate";
const WEBHOOK_SECRET: &str = "whsec_ZmF1bHRzLXRlc3Qtc2VjcmV0LTEyMzQ=";

/// How long a service may take to be usable again after it comes back.
const RECOVERY: Duration = Duration::from_secs(60);

/// A proxy in front of the service `url` names, and `url` rewritten to go through it.
async fn proxied(url: &str, default_port: u16) -> (TcpProxy, String) {
    let authority = url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .expect("a URL with an authority");
    let host_port = authority.rsplit('@').next().expect("host");
    let upstream = if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:{default_port}")
    };
    let upstream_address = tokio::net::lookup_host(&upstream)
        .await
        .expect("resolve the service")
        .next()
        .expect("an address");
    let proxy = TcpProxy::start(upstream_address).await;
    let rewritten = url.replacen(host_port, &proxy.address().to_string(), 1);
    (proxy, rewritten)
}

async fn post_reading(server: &TestServer, key: &str, bpm: i64) -> reqwest::Response {
    let send = server
        .client
        .post(server.url(HEART_RATE))
        .bearer_auth(key)
        .json(&json!({"bpm": bpm, "recorded_at": "2026-01-01T00:00:00Z"}))
        .send();
    tokio::time::timeout(HANG_DETECTOR, send)
        .await
        .expect("hang: the request got no answer")
        .expect("send")
}

/// Retries `POST` until it is stored; returns how many attempts were refused first.
async fn post_until_stored(server: &TestServer, key: &str, bpm: i64) -> u32 {
    let deadline = tokio::time::Instant::now() + RECOVERY;
    let mut refused = 0;
    loop {
        let response = post_reading(server, key, bpm).await;
        if response.status() == 201 {
            return refused;
        }
        assert_eq!(response.status(), 503, "while recovering");
        refused += 1;
        assert!(tokio::time::Instant::now() < deadline, "no recovery");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn audit_rows(db: &TestDatabase, sql: &str) -> i64 {
    let client = db.pool().get().await.expect("a direct connection");
    client
        .query_one(sql, &[])
        .await
        .expect("count")
        .get::<_, i64>(0)
}

#[tokio::test]
async fn postgres_outage_answers_503_then_recovers_and_loses_no_audit_event() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let (proxy, url) = proxied(db.url(), 5432).await;
    let mut config = ServerConfig::for_tests();
    config.auren.database_url = Some(url);
    let server = TestServer::start(config).await;
    let key = server.user_key("fault-pg").await;

    let mut stored = 0;
    for bpm in 60..65 {
        assert_eq!(post_reading(&server, &key, bpm).await.status(), 201);
        stored += 1;
    }

    proxy.sever();
    let mut refused = 0;
    for bpm in 70..75 {
        let response = post_reading(&server, &key, bpm).await;
        assert_eq!(response.status(), 503, "a write while Postgres is down");
        assert!(!error_code(response).await.is_empty());
        refused += 1;
    }
    let health = server
        .client
        .get(server.url("/health"))
        .send()
        .await
        .expect("send");
    assert_eq!(health.status(), 503, "health names the outage");

    proxy.restore();
    refused += post_until_stored(&server, &key, 80).await;
    stored += 1;
    for bpm in 81..85 {
        assert_eq!(post_reading(&server, &key, bpm).await.status(), 201);
        stored += 1;
    }

    // Readings: exactly those answered 201, no more (nothing refused slipped in twice).
    let list: serde_json::Value = server
        .client
        .get(server.url("/api/biometrics?limit=1000"))
        .bearer_auth(&key)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(list["readings"].as_array().expect("readings").len(), stored);

    // Audit: one event per POST answered, stored or refused, written once Postgres is back.
    server.stop().await;
    let posts = audit_rows(
        &db,
        "SELECT count(*) FROM phi_audit_log \
         WHERE method = 'POST' AND resource = '/api/biometrics/heart-rate'",
    )
    .await;
    let answered = stored + usize::try_from(refused).expect("a small count");
    assert_eq!(posts, i64::try_from(answered).expect("a small count"));
    let distinct = audit_rows(
        &db,
        "SELECT count(DISTINCT request_id) FROM phi_audit_log \
         WHERE method = 'POST' AND resource = '/api/biometrics/heart-rate'",
    )
    .await;
    assert_eq!(distinct, posts, "no audit event is duplicated");
}

fn redis_config(redis: &TestRedis, url: String, on_failure: OnRedisFailure) -> ServerConfig {
    let mut config = ServerConfig::for_tests();
    config.auren.redis_url = Some(url);
    config.auren.rate_limit.redis_prefix = format!("{}rl:", redis.prefix());
    config.auren.rate_limit.on_failure = on_failure;
    let mut webhooks = WebhookConfig::default()
        .with_provider("standard", WebhookScheme::Standard, WEBHOOK_SECRET)
        .expect("provider");
    webhooks.replay_key_prefix = format!("{}wh:", redis.prefix());
    config.webhooks = webhooks;
    config
}

async fn get_readings(server: &TestServer, key: &str) -> reqwest::Response {
    let send = server
        .client
        .get(server.url("/api/biometrics"))
        .bearer_auth(key)
        .send();
    tokio::time::timeout(HANG_DETECTOR, send)
        .await
        .expect("hang: the request got no answer")
        .expect("send")
}

async fn deliver(server: &TestServer, message_id: &str) -> reqwest::Response {
    let body = serde_json::to_vec(&json!({
        "user_id": "fault-webhook",
        "readings": [{"bpm": 66, "recorded_at": "2026-01-02T03:04:05Z"}],
    }))
    .expect("json");
    let headers = WebhookScheme::Standard
        .sign(
            &WebhookSecret::new(WEBHOOK_SECRET),
            message_id,
            chrono::Utc::now().timestamp(),
            &body,
        )
        .expect("signs");
    let mut request = server
        .client
        .post(server.url("/webhooks/standard"))
        .header("content-type", "application/json")
        .body(body);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    tokio::time::timeout(HANG_DETECTOR, request.send())
        .await
        .expect("hang: the delivery got no answer")
        .expect("send")
}

#[tokio::test]
async fn redis_outage_fails_closed_when_told_and_webhook_replay_fails_closed() {
    let Some(redis) = TestRedis::create().await else {
        return;
    };
    let (proxy, url) = proxied(redis.url(), 6379).await;
    let server = TestServer::start(redis_config(&redis, url, OnRedisFailure::Closed)).await;
    let key = server.user_key("fault-redis").await;

    assert_eq!(get_readings(&server, &key).await.status(), 200);
    assert_eq!(deliver(&server, "msg_before").await.status(), 202);

    proxy.sever();
    let response = get_readings(&server, &key).await;
    assert_eq!(response.status(), 503, "fail closed: no unchecked requests");
    assert_eq!(error_code(response).await, "rate_limit_unavailable");
    let response = deliver(&server, "msg_during").await;
    assert_eq!(response.status(), 503, "replay protection fails closed");

    proxy.restore();
    let deadline = tokio::time::Instant::now() + RECOVERY;
    loop {
        let status = get_readings(&server, &key).await.status();
        if status == 200 {
            break;
        }
        assert_eq!(status, 503, "while recovering");
        assert!(
            tokio::time::Instant::now() < deadline,
            "rate limiting did not recover"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let deadline = tokio::time::Instant::now() + RECOVERY;
    loop {
        let response = deliver(&server, "msg_after").await;
        let status = response.status();
        if status == 202 {
            break;
        }
        assert_eq!(
            status,
            503,
            "while recovering: {}",
            error_code(response).await
        );
        assert!(
            tokio::time::Instant::now() < deadline,
            "webhooks did not recover"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // The replay store works again: the same delivery is a replay now.
    let response = deliver(&server, "msg_after").await;
    assert_eq!(error_code(response).await, "replayed");
    server.stop().await;
}

#[tokio::test]
async fn redis_outage_fails_open_when_told() {
    let Some(redis) = TestRedis::create().await else {
        return;
    };
    let (proxy, url) = proxied(redis.url(), 6379).await;
    let server = TestServer::start(redis_config(&redis, url, OnRedisFailure::Open)).await;
    let key = server.user_key("fault-redis-open").await;
    assert_eq!(get_readings(&server, &key).await.status(), 200);

    proxy.sever();
    for _ in 0..3 {
        assert_eq!(get_readings(&server, &key).await.status(), 200, "fail open");
    }
    proxy.restore();
    assert_eq!(get_readings(&server, &key).await.status(), 200);
    server.stop().await;
}

#[tokio::test]
async fn a_locked_table_gives_a_bounded_answer_not_a_hang() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let mut config = ServerConfig::for_tests();
    config.auren.database_url = Some(db.url().to_owned());
    let server = TestServer::start(config).await;
    let key = server.user_key("fault-slow").await;
    assert_eq!(post_reading(&server, &key, 60).await.status(), 201);

    // Another session holds the table; every write waits on the lock.
    let mut locker = db.pool().get().await.expect("a direct connection");
    let transaction = locker.transaction().await.expect("begin");
    transaction
        .batch_execute("LOCK TABLE heart_rate_readings IN ACCESS EXCLUSIVE MODE")
        .await
        .expect("lock");

    let response = post_reading(&server, &key, 61).await;
    assert_eq!(response.status(), 503, "a timeout, answered");
    transaction.rollback().await.expect("unlock");

    // The pool did not leak the stuck connection: writes work again, many times over.
    for bpm in 62..80 {
        assert_eq!(post_reading(&server, &key, bpm).await.status(), 201);
    }
    server.stop().await;
}

#[test]
fn sigterm_under_load_keeps_every_answered_request_in_the_audit_log() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let Some(db) = runtime.block_on(TestDatabase::create()) else {
        return;
    };
    let admin_key = auren::auth::KeyFormat::default()
        .generate()
        .expect("random key")
        .expose_secret()
        .to_owned();
    let master = auren::phi_crypto::MasterKey::generate()
        .expect("random")
        .to_base64();

    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_biometric-server"))
        .env_clear()
        .env("AUREN_LISTEN", "127.0.0.1:0")
        .env("AUREN_LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .env("DATABASE_URL", db.url())
        .env("PHI_MASTER_KEY", &master)
        .env("AUREN_ADMIN_KEY", &admin_key)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let address = hardening::process::listening_address(&mut child);

    let answered = runtime.block_on(async {
        let client = reqwest::Client::new();
        let load = hardening::process::load(client, address.clone(), admin_key.clone());
        let load = tokio::spawn(load);
        tokio::time::sleep(Duration::from_millis(700)).await;
        hardening::process::sigterm(&child);
        load.await.expect("the load task")
    });
    let exit = child.wait().expect("the server exits");
    assert!(exit.success(), "exit status {exit:?}");
    assert!(
        !answered.is_empty(),
        "some requests were answered before the stop"
    );

    let missing = runtime.block_on(async {
        let client = db.pool().get().await.expect("a connection");
        let mut missing = Vec::new();
        for request_id in &answered {
            let row = client
                .query_one(
                    "SELECT count(*) FROM phi_audit_log WHERE request_id = $1",
                    &[request_id],
                )
                .await
                .expect("count");
            if row.get::<_, i64>(0) != 1 {
                missing.push(request_id.clone());
            }
        }
        missing
    });
    assert!(
        missing.is_empty(),
        "{} of {} answered requests have no audit event",
        missing.len(),
        answered.len()
    );
}

#[tokio::test]
async fn a_delivery_refused_during_a_redis_outage_is_accepted_when_retried() {
    let Some(redis) = TestRedis::create().await else {
        return;
    };
    let (proxy, url) = proxied(redis.url(), 6379).await;
    let server = TestServer::start(redis_config(&redis, url, OnRedisFailure::Closed)).await;

    proxy.sever();
    assert_eq!(deliver(&server, "msg_retried").await.status(), 503);
    proxy.restore();

    let deadline = tokio::time::Instant::now() + RECOVERY;
    loop {
        let response = deliver(&server, "msg_retried").await;
        let status = response.status();
        if status == 202 {
            break;
        }
        let code = error_code(response).await;
        assert_eq!(status, 503, "the provider's retry is refused: {code}");
        assert!(
            tokio::time::Instant::now() < deadline,
            "webhooks did not recover"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    server.stop().await;
}
