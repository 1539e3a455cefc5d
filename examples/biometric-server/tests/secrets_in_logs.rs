//! A full session, logged at `trace` level into a buffer, must not leave a single secret
//! in the logs: not an API key (valid, wrong or mistyped), not a webhook secret, not the
//! PHI master key, not a PHI value.
//!
//! The subscriber is global and installed once for this test binary, with the `log`
//! bridge on, so the records of tokio-postgres, hyper and fred are captured too.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use auren::webhook::{WebhookScheme, WebhookSecret};
use auren_testing::TestDatabase;
use biometric_server::{ServerConfig, WebhookConfig};
use common::TestServer;
use serde_json::json;

/// A note no other text could contain: its presence in a log is a PHI leak.
const PHI_NOTE: &str = "phi-note-zebra-quartz-8817 chest pain after stairs";
/// A heart rate rare enough to search for with its field name.
const PHI_BPM: i64 = 173;
/// The raw webhook secrets; the Standard one is also checked in its base64 form.
const STANDARD_RAW_SECRET: &str = "wh-raw-secret-pelican-4471";
const AUREN_SECRET: &str = "auren-wh-secret-heron-5520";
/// The PHI master key's bytes.
const MASTER_KEY_BYTES: [u8; 32] = *b"master-key-bytes-osprey-00912345";

/// Every line the session logs.
fn captured() -> &'static Arc<Mutex<Vec<u8>>> {
    static BUFFER: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    BUFFER.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = Arc::clone(&buffer);
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || BufferWriter(Arc::clone(&writer)))
            .try_init()
            .expect("the only subscriber of this test binary");
        buffer
    })
}

struct BufferWriter(Arc<Mutex<Vec<u8>>>);

impl Write for BufferWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `whsec_` and the base64 of [`STANDARD_RAW_SECRET`].
const STANDARD_SECRET: &str = "whsec_d2gtcmF3LXNlY3JldC1wZWxpY2FuLTQ0NzE=";

fn standard_secret() -> String {
    STANDARD_SECRET.to_owned()
}

fn master_key_base64() -> String {
    auren::phi_crypto::MasterKey::from_bytes(MASTER_KEY_BYTES).to_base64()
}

fn session_config() -> ServerConfig {
    let mut config = ServerConfig::for_tests();
    config.auren.phi_master_key =
        Some(auren::phi_crypto::MasterKey::from_base64(&master_key_base64()).expect("a valid key"));
    config.webhooks = WebhookConfig::default()
        .with_provider("standard", WebhookScheme::Standard, &standard_secret())
        .expect("standard provider")
        .with_provider("auren", WebhookScheme::Auren, AUREN_SECRET)
        .expect("auren provider");
    config
}

/// Uses every secret the server holds, in success and in failure; returns the keys seen.
async fn session(server: &TestServer, user_id: &str) -> Vec<String> {
    let admin = server.admin_key().await;
    let created = server
        .client
        .post(server.url("/admin/api-keys"))
        .bearer_auth(&admin)
        .json(&json!({"user_id": user_id, "role": "user", "description": "secrets test"}))
        .send()
        .await
        .expect("send");
    assert_eq!(created.status(), 201);
    let created: serde_json::Value = created.json().await.expect("json");
    let user_key = created["api_key"].as_str().expect("api_key").to_owned();
    let key_id = created["key_id"].as_str().expect("key_id").to_owned();

    // Readings with PHI, written and read back.
    let reading = json!({"bpm": PHI_BPM, "recorded_at": "2026-01-01T00:00:00Z", "note": PHI_NOTE});
    let response = server
        .client
        .post(server.url("/api/biometrics/heart-rate"))
        .bearer_auth(&user_key)
        .json(&reading)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 201);
    let listed = server
        .client
        .get(server.url("/api/biometrics"))
        .bearer_auth(&user_key)
        .send()
        .await
        .expect("send")
        .text()
        .await
        .expect("text");
    assert!(listed.contains(PHI_NOTE), "the note reads back");

    // Keys that fail: unknown, mistyped, and a PHI value sent where a key belongs.
    let unknown = auren::auth::KeyFormat::default()
        .generate()
        .expect("random key")
        .expose_secret()
        .to_owned();
    // The last character changed (to one it is not), so the checksum no longer matches.
    let (head, last) = user_key.split_at(user_key.len() - 1);
    let mistyped = format!("{head}{}", if last == "x" { "y" } else { "x" });
    for wrong in [unknown.as_str(), mistyped.as_str(), PHI_NOTE] {
        let response = server
            .client
            .get(server.url("/api/biometrics"))
            .header("authorization", format!("Bearer {wrong}"))
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 401);
    }

    // Webhook deliveries: signed, then tampered.
    let delivery = serde_json::to_vec(&json!({
        "user_id": user_id,
        "readings": [{"bpm": PHI_BPM, "recorded_at": "2026-01-02T03:04:05Z"}],
    }))
    .expect("json");
    let now = chrono::Utc::now().timestamp();
    for (provider, scheme, secret) in [
        ("standard", WebhookScheme::Standard, standard_secret()),
        ("auren", WebhookScheme::Auren, AUREN_SECRET.to_owned()),
    ] {
        let id = format!("msg_{}", ulid::Ulid::new());
        let headers = scheme
            .sign(&WebhookSecret::new(secret), &id, now, &delivery)
            .expect("signs");
        for body in [delivery.clone(), b"{\"tampered\":true}".to_vec()] {
            let mut request = server
                .client
                .post(server.url(&format!("/webhooks/{provider}")))
                .header("content-type", "application/json")
                .body(body);
            for (name, value) in &headers {
                request = request.header(*name, value);
            }
            let status = request.send().await.expect("send").status();
            assert!(status.is_success() || status.is_client_error(), "{status}");
        }
    }

    // Rotation and revocation of the user key.
    let rotated = server
        .client
        .post(server.url(&format!("/admin/api-keys/{key_id}/rotate")))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("send");
    assert_eq!(rotated.status(), 201);
    let rotated: serde_json::Value = rotated.json().await.expect("json");
    let new_key = rotated["api_key"].as_str().expect("api_key").to_owned();
    let new_id = rotated["key_id"].as_str().expect("key_id").to_owned();
    let revoked = server
        .client
        .delete(server.url(&format!("/admin/api-keys/{new_id}")))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("send");
    assert_eq!(revoked.status(), 200);

    vec![admin, user_key, new_key, unknown, mistyped]
}

/// The secret part of a key: everything after its display prefix, which is meant to be
/// shown (`auren_` and a few characters).
fn secret_tail(key: &str) -> &str {
    let shown = "auren_".len() + auren::auth::DISPLAY_RANDOM_CHARS;
    &key[shown.min(key.len())..]
}

fn assert_clean(logs: &str, keys: &[String]) {
    let master_hex: String = MASTER_KEY_BYTES
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut forbidden: Vec<(String, String)> = vec![
        ("webhook secret".into(), standard_secret()),
        ("raw webhook secret".into(), STANDARD_RAW_SECRET.into()),
        ("auren webhook secret".into(), AUREN_SECRET.into()),
        ("master key (base64)".into(), master_key_base64()),
        (
            "master key (bytes)".into(),
            String::from_utf8_lossy(&MASTER_KEY_BYTES).into(),
        ),
        ("master key (hex)".into(), master_hex),
        ("PHI note".into(), "zebra-quartz-8817".into()),
        ("PHI bpm".into(), format!("bpm={PHI_BPM}")),
        ("PHI bpm".into(), format!("bpm: {PHI_BPM}")),
        ("PHI bpm".into(), format!("\"bpm\":{PHI_BPM}")),
    ];
    for key in keys {
        forbidden.push(("API key".into(), key.clone()));
        forbidden.push(("API key (secret part)".into(), secret_tail(key).to_owned()));
    }

    let leaks: Vec<String> = forbidden
        .iter()
        .filter(|(_, secret)| logs.contains(secret.as_str()))
        .map(|(what, _)| what.clone())
        .collect();
    assert!(leaks.is_empty(), "secrets in the logs: {leaks:?}");
}

#[tokio::test]
async fn a_full_session_logged_at_trace_leaks_no_secret() {
    let buffer = captured();

    let server = TestServer::start(session_config()).await;
    let mut keys = session(&server, "secrets-user-memory").await;
    server.stop().await;

    let mut with_postgres = false;
    if let Some(db) = TestDatabase::create().await {
        let mut config = session_config();
        config.auren.database_url = Some(db.url().to_owned());
        let server = TestServer::start(config).await;
        keys.extend(session(&server, "secrets-user-postgres").await);
        server.stop().await;
        with_postgres = true;
    }

    let logs = String::from_utf8_lossy(&buffer.lock().expect("log buffer")).into_owned();
    if with_postgres {
        // The `log` bridge works: the driver's own statement logs were captured and scanned.
        assert!(
            logs.contains("tokio_postgres"),
            "the driver's logs are captured"
        );
    }
    assert!(
        logs.contains("TRACE") || logs.contains("DEBUG"),
        "the capture works: {} bytes",
        logs.len()
    );
    assert_clean(&logs, &keys);
}
