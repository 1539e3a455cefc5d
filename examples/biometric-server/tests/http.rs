//! The example server over real HTTP: request ids, the error model, and the readings API
//! with the in-memory and the Postgres backends. `/api` requests carry a user key.

mod common;

use biometric_server::ServerConfig;
use common::{error_code, request_id, TestServer};
use serde_json::{json, Value};

#[tokio::test]
async fn health_answers_ok_with_a_ulid_request_id() {
    let server = TestServer::in_memory().await;
    let response = server
        .client
        .get(server.url("/health"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    request_id(&response);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body, json!({"status": "ok"}));
    server.stop().await;
}

#[tokio::test]
async fn a_valid_incoming_request_id_is_kept_and_an_invalid_one_replaced() {
    let server = TestServer::in_memory().await;
    let mine = ulid::Ulid::new().to_string();
    let response = server
        .client
        .get(server.url("/health"))
        .header("x-request-id", &mine)
        .send()
        .await
        .expect("send");
    assert_eq!(request_id(&response), mine);

    let response = server
        .client
        .get(server.url("/health"))
        .header("x-request-id", "not-a-ulid")
        .send()
        .await
        .expect("send");
    assert_ne!(request_id(&response), "not-a-ulid");
    server.stop().await;
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_use_the_error_body() {
    let server = TestServer::in_memory().await;
    let response = server
        .client
        .get(server.url("/nope"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 404);
    assert_eq!(error_code(response).await, "not_found");

    let response = server
        .client
        .delete(server.url("/health"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 405);
    assert_eq!(error_code(response).await, "method_not_allowed");
    server.stop().await;
}

/// Every bad body gets a 4xx with the error body; none gets a 5xx.
#[tokio::test]
async fn bad_heart_rate_bodies_get_4xx_with_the_error_body() {
    let server = TestServer::in_memory().await;
    let key = server.user_key("alice").await;
    let now = "2026-12-01T07:30:00Z";
    let cases: Vec<(&str, Vec<u8>, &str, u16, &str)> = vec![
        (
            "not json",
            b"bpm=72".to_vec(),
            "application/json",
            400,
            "invalid_json",
        ),
        (
            "not utf-8",
            vec![0xff, 0xfe, b'{'],
            "application/json",
            400,
            "invalid_json",
        ),
        (
            "wrong type",
            json!({"bpm": "72", "recorded_at": now})
                .to_string()
                .into_bytes(),
            "application/json",
            422,
            "invalid_body",
        ),
        (
            "a float",
            json!({"bpm": 72.5, "recorded_at": now})
                .to_string()
                .into_bytes(),
            "application/json",
            422,
            "invalid_body",
        ),
        (
            "bpm 0",
            json!({"bpm": 0, "recorded_at": now})
                .to_string()
                .into_bytes(),
            "application/json",
            422,
            "invalid_field",
        ),
        (
            "bpm 10000",
            json!({"bpm": 10000, "recorded_at": now})
                .to_string()
                .into_bytes(),
            "application/json",
            422,
            "invalid_field",
        ),
        (
            "bad date",
            json!({"bpm": 72, "recorded_at": "yesterday"})
                .to_string()
                .into_bytes(),
            "application/json",
            422,
            "invalid_body",
        ),
        (
            "missing date",
            json!({"bpm": 72}).to_string().into_bytes(),
            "application/json",
            422,
            "invalid_body",
        ),
        (
            "unknown field",
            json!({"bpm": 72, "recorded_at": now, "ssn": "x"})
                .to_string()
                .into_bytes(),
            "application/json",
            422,
            "invalid_body",
        ),
        (
            "long note",
            json!({"bpm": 72, "recorded_at": now, "note": "a".repeat(1001)})
                .to_string()
                .into_bytes(),
            "application/json",
            422,
            "invalid_field",
        ),
        (
            "no content type",
            json!({"bpm": 72, "recorded_at": now})
                .to_string()
                .into_bytes(),
            "text/plain",
            415,
            "unsupported_media_type",
        ),
        (
            "2 MiB",
            vec![b' '; 2 * 1024 * 1024],
            "application/json",
            413,
            "payload_too_large",
        ),
    ];

    for (name, body, content_type, status, code) in cases {
        let response = server
            .client
            .post(server.url("/api/biometrics/heart-rate"))
            .bearer_auth(&key)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("send");
        assert_eq!(response.status().as_u16(), status, "{name}");
        assert_eq!(error_code(response).await, code, "{name}");
    }
    server.stop().await;
}

#[tokio::test]
async fn error_bodies_do_not_echo_submitted_values() {
    let server = TestServer::in_memory().await;
    let key = server.user_key("alice").await;
    let response = server
        .client
        .post(server.url("/api/biometrics/heart-rate"))
        .bearer_auth(&key)
        .json(&json!({"bpm": "secret-diagnosis", "recorded_at": "2026-12-01T07:30:00Z"}))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 422);
    let text = response.text().await.expect("text");
    assert!(!text.contains("secret-diagnosis"), "{text}");
    server.stop().await;
}

async fn readings_round_trip(server: &TestServer) {
    let key = server.user_key("alice").await;
    for (bpm, at) in [
        (61, "2026-12-01T07:00:00Z"),
        (72, "2026-12-01T09:00:00Z"),
        (65, "2026-12-01T08:00:00Z"),
    ] {
        let response = server
            .client
            .post(server.url("/api/biometrics/heart-rate"))
            .bearer_auth(&key)
            .json(&json!({"bpm": bpm, "recorded_at": at, "note": "resting"}))
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 201);
        let stored: Value = response.json().await.expect("json");
        assert_eq!(stored["bpm"], bpm);
        assert!(ulid::Ulid::from_string(stored["id"].as_str().expect("id")).is_ok());
    }

    for path in ["/api/biometrics", "/api/biometrics/heart-rate"] {
        let response = server
            .client
            .get(server.url(path))
            .bearer_auth(&key)
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 200);
        let list: Value = response.json().await.expect("json");
        let bpms: Vec<i64> = list["readings"]
            .as_array()
            .expect("readings")
            .iter()
            .map(|reading| reading["bpm"].as_i64().expect("bpm"))
            .collect();
        assert_eq!(bpms, vec![72, 65, 61], "{path} lists newest first");
    }

    let response = server
        .client
        .get(server.url("/api/biometrics?limit=2"))
        .bearer_auth(&key)
        .send()
        .await
        .expect("send");
    let list: Value = response.json().await.expect("json");
    assert_eq!(list["readings"].as_array().expect("readings").len(), 2);

    for bad in ["?limit=0", "?limit=1001", "?limit=ten", "?limit=-1"] {
        let response = server
            .client
            .get(server.url(&format!("/api/biometrics{bad}")))
            .bearer_auth(&key)
            .send()
            .await
            .expect("send");
        assert!(response.status().is_client_error(), "{bad}");
        error_code(response).await;
    }
}

#[tokio::test]
async fn readings_round_trip_in_memory() {
    let server = TestServer::in_memory().await;
    readings_round_trip(&server).await;
    server.stop().await;
}

#[tokio::test]
async fn readings_round_trip_in_postgres_and_health_reports_dependencies() {
    let Some(db) = auren_testing::TestDatabase::create_empty().await else {
        return;
    };
    let Some(redis) = auren_testing::TestRedis::create().await else {
        return;
    };
    let mut config = ServerConfig::for_tests();
    config.auren.database_url = Some(db.url().to_owned());
    config.auren.redis_url = Some(redis.url().to_owned());
    let server = TestServer::start(config).await;
    readings_round_trip(&server).await;

    let response = server
        .client
        .get(server.url("/health"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    assert_eq!(
        body,
        json!({"status": "ok", "postgres": "ok", "redis": "ok"})
    );
    server.stop().await;
}

#[tokio::test]
async fn health_is_503_naming_the_dependency_that_is_down() {
    let mut config = ServerConfig::for_tests();
    // Nothing listens on port 1; the client keeps retrying in the background.
    config.auren.redis_url = Some("redis://127.0.0.1:1".to_owned());
    let server = TestServer::start(config).await;
    let response = server
        .client
        .get(server.url("/health"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 503);
    let id = request_id(&response);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["redis"], "down");
    assert_eq!(body["error"]["code"], "dependency_unavailable");
    assert_eq!(body["error"]["request_id"], id.as_str());
    assert!(body["error"]["message"]
        .as_str()
        .expect("message")
        .contains("redis"));
    server.stop().await;
}
