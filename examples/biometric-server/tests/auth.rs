//! API keys over real HTTP, with both key stores: the life cycle, roles, malformed
//! `Authorization` values, admin validation, and a revocation seen by a second instance.

mod common;

use std::time::Duration;

use biometric_server::ServerConfig;
use common::{error_code, TestServer};
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Reads a 401 and checks `WWW-Authenticate` and the error body; returns the code.
async fn unauthorized_code(response: reqwest::Response) -> String {
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    error_code(response).await
}

async fn get_readings(server: &TestServer, key: &str) -> reqwest::Response {
    server
        .client
        .get(server.url("/api/biometrics"))
        .bearer_auth(key)
        .send()
        .await
        .expect("send")
}

async fn admin(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = server
        .client
        .request(method, server.url(path))
        .bearer_auth(server.admin_key().await);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.expect("send")
}

async fn life_cycle(server: &TestServer) {
    // Create: 201, the record and the key, shown once.
    let response = admin(
        server,
        reqwest::Method::POST,
        "/admin/api-keys",
        Some(json!({"user_id": "bob", "role": "user", "description": "phone", "rate_limit": 120})),
    )
    .await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.expect("json");
    let key = created["api_key"].as_str().expect("api_key").to_owned();
    let key_id = created["key_id"].as_str().expect("key_id").to_owned();
    assert!(key.starts_with("auren_"));
    assert!(key_id.starts_with("ak_"));
    assert_eq!(created["role"], "user");
    assert_eq!(created["rate_limit_per_minute"], 120);
    assert_eq!(created["display_prefix"].as_str(), Some(&key[..10]));
    assert!(created.get("digest").is_none());

    // Use.
    assert_eq!(get_readings(server, &key).await.status(), 200);

    // List: records only, filtered by user.
    let response = admin(
        server,
        reqwest::Method::GET,
        "/admin/api-keys?user_id=bob",
        None,
    )
    .await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.expect("text");
    assert!(!text.contains(&key), "a list shows no secret");
    let list: Value = serde_json::from_str(&text).expect("json");
    let keys = list["keys"].as_array().expect("keys");
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["key_id"], key_id.as_str());
    assert!(keys[0].get("api_key").is_none() && keys[0].get("digest").is_none());

    // Update the rate limit.
    let response = admin(
        server,
        reqwest::Method::PATCH,
        &format!("/admin/api-keys/{key_id}"),
        Some(json!({"rate_limit": 30})),
    )
    .await;
    assert_eq!(response.status(), 200);
    let updated: Value = response.json().await.expect("json");
    assert_eq!(updated["rate_limit_per_minute"], 30);
    assert_eq!(updated["description"], "phone");

    // Rotate with a grace period: both keys work.
    let response = admin(
        server,
        reqwest::Method::POST,
        &format!("/admin/api-keys/{key_id}/rotate"),
        Some(json!({"grace_period_seconds": 3600})),
    )
    .await;
    assert_eq!(response.status(), 201);
    let rotated: Value = response.json().await.expect("json");
    let second = rotated["api_key"].as_str().expect("api_key").to_owned();
    let second_id = rotated["key_id"].as_str().expect("key_id").to_owned();
    assert_ne!(second, key);
    assert_eq!(rotated["rate_limit_per_minute"], 30);
    assert_eq!(rotated["previous_key"]["key_id"], key_id.as_str());
    assert!(rotated["previous_key"]["expires_at"].is_string());
    assert_eq!(get_readings(server, &key).await.status(), 200);
    assert_eq!(get_readings(server, &second).await.status(), 200);

    // Rotate without grace (empty body would mean 24 hours): the old key expires at once.
    let response = admin(
        server,
        reqwest::Method::POST,
        &format!("/admin/api-keys/{second_id}/rotate"),
        Some(json!({"grace_period_seconds": 0})),
    )
    .await;
    assert_eq!(response.status(), 201);
    let rotated: Value = response.json().await.expect("json");
    let third = rotated["api_key"].as_str().expect("api_key").to_owned();
    let third_id = rotated["key_id"].as_str().expect("key_id").to_owned();
    let response = get_readings(server, &second).await;
    assert_eq!(unauthorized_code(response).await, "expired_key");
    assert_eq!(get_readings(server, &third).await.status(), 200);

    // Revoke: 200, then the key is refused; twice is 409; unknown ids are 404.
    let path = format!("/admin/api-keys/{third_id}");
    let response = admin(server, reqwest::Method::DELETE, &path, None).await;
    assert_eq!(response.status(), 200);
    let revoked: Value = response.json().await.expect("json");
    assert!(revoked["revoked_at"].is_string());
    let response = get_readings(server, &third).await;
    assert_eq!(unauthorized_code(response).await, "revoked_key");
    let response = admin(server, reqwest::Method::DELETE, &path, None).await;
    assert_eq!(response.status(), 409);
    assert_eq!(error_code(response).await, "already_revoked");
    let response = admin(
        server,
        reqwest::Method::POST,
        &format!("{path}/rotate"),
        None,
    )
    .await;
    assert_eq!(response.status(), 409);
    assert_eq!(error_code(response).await, "key_revoked");
    for unknown in [auren::core::KeyId::new().to_string(), "nope".to_owned()] {
        let path = format!("/admin/api-keys/{unknown}");
        let response = admin(server, reqwest::Method::DELETE, &path, None).await;
        assert_eq!(response.status(), 404);
        assert_eq!(error_code(response).await, "key_not_found");
    }

    // Expire: a key with a short `expires_at` stops working once it passes.
    let expires_at = chrono::Utc::now() + chrono::Duration::milliseconds(1500);
    let short = server
        .create_key(&json!({"user_id": "carol", "role": "user", "expires_at": expires_at}))
        .await;
    assert_eq!(get_readings(server, &short).await.status(), 200);
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let response = get_readings(server, &short).await;
    assert_eq!(unauthorized_code(response).await, "expired_key");

    // The first key was used: its last use is recorded in the background.
    let mut last_used = Value::Null;
    for _ in 0..50 {
        let response = admin(server, reqwest::Method::GET, "/admin/api-keys", None).await;
        let list: Value = response.json().await.expect("json");
        last_used = list["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .find(|record| record["key_id"] == key_id.as_str())
            .expect("the first key is listed")["last_used_at"]
            .clone();
        if last_used.is_string() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(last_used.is_string(), "last_used_at is recorded");
}

#[tokio::test]
async fn key_life_cycle_in_memory() {
    let server = TestServer::in_memory().await;
    life_cycle(&server).await;
    server.stop().await;
}

#[tokio::test]
async fn key_life_cycle_in_postgres() {
    let Some(db) = auren_testing::TestDatabase::create().await else {
        return;
    };
    let server = TestServer::on_postgres(&db).await;
    life_cycle(&server).await;
    server.stop().await;
}

/// Each user sees only the readings stored with their own key.
#[tokio::test]
async fn readings_belong_to_the_key_s_user() {
    let server = TestServer::in_memory().await;
    let alice = server.user_key("alice").await;
    let bob = server.user_key("bob").await;
    let response = server
        .client
        .post(server.url("/api/biometrics/heart-rate"))
        .bearer_auth(&alice)
        .json(&json!({"bpm": 70, "recorded_at": "2026-12-01T07:00:00Z"}))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 201);
    let stored: Value = response.json().await.expect("json");
    assert_eq!(stored["user_id"], "alice");

    let list: Value = get_readings(&server, &bob)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(list["readings"], json!([]));
    let list: Value = get_readings(&server, &alice)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(list["readings"].as_array().expect("readings").len(), 1);
    server.stop().await;
}

async fn malformed_authorization_values(server: &TestServer) {
    let key = server.user_key("dora").await;
    let mut flipped: Vec<u8> = key.clone().into_bytes();
    let middle = flipped.len() / 2;
    flipped[middle] = if flipped[middle] == b'a' { b'b' } else { b'a' };
    let flipped = String::from_utf8(flipped).expect("ASCII");

    let huge = format!("Bearer {}", "a".repeat(10 * 1024));
    let cases: Vec<(&str, Vec<Vec<u8>>, &str)> = vec![
        ("no header", vec![], "missing_credentials"),
        ("empty", vec![b"".to_vec()], "missing_credentials"),
        (
            "Bearer alone",
            vec![b"Bearer".to_vec()],
            "invalid_credentials",
        ),
        (
            "Bearer and a space",
            vec![b"Bearer ".to_vec()],
            "invalid_credentials",
        ),
        (
            "lower-case scheme",
            vec![format!("bearer {key}").into_bytes()],
            "invalid_credentials",
        ),
        (
            "tab",
            vec![format!("Bearer\t{key}").into_bytes()],
            "invalid_credentials",
        ),
        (
            "two spaces",
            vec![format!("Bearer  {key}").into_bytes()],
            "invalid_credentials",
        ),
        (
            "basic",
            vec![format!("Basic {key}").into_bytes()],
            "invalid_credentials",
        ),
        ("10 KB", vec![huge.into_bytes()], "invalid_credentials"),
        (
            "non-ASCII",
            vec![b"Bearer auren_\xc3\xa9\xff\xfe".to_vec()],
            "invalid_credentials",
        ),
        (
            "one character flipped",
            vec![format!("Bearer {flipped}").into_bytes()],
            "invalid_credentials",
        ),
        (
            "truncated",
            vec![format!("Bearer {}", &key[..key.len() - 1]).into_bytes()],
            "invalid_credentials",
        ),
        (
            "well-formed but unknown",
            vec![format!(
                "Bearer {}",
                auren::auth::KeyFormat::default()
                    .generate()
                    .expect("random")
                    .expose_secret()
            )
            .into_bytes()],
            "invalid_credentials",
        ),
        (
            "two headers",
            vec![
                format!("Bearer {key}").into_bytes(),
                format!("Bearer {key}").into_bytes(),
            ],
            "invalid_credentials",
        ),
    ];

    let mut messages = Vec::new();
    for (name, values, code) in cases {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(
                AUTHORIZATION,
                HeaderValue::from_bytes(&value).expect("header value"),
            );
        }
        let response = server
            .client
            .get(server.url("/api/biometrics"))
            .headers(headers)
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 401, "{name}");
        assert_eq!(response.headers()["www-authenticate"], "Bearer", "{name}");
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["error"]["code"], code, "{name}");
        if code == "invalid_credentials" {
            messages.push(body["error"]["message"].clone());
        }
    }
    messages.dedup();
    assert_eq!(
        messages.len(),
        1,
        "nothing tells a bad checksum from an unknown key"
    );

    assert_eq!(get_readings(server, &key).await.status(), 200);
}

#[tokio::test]
async fn malformed_authorization_values_get_401_in_memory() {
    let server = TestServer::in_memory().await;
    malformed_authorization_values(&server).await;
    server.stop().await;
}

#[tokio::test]
async fn malformed_authorization_values_get_401_in_postgres() {
    let Some(db) = auren_testing::TestDatabase::create().await else {
        return;
    };
    let server = TestServer::on_postgres(&db).await;
    malformed_authorization_values(&server).await;
    server.stop().await;
}

#[tokio::test]
async fn admin_routes_need_an_admin_key_and_health_needs_none() {
    let server = TestServer::in_memory().await;
    let user = server.user_key("erin").await;

    let response = server
        .client
        .get(server.url("/admin/api-keys"))
        .bearer_auth(&user)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 403);
    assert_eq!(error_code(response).await, "forbidden");

    let response = server
        .client
        .get(server.url("/admin/api-keys"))
        .send()
        .await
        .expect("send");
    assert_eq!(unauthorized_code(response).await, "missing_credentials");

    let response = server
        .client
        .get(server.url("/health"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    server.stop().await;
}

#[tokio::test]
async fn admin_validation_answers_422() {
    let server = TestServer::in_memory().await;
    let user = json!({"user_id": "frank", "role": "user"});
    let key_id = {
        let response = admin(
            &server,
            reqwest::Method::POST,
            "/admin/api-keys",
            Some(user),
        )
        .await;
        let created: Value = response.json().await.expect("json");
        created["key_id"].as_str().expect("key_id").to_owned()
    };
    let past = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let create_cases = [
        ("unknown role", json!({"user_id": "u", "role": "root"})),
        ("no role", json!({"user_id": "u"})),
        (
            "zero rate",
            json!({"user_id": "u", "role": "user", "rate_limit": 0}),
        ),
        (
            "negative rate",
            json!({"user_id": "u", "role": "user", "rate_limit": -5}),
        ),
        (
            "huge rate",
            json!({"user_id": "u", "role": "user", "rate_limit": 1u64 << 40}),
        ),
        (
            "long user",
            json!({"user_id": "u".repeat(257), "role": "user"}),
        ),
        ("empty user", json!({"user_id": "", "role": "user"})),
        (
            "unknown field",
            json!({"user_id": "u", "role": "user", "scope": "all"}),
        ),
        (
            "past expiry",
            json!({"user_id": "u", "role": "user", "expires_at": past}),
        ),
        (
            "bad expiry",
            json!({"user_id": "u", "role": "user", "expires_at": "soon"}),
        ),
    ];
    for (name, body) in create_cases {
        let response = admin(
            &server,
            reqwest::Method::POST,
            "/admin/api-keys",
            Some(body),
        )
        .await;
        assert_eq!(response.status(), 422, "{name}");
        error_code(response).await;
    }

    let response = server
        .client
        .post(server.url("/admin/api-keys"))
        .bearer_auth(server.admin_key().await)
        .header("content-type", "application/json")
        .body("{\"user_id\": ")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 422, "bad JSON");
    assert_eq!(error_code(response).await, "invalid_json");

    let path = format!("/admin/api-keys/{key_id}");
    for (name, body) in [
        ("empty patch", json!({})),
        ("zero rate", json!({"rate_limit": 0})),
        ("long description", json!({"description": "d".repeat(1001)})),
    ] {
        let response = admin(&server, reqwest::Method::PATCH, &path, Some(body)).await;
        assert_eq!(response.status(), 422, "{name}");
        error_code(response).await;
    }
    for (name, body) in [
        ("negative grace", json!({"grace_period_seconds": -1})),
        ("long grace", json!({"grace_period_seconds": 10_000_000})),
        ("unknown field", json!({"grace": 1})),
    ] {
        let rotate = format!("{path}/rotate");
        let response = admin(&server, reqwest::Method::POST, &rotate, Some(body)).await;
        assert_eq!(response.status(), 422, "{name}");
        error_code(response).await;
    }
    server.stop().await;
}

/// Two instances share one database, each with its verification cache. A key revoked
/// through one is refused by the other within about a second (through `LISTEN/NOTIFY`).
#[tokio::test]
async fn a_revocation_is_seen_by_a_second_instance_within_a_second() {
    let Some(db) = auren_testing::TestDatabase::create().await else {
        return;
    };
    let admin_key = auren::auth::KeyFormat::default()
        .generate()
        .expect("random");
    let mut config = ServerConfig::for_tests();
    config.auren.database_url = Some(db.url().to_owned());
    config.auren.admin_key = Some(admin_key);
    let first = TestServer::start(config.clone()).await;
    let second = TestServer::start(config).await;

    let response = admin(
        &first,
        reqwest::Method::POST,
        "/admin/api-keys",
        Some(json!({"user_id": "gina", "role": "user"})),
    )
    .await;
    let created: Value = response.json().await.expect("json");
    let key = created["api_key"].as_str().expect("api_key").to_owned();
    let key_id = created["key_id"].as_str().expect("key_id").to_owned();
    assert_eq!(get_readings(&second, &key).await.status(), 200);
    assert_eq!(get_readings(&second, &key).await.status(), 200, "cached");

    let path = format!("/admin/api-keys/{key_id}");
    let response = admin(&first, reqwest::Method::DELETE, &path, None).await;
    assert_eq!(response.status(), 200);

    let mut refused = None;
    for _ in 0..20 {
        let response = get_readings(&second, &key).await;
        if response.status() == 401 {
            refused = Some(unauthorized_code(response).await);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(refused.as_deref(), Some("revoked_key"));
    first.stop().await;
    second.stop().await;
}
