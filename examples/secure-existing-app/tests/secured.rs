//! The minimal example as a user runs it: a real process, real HTTP.

use std::process::Stdio;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

#[tokio::test]
async fn the_app_is_secured_and_stops_cleanly() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_secure-existing-app"))
        .env_clear()
        .env("APP_LISTEN", "127.0.0.1:0")
        .env("RUST_LOG", "off")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the example starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut admin_key = String::new();
    let address = loop {
        let line = lines.next_line().await.expect("read").expect("a line");
        if let Some(key) = line.strip_prefix("AUREN_ADMIN_KEY=") {
            admin_key = key.to_owned();
        }
        if let Some(address) = line.strip_prefix("listening on ") {
            break address.to_owned();
        }
    };
    let client = reqwest::Client::new();
    let url = |path: &str| format!("http://{address}{path}");

    let health = client.get(url("/health")).send().await.expect("send");
    assert_eq!(health.status(), 200, "public routes stay public");
    assert!(health.headers().contains_key("x-request-id"));

    let refused = client.get(url("/api/readings")).send().await.expect("send");
    assert_eq!(refused.status(), 401);
    let body: Value = refused.json().await.expect("the JSON error body");
    assert_eq!(body["error"]["code"], "missing_credentials");
    assert!(body["error"]["request_id"].is_string());

    assert!(
        admin_key.starts_with("auren_"),
        "the first admin key is printed once"
    );
    let served = client
        .get(url("/api/readings"))
        .bearer_auth(&admin_key)
        .send()
        .await
        .expect("send");
    assert_eq!(served.status(), 200);
    assert!(served.headers().contains_key("x-ratelimit-limit"));

    // The writer stores events in the background: ask until they are there.
    let mut events = String::new();
    for _ in 0..100 {
        let audit = client
            .post(url("/admin/audit-logs"))
            .bearer_auth(&admin_key)
            .json(&serde_json::json!({}))
            .send()
            .await
            .expect("send");
        assert_eq!(audit.status(), 200);
        events = audit.text().await.expect("body");
        if events.contains("/api/readings") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        events.contains("/api/readings"),
        "the requests are audited: {events}"
    );
    assert!(events.contains("denied"), "the refused one too: {events}");

    let pid = child.id().expect("running").to_string();
    let signalled = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill runs");
    assert!(signalled.success());
    let status = child.wait().await.expect("the example exits");
    assert!(status.success(), "{status}");
}
