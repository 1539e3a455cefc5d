//! The PHI access log through the example server: request ids, denied requests, the
//! admin query, and a graceful shutdown that flushes an interrupted load.

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use auren::audit::{AuditSink, PostgresSink};
use auren_testing::TestDatabase;
use biometric_server::ServerConfig;
use common::{error_code, request_id, TestServer};
use serde_json::{json, Value};

/// Sends a few audited requests as alice, one without a key and one to `/health`;
/// returns alice's request ids and the refused request's id.
async fn make_traffic(server: &TestServer) -> (Vec<String>, String) {
    let key = server.user_key("alice").await;
    let user_agent = format!("audit-test/1.0\t{}", "x".repeat(400));
    let mut ids = Vec::new();
    for path in [
        "/api/biometrics",
        "/api/biometrics?limit=2",
        "/api/biometrics/heart-rate",
    ] {
        let response = server
            .client
            .get(server.url(path))
            .bearer_auth(&key)
            .header("user-agent", &user_agent)
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 200, "{path}");
        ids.push(request_id(&response));
    }

    let response = server
        .client
        .get(server.url("/api/biometrics"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 401);
    let refused = request_id(&response);
    error_code(response).await;

    let response = server
        .client
        .get(server.url("/health"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    (ids, refused)
}

/// `POST /admin/audit-logs` with `body`, as the admin.
async fn query(server: &TestServer, body: &Value) -> reqwest::Response {
    server
        .client
        .post(server.url("/admin/audit-logs"))
        .bearer_auth(server.admin_key().await)
        .json(body)
        .send()
        .await
        .expect("send")
}

/// The events matching `body`, once at least `want` of them are there (the writer stores
/// them in the background, so a fresh event may take a moment to appear).
async fn events_eventually(server: &TestServer, body: &Value, want: usize) -> Vec<Value> {
    for _ in 0..250 {
        let response = query(server, body).await;
        assert_eq!(response.status(), 200);
        let page: Value = response.json().await.expect("json");
        let events = page["events"].as_array().cloned().unwrap_or_default();
        if events.len() >= want {
            return events;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("fewer than {want} audit events appeared for {body}");
}

#[tokio::test]
async fn requests_are_recorded_with_their_request_ids_in_memory() {
    let server = TestServer::in_memory().await;
    let (ids, refused) = make_traffic(&server).await;

    let events = events_eventually(&server, &json!({"user_id": "alice"}), 3).await;
    let recorded: HashSet<_> = events
        .iter()
        .filter_map(|e| e["request_id"].as_str())
        .collect();
    assert_eq!(recorded, ids.iter().map(String::as_str).collect());
    for event in &events {
        assert_eq!(event["outcome"], "success");
        assert_eq!(event["action"], "read");
        assert_eq!(event["status_code"], 200);
        assert_eq!(event["client_addr"], "127.0.0.1");
        let user_agent = event["user_agent"].as_str().expect("user agent");
        assert_eq!(user_agent.len(), 256, "cut to 256 characters");
        assert!(
            user_agent.starts_with("audit-test/1.0x"),
            "the tab is removed"
        );
        assert!(event["key_id"]
            .as_str()
            .is_some_and(|k| k.starts_with("ak_")));
        assert!(!event["resource"].as_str().unwrap_or("?").contains('?'));
    }

    let denied = events_eventually(&server, &json!({"outcome": "denied"}), 1).await;
    assert_eq!(denied.len(), 1);
    assert_eq!(denied[0]["request_id"], refused.as_str());
    assert_eq!(denied[0]["action"], "authenticate");
    assert_eq!(denied[0]["status_code"], 401);
    assert!(denied[0]["user_id"].is_null());

    let health = query(&server, &json!({"resource": "/health"})).await;
    let health: Value = health.json().await.expect("json");
    assert_eq!(health["events"], json!([]), "/health is not audited");
    server.stop().await;
}

#[tokio::test]
async fn the_admin_query_refuses_bad_input_with_422() {
    let server = TestServer::in_memory().await;
    for body in [
        json!({"limit": 0}),
        json!({"limit": 1_000_000}),
        json!({"start_date": "2026-02-30"}),
        json!({"end_date": "last tuesday"}),
        json!({"favourite_colour": "blue"}),
        json!({"cursor": "not-a-cursor"}),
    ] {
        let response = query(&server, &body).await;
        assert_eq!(response.status(), 422, "{body}");
        error_code(response).await;
    }

    let user_key = server.user_key("alice").await;
    let response = server
        .client
        .post(server.url("/admin/audit-logs"))
        .bearer_auth(&user_key)
        .json(&json!({}))
        .send()
        .await
        .expect("send");
    assert_eq!(
        response.status(),
        403,
        "a user key may not read the audit log"
    );
    server.stop().await;
}

async fn postgres_server() -> Option<(TestDatabase, TestServer)> {
    let db = TestDatabase::create().await?;
    let mut config = ServerConfig::for_tests();
    config.auren.database_url = Some(db.url().to_owned());
    let server = TestServer::start(config).await;
    Some((db, server))
}

async fn stored(db: &TestDatabase) -> Vec<(String, String, Option<String>)> {
    let client = db.pool().get().await.expect("connection");
    client
        .query(
            "SELECT request_id, outcome, user_id FROM phi_audit_log WHERE request_id IS NOT NULL",
            &[],
        )
        .await
        .expect("query")
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect()
}

#[tokio::test]
async fn requests_are_recorded_with_their_request_ids_in_postgres() {
    let Some((db, server)) = postgres_server().await else {
        return;
    };
    let (ids, refused) = make_traffic(&server).await;
    let events = events_eventually(&server, &json!({"user_id": "alice"}), 3).await;
    assert_eq!(events.len(), 3);
    server.stop().await;

    let rows = stored(&db).await;
    for id in &ids {
        let row = rows.iter().find(|row| &row.0 == id).expect("recorded");
        assert_eq!(
            (row.1.as_str(), row.2.as_deref()),
            ("success", Some("alice"))
        );
    }
    let row = rows.iter().find(|row| row.0 == refused).expect("recorded");
    assert_eq!((row.1.as_str(), row.2.as_deref()), ("denied", None));

    let report = PostgresSink::new(db.pool().clone())
        .verify(None, None)
        .await
        .expect("verify");
    assert!(report.is_ok(), "{report:?}");
}

#[tokio::test]
async fn graceful_shutdown_flushes_every_event_of_an_interrupted_load() {
    let Some((db, server)) = postgres_server().await else {
        return;
    };
    let key = server.user_key("alice").await;
    let url = server.url("/api/biometrics");
    let answered = Arc::new(Mutex::new(Vec::<String>::new()));
    let count = Arc::new(AtomicUsize::new(0));

    let mut load = Vec::new();
    for _ in 0..8 {
        let (client, url, key) = (server.client.clone(), url.clone(), key.clone());
        let (answered, count) = (answered.clone(), count.clone());
        load.push(tokio::spawn(async move {
            for _ in 0..10_000 {
                let Ok(response) = client.get(&url).bearer_auth(&key).send().await else {
                    return;
                };
                let id = request_id(&response);
                answered.lock().expect("lock").push(id);
                count.fetch_add(1, Ordering::SeqCst);
            }
        }));
    }

    while count.load(Ordering::SeqCst) < 200 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.stop().await;
    for task in load {
        task.await.expect("load task");
    }

    let answered = answered.lock().expect("lock").clone();
    assert!(answered.len() >= 200);
    let stored: HashSet<String> = stored(&db).await.into_iter().map(|row| row.0).collect();
    let missing: Vec<_> = answered.iter().filter(|id| !stored.contains(*id)).collect();
    assert!(
        missing.is_empty(),
        "{} answered requests were not recorded",
        missing.len()
    );
}
