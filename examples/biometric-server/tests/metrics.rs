//! `GET /admin/metrics`: the Prometheus text of every part, behind an admin key.

mod common;

use common::TestServer;
use serde_json::json;

/// The value of the first series of `text` whose line starts with `series`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|line| line.starts_with(series))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

#[tokio::test]
async fn metrics_need_an_admin_key_and_count_what_the_layers_saw() {
    let server = TestServer::in_memory().await;
    let user_key = server.user_key("metrics-user").await;
    let admin_key = server.admin_key().await;
    let url = server.url("/admin/metrics");

    // A refused key, a stored reading and a read: auth, PHI and request outcomes.
    let refused = server
        .client
        .get(server.url("/api/biometrics"))
        .bearer_auth("auren_not-a-real-key")
        .send()
        .await
        .expect("send");
    assert_eq!(refused.status(), 401);
    let created = server
        .client
        .post(server.url("/api/biometrics/heart-rate"))
        .bearer_auth(&user_key)
        .json(&json!({"bpm": 61, "recorded_at": "2026-12-01T07:30:00Z"}))
        .send()
        .await
        .expect("send");
    assert_eq!(created.status(), 201);

    let anonymous = server.client.get(&url).send().await.expect("send");
    assert_eq!(anonymous.status(), 401);
    let as_user = server
        .client
        .get(&url)
        .bearer_auth(&user_key)
        .send()
        .await
        .expect("send");
    assert_eq!(as_user.status(), 403);

    let response = server
        .client
        .get(&url)
        .bearer_auth(&admin_key)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().expect("ascii");
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = response.text().await.expect("text");

    for series in [
        "auren_http_requests_total{outcome=\"success\"}",
        "auren_http_requests_total{outcome=\"denied\"}",
        "auren_auth_failures_total{code=\"invalid_credentials\"}",
        "auren_auth_failures_total{code=\"missing_credentials\"}",
        "auren_auth_failures_total{code=\"forbidden\"}",
        "auren_ratelimit_decisions_total{decision=\"allowed\"}",
        "auren_phi_operations_total{operation=\"encrypt\"}",
        "auren_http_request_duration_seconds_count",
    ] {
        let value = sample(&text, series).unwrap_or_else(|| panic!("{series} in:\n{text}"));
        assert!(value >= 1.0, "{series} = {value}");
    }
    assert!(!text.contains(&user_key), "no key in the metrics");
    assert!(!text.contains("metrics-user"), "no user id in the metrics");

    server.stop().await;
}
