//! `POST /webhooks/{provider}` over real HTTP: each scheme, tampering, rotation, the
//! payload checks, the stored readings, and replays through two instances sharing Redis.

mod common;

use auren::webhook::{WebhookScheme, WebhookSecret};
use auren_testing::TestRedis;
use biometric_server::{ReadingList, ServerConfig, WebhookAccepted, WebhookConfig};
use common::{error_code, TestServer};
use serde_json::json;

/// A Standard Webhooks secret is base64; the others take any string, and this is one too.
const SECRET: &str = "whsec_b3VyYS10ZXN0LXNlY3JldC0xMjM0NTY=";
const NEXT_SECRET: &str = "whsec_bmV4dC1zZWNyZXQtYWZ0ZXItcm90YXRpb24=";

fn config(webhooks: WebhookConfig) -> ServerConfig {
    let mut config = ServerConfig::for_tests();
    config.webhooks = webhooks;
    config
}

fn every_scheme() -> WebhookConfig {
    let secrets = format!("{SECRET} {NEXT_SECRET}");
    WebhookScheme::ALL
        .into_iter()
        .fold(WebhookConfig::default(), |config, scheme| {
            config
                .with_provider(scheme.name(), scheme, &secrets)
                .expect("valid provider")
        })
}

fn delivery(user_id: &str, bpms: &[i64]) -> Vec<u8> {
    let readings: Vec<_> = bpms
        .iter()
        .map(|bpm| json!({"bpm": bpm, "recorded_at": "2026-01-02T03:04:05Z", "hrv": 41}))
        .collect();
    serde_json::to_vec(&json!({"user_id": user_id, "readings": readings})).expect("json")
}

async fn post(
    server: &TestServer,
    provider: &str,
    scheme: WebhookScheme,
    secret: &str,
    message_id: &str,
    body: &[u8],
) -> reqwest::Response {
    let now = chrono::Utc::now().timestamp();
    let headers = scheme
        .sign(&WebhookSecret::new(secret), message_id, now, body)
        .expect("signs");
    let mut request = server
        .client
        .post(server.url(&format!("/webhooks/{provider}")))
        .header("content-type", "application/json")
        .body(body.to_vec());
    for (name, value) in headers {
        request = request.header(name, value);
    }
    request.send().await.expect("send")
}

async fn stored_bpms(server: &TestServer, user_id: &str) -> Vec<u16> {
    let key = server.user_key(user_id).await;
    let response = server
        .client
        .get(server.url("/api/biometrics/heart-rate"))
        .bearer_auth(key)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    let list: ReadingList = response.json().await.expect("json");
    let mut bpms: Vec<u16> = list.readings.iter().map(|r| r.bpm).collect();
    bpms.sort_unstable();
    bpms
}

#[tokio::test]
async fn every_scheme_delivers_readings_that_are_stored_for_the_user() {
    let server = TestServer::start(config(every_scheme())).await;
    for (index, scheme) in WebhookScheme::ALL.into_iter().enumerate() {
        let body = delivery("ring_user", &[60 + index as i64]);
        let response = post(&server, scheme.name(), scheme, SECRET, "msg_a", &body).await;
        assert_eq!(response.status(), 202, "{scheme}");
        let accepted: WebhookAccepted = response.json().await.expect("json");
        assert_eq!(
            (accepted.provider.as_str(), accepted.accepted),
            (scheme.name(), 1)
        );
    }
    assert_eq!(
        stored_bpms(&server, "ring_user").await,
        vec![60, 61, 62, 63]
    );
    server.stop().await;
}

#[tokio::test]
async fn either_secret_passes_during_a_rotation_and_a_retired_one_fails() {
    let server = TestServer::start(config(every_scheme())).await;
    for scheme in WebhookScheme::ALL {
        for (secret, id) in [(SECRET, "msg_old"), (NEXT_SECRET, "msg_new")] {
            let body = delivery(&format!("rotating_{scheme}_{id}"), &[70]);
            let response = post(&server, scheme.name(), scheme, secret, id, &body).await;
            assert_eq!(response.status(), 202, "{scheme} {id}");
        }
        let retired = "whsec_cmV0aXJlZC1zZWNyZXQ=";
        let body = delivery("rotating", &[70]);
        let response = post(&server, scheme.name(), scheme, retired, "msg_r", &body).await;
        assert_eq!(response.status(), 401);
        assert_eq!(error_code(response).await, "invalid_signature");
    }
    server.stop().await;
}

#[tokio::test]
async fn tampered_unsigned_and_unknown_deliveries_are_refused() {
    let server = TestServer::start(config(every_scheme())).await;
    let body = delivery("victim", &[64]);
    let now = chrono::Utc::now().timestamp();
    let headers = WebhookScheme::Auren
        .sign(&WebhookSecret::new(SECRET), "", now, &body)
        .expect("signs");
    let mut tampered = body.clone();
    let last = tampered.len() - 3;
    tampered[last] = b'9';

    let mut request = server
        .client
        .post(server.url("/webhooks/auren"))
        .body(tampered);
    for (name, value) in &headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.expect("send");
    assert_eq!(response.status(), 401);
    assert_eq!(error_code(response).await, "invalid_signature");

    // No API key is needed (nor enough): the signature is the authentication.
    let response = server
        .client
        .post(server.url("/webhooks/auren"))
        .bearer_auth(server.user_key("victim").await)
        .body(body.clone())
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 401);
    assert_eq!(error_code(response).await, "missing_signature");

    let response = post(&server, "fitbit", WebhookScheme::Auren, SECRET, "m", &body).await;
    assert_eq!(response.status(), 404);
    assert_eq!(error_code(response).await, "unknown_provider");

    assert!(stored_bpms(&server, "victim").await.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn signed_but_invalid_payloads_store_nothing() {
    let server = TestServer::start(config(every_scheme())).await;
    let cases: [(Vec<u8>, u16, &str); 5] = [
        (delivery("p1", &[64, 19]), 422, "invalid_field"),
        (delivery("p1", &[301]), 422, "invalid_field"),
        (delivery("", &[64]), 422, "invalid_field"),
        (delivery("p1", &[]), 422, "invalid_field"),
        (b"{not json".to_vec(), 400, "invalid_json"),
    ];
    for (index, (body, status, code)) in cases.into_iter().enumerate() {
        let id = format!("msg_{index}");
        let response = post(
            &server,
            "standard",
            WebhookScheme::Standard,
            SECRET,
            &id,
            &body,
        )
        .await;
        assert_eq!(response.status(), status, "case {index}");
        assert_eq!(error_code(response).await, code, "case {index}");
    }
    assert!(stored_bpms(&server, "p1").await.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn a_replay_to_a_second_instance_sharing_redis_is_refused() {
    let Some(redis) = TestRedis::create().await else {
        return;
    };
    let mut webhooks = every_scheme();
    webhooks.replay_key_prefix = redis.prefix().to_owned();
    let mut config = config(webhooks);
    config.auren.redis_url = Some(redis.url().to_owned());
    let first = TestServer::start(config.clone()).await;
    let second = TestServer::start(config).await;

    for scheme in WebhookScheme::ALL {
        let now = chrono::Utc::now().timestamp();
        let body = delivery("replayed_user", &[80]);
        let headers = scheme
            .sign(&WebhookSecret::new(SECRET), "msg_once", now, &body)
            .expect("signs");
        let mut answers = Vec::new();
        for server in [&first, &second] {
            let mut request = server
                .client
                .post(server.url(&format!("/webhooks/{}", scheme.name())))
                .body(body.clone());
            for (name, value) in &headers {
                request = request.header(*name, value);
            }
            answers.push(request.send().await.expect("send"));
        }
        let replay = answers.pop().expect("two answers");
        assert_eq!(answers[0].status(), 202, "{scheme}");
        assert_eq!(replay.status(), 401, "{scheme}");
        assert_eq!(error_code(replay).await, "replayed");
    }

    let keys = redis.keys().await;
    assert!(!keys.is_empty());
    assert!(keys
        .iter()
        .all(|key| key.starts_with(&format!("{}webhook_replay:", redis.prefix()))));
    first.stop().await;
    second.stop().await;
}

#[test]
fn a_bad_webhook_variable_exits_2_naming_it() {
    for (variable, value, other) in [
        (
            "AUREN_WEBHOOK_SCHEME_OURA",
            "svix",
            ("AUREN_WEBHOOK_SECRET_OURA", "hunter2"),
        ),
        (
            "AUREN_WEBHOOK_SECRET_OURA",
            " ",
            ("AUREN_WEBHOOK_SCHEME_OURA", "auren"),
        ),
    ] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_biometric-server"))
            .env_clear()
            .env(variable, value)
            .env(other.0, other.1)
            .output()
            .expect("the binary runs");
        assert_eq!(output.status.code(), Some(2), "{variable}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(variable), "{stderr}");
        assert!(!stderr.contains("hunter2"), "{stderr}");
    }
}
