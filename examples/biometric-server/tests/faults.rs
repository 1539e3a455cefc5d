//! Faults of the real services while the example server works: Postgres cut and back,
//! Postgres and Redis stopped and started again, Postgres answering slowly, and SIGTERM
//! under load.
//!
//! Two kinds of outage. A network cut is made with `auren_testing::TcpProxy` in front of
//! the shared services, so only this test's server sees it. A real stop and restart is made
//! on a server of the test's own, `auren_testing::PrivatePostgres` (`pg_ctl stop -m fast`,
//! then `start` on the same port and data) or `auren_testing::PrivateRedis` (`SHUTDOWN
//! NOSAVE`, then a new, empty `redis-server` on the same port), so the parallel suite is
//! not disturbed either. Durations are never asserted: a generous timeout around each
//! request only detects hangs.

mod common;
mod hardening;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use auren::webhook::{WebhookScheme, WebhookSecret};
use auren::OnRedisFailure;
use auren_testing::{PrivatePostgres, PrivateRedis, TcpProxy, TestDatabase, TestRedis};
use biometric_server::{ServerConfig, WebhookConfig};
use common::{error_code, request_id, TestServer};
use hardening::HANG_DETECTOR;
use serde_json::json;
use tokio::sync::mpsc;

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

/// Every reading stored for `key`'s user (up to 1 000), newest first.
async fn stored_readings(server: &TestServer, key: &str) -> Vec<serde_json::Value> {
    let list: serde_json::Value = server
        .client
        .get(server.url("/api/biometrics?limit=1000"))
        .bearer_auth(key)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    list["readings"].as_array().expect("readings").clone()
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
    let list = stored_readings(&server, &key).await;
    assert_eq!(list.len(), stored);

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

/// One reading the writer sent, and how it was answered.
#[derive(Debug)]
struct AnsweredWrite {
    note: String,
    status: u16,
    request_id: String,
}

/// Posts readings one after another, each with a note of its own, until it is told to
/// stop, and reports every answer; a test reads the answers as they come.
struct Writer {
    answers: mpsc::UnboundedReceiver<AnsweredWrite>,
    seen: Vec<AnsweredWrite>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Writer {
    fn start(server: &TestServer, key: &str) -> Self {
        let (sender, answers) = mpsc::unbounded_channel();
        let stop = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn(keep_writing(
            server.client.clone(),
            server.url(HEART_RATE),
            key.to_owned(),
            stop.clone(),
            sender,
        ));
        Self {
            answers,
            seen: Vec::new(),
            stop,
            task,
        }
    }

    /// Reads answers until `count` more of them had `status`.
    async fn wait_for(&mut self, status: u16, count: usize) {
        let mut matching = 0;
        let waited = tokio::time::timeout(RECOVERY, async {
            while matching < count {
                let answer = self.answers.recv().await.expect("the writer is running");
                matching += usize::from(answer.status == status);
                self.seen.push(answer);
            }
        })
        .await;
        assert!(waited.is_ok(), "no {count} answers {status} in time");
    }

    /// Stops writing after the request in flight; returns every answer.
    async fn finish(mut self) -> Vec<AnsweredWrite> {
        self.stop.store(true, Ordering::SeqCst);
        while let Some(answer) = self.answers.recv().await {
            self.seen.push(answer);
        }
        self.task.await.expect("the writer ends cleanly");
        self.seen
    }
}

async fn keep_writing(
    client: reqwest::Client,
    url: String,
    key: String,
    stop: Arc<AtomicBool>,
    answers: mpsc::UnboundedSender<AnsweredWrite>,
) {
    for sequence in 0_u32.. {
        if stop.load(Ordering::SeqCst) {
            return;
        }

        let note = format!("write {sequence}");
        let body = json!({"bpm": 72, "recorded_at": "2026-01-01T00:00:00Z", "note": note});
        let send = client.post(&url).bearer_auth(&key).json(&body).send();
        let response = tokio::time::timeout(HANG_DETECTOR, send)
            .await
            .expect("hang: the request got no answer")
            .expect("send");
        let status = response.status().as_u16();
        let request_id = request_id(&response);
        if status != 201 {
            assert_eq!(status, 503, "a write is stored or refused as unavailable");
            assert!(!error_code(response).await.is_empty());
        }

        let answer = AnsweredWrite {
            note,
            status,
            request_id,
        };
        if answers.send(answer).is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn postgres_stopped_and_restarted_under_writes_loses_and_duplicates_nothing() {
    let Some(mut db) = PrivatePostgres::create().await else {
        return;
    };
    let mut config = ServerConfig::for_tests();
    config.auren.database_url = Some(db.url().to_owned());
    let server = TestServer::start(config).await;
    let key = server
        .create_key(&json!({"user_id": "restart-pg", "role": "user", "rate_limit": 100_000}))
        .await;

    let mut writer = Writer::start(&server, &key);
    writer.wait_for(201, 5).await;

    // A real stop: sessions are ended, new connections refused, while writes keep coming.
    db.stop().await;
    writer.wait_for(503, 3).await;
    let health = server
        .client
        .get(server.url("/health"))
        .send()
        .await
        .expect("send");
    assert_eq!(health.status(), 503, "health names the outage");

    // The same cluster comes back; the server was never restarted.
    db.start().await;
    writer.wait_for(201, 5).await;
    let answers = writer.finish().await;

    // Readings: each write answered 201 is stored exactly once, and nothing unsent is.
    let list = stored_readings(&server, &key).await;
    let mut stored: HashMap<String, usize> = HashMap::new();
    for reading in &list {
        let note = reading["note"].as_str().expect("a note").to_owned();
        *stored.entry(note).or_default() += 1;
    }
    let sent: HashSet<&str> = answers.iter().map(|answer| answer.note.as_str()).collect();
    for answer in answers.iter().filter(|answer| answer.status == 201) {
        assert_eq!(
            stored.get(&answer.note),
            Some(&1),
            "{} stored once",
            answer.note
        );
    }
    for (note, copies) in &stored {
        assert!(sent.contains(note.as_str()), "{note} was never sent");
        assert_eq!(*copies, 1, "{note} is stored once");
    }

    // Audit: exactly one event per answered request, written once Postgres is back.
    server.stop().await;
    let rows = db
        .client()
        .await
        .query(
            "SELECT request_id, count(*) FROM phi_audit_log \
             WHERE method = 'POST' AND resource = '/api/biometrics/heart-rate' \
             GROUP BY request_id",
            &[],
        )
        .await
        .expect("audit rows");
    let audited: HashMap<String, i64> = rows
        .iter()
        .map(|row| (row.get::<_, String>(0), row.get::<_, i64>(1)))
        .collect();
    for answer in &answers {
        assert_eq!(
            audited.get(&answer.request_id),
            Some(&1),
            "one audit event for {} (answered {})",
            answer.request_id,
            answer.status
        );
    }
    assert_eq!(audited.len(), answers.len(), "no event without an answer");
}

/// A server on the Redis at `url`, its keys under `prefix`, with a webhook provider.
fn redis_config(prefix: &str, url: String, on_failure: OnRedisFailure) -> ServerConfig {
    let mut config = ServerConfig::for_tests();
    config.auren.redis_url = Some(url);
    config.auren.rate_limit.redis_prefix = format!("{prefix}rl:");
    config.auren.rate_limit.on_failure = on_failure;
    let mut webhooks = WebhookConfig::default()
        .with_provider("standard", WebhookScheme::Standard, WEBHOOK_SECRET)
        .expect("provider");
    webhooks.replay_key_prefix = format!("{prefix}wh:");
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

/// Retries `GET` until the rate limiter lets it through; every refusal meanwhile is a 503.
async fn get_readings_until_allowed(server: &TestServer, key: &str) {
    let deadline = tokio::time::Instant::now() + RECOVERY;
    loop {
        let status = get_readings(server, key).await.status();
        if status == 200 {
            return;
        }
        assert_eq!(status, 503, "while recovering");
        assert!(
            tokio::time::Instant::now() < deadline,
            "rate limiting did not recover"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Retries a delivery, as a provider would, until it is accepted; every refusal meanwhile
/// is a 503 (a `replayed` would mean a refused delivery was remembered).
async fn deliver_until_accepted(server: &TestServer, message_id: &str) {
    let deadline = tokio::time::Instant::now() + RECOVERY;
    loop {
        let response = deliver(server, message_id).await;
        let status = response.status();
        if status == 202 {
            return;
        }
        let code = error_code(response).await;
        assert_eq!(status, 503, "the provider's retry is refused: {code}");
        assert!(
            tokio::time::Instant::now() < deadline,
            "webhooks did not recover"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A way to take Redis away from the server and give it back.
trait Outage {
    async fn begin(&mut self);
    async fn end(&mut self);
}

impl Outage for TcpProxy {
    async fn begin(&mut self) {
        self.sever();
    }

    async fn end(&mut self) {
        self.restore();
    }
}

impl Outage for PrivateRedis {
    async fn begin(&mut self) {
        self.stop().await;
    }

    async fn end(&mut self) {
        self.start().await;
    }
}

/// With `OnRedisFailure::Closed`, through `outage`: rate-limited requests and webhook
/// deliveries are refused while Redis is away, and both recover by themselves.
async fn fails_closed_then_recovers(server: &TestServer, user: &str, outage: &mut impl Outage) {
    let key = server.user_key(user).await;
    assert_eq!(get_readings(server, &key).await.status(), 200);
    assert_eq!(deliver(server, "msg_before").await.status(), 202);

    outage.begin().await;
    let response = get_readings(server, &key).await;
    assert_eq!(response.status(), 503, "fail closed: no unchecked requests");
    assert_eq!(error_code(response).await, "rate_limit_unavailable");
    let response = deliver(server, "msg_during").await;
    assert_eq!(response.status(), 503, "replay protection fails closed");

    // A new delivery, not the refused one: a cut connection may lose the answer to a
    // `SET` that Redis did apply, and that delivery's retry is then refused as a replay
    // (the fail-closed side; `a_delivery_refused_during_a_redis_outage_is_accepted_when_
    // retried` covers the retry of a delivery Redis never saw).
    outage.end().await;
    get_readings_until_allowed(server, &key).await;
    deliver_until_accepted(server, "msg_after").await;

    // The replay store works again: the same delivery is a replay now.
    let response = deliver(server, "msg_after").await;
    assert_eq!(error_code(response).await, "replayed");
}

#[tokio::test]
async fn redis_outage_fails_closed_when_told_and_webhook_replay_fails_closed() {
    let Some(redis) = TestRedis::create().await else {
        return;
    };
    let (mut proxy, url) = proxied(redis.url(), 6379).await;
    let server = TestServer::start(redis_config(redis.prefix(), url, OnRedisFailure::Closed)).await;

    fails_closed_then_recovers(&server, "fault-redis", &mut proxy).await;
    server.stop().await;
}

#[tokio::test]
async fn redis_outage_fails_open_when_told() {
    let Some(redis) = TestRedis::create().await else {
        return;
    };
    let (proxy, url) = proxied(redis.url(), 6379).await;
    let server = TestServer::start(redis_config(redis.prefix(), url, OnRedisFailure::Open)).await;
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
async fn redis_stopped_and_restarted_fails_closed_when_told_and_recovers_by_itself() {
    let Some(mut redis) = PrivateRedis::create().await else {
        return;
    };
    let config = redis_config("", redis.url().to_owned(), OnRedisFailure::Closed);
    let server = TestServer::start(config).await;

    // A real stop; then a new, empty Redis on the same port, which the server's client
    // reconnects to by itself.
    fails_closed_then_recovers(&server, "restart-redis", &mut redis).await;
    server.stop().await;
}

#[tokio::test]
async fn redis_stopped_and_restarted_fails_open_when_told_and_recovers_by_itself() {
    let Some(mut redis) = PrivateRedis::create().await else {
        return;
    };
    let config = redis_config("", redis.url().to_owned(), OnRedisFailure::Open);
    let server = TestServer::start(config).await;
    let key = server.user_key("restart-redis-open").await;
    assert_eq!(get_readings(&server, &key).await.status(), 200);
    assert!(redis.key_count().await > 0, "the limit is kept in Redis");

    redis.stop().await;
    for _ in 0..3 {
        assert_eq!(get_readings(&server, &key).await.status(), 200, "fail open");
    }

    // The restarted Redis is empty: once a request writes a limit key again, the limiter
    // is back on Redis rather than still failing open.
    redis.start().await;
    let deadline = tokio::time::Instant::now() + RECOVERY;
    loop {
        assert_eq!(get_readings(&server, &key).await.status(), 200);
        if redis.key_count().await > 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "rate limiting did not return to Redis"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
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
    let server = TestServer::start(redis_config(redis.prefix(), url, OnRedisFailure::Closed)).await;

    proxy.sever();
    assert_eq!(deliver(&server, "msg_retried").await.status(), 503);
    proxy.restore();

    deliver_until_accepted(&server, "msg_retried").await;
    server.stop().await;
}
