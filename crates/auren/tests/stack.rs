//! The facade end to end: one configuration, the layers in order around a plain tower
//! service, and every request — refused ones too — in the audit log. In memory, and over
//! real Postgres and Redis.

use std::convert::Infallible;

use auren::audit::AuditQueryRequest;
use auren::auth::NewKey;
use auren::{Auren, AurenConfig, Role};
use axum::body::Body;
use http::{Request, Response, StatusCode};
use serde_json::Value;
use tower::{service_fn, Layer, ServiceExt};

/// A host's own service, no axum: it answers with the caller it was handed.
async fn host(request: Request<Body>) -> Result<Response<Body>, Infallible> {
    let caller = auren::CallerIdentity::from_extensions(request.extensions())
        .map(|caller| caller.user_id().to_owned())
        .unwrap_or_default();
    Ok(Response::new(Body::from(caller)))
}

async fn call(auren: &Auren, key: Option<&str>) -> Response<Body> {
    let mut request = Request::get("/readings");
    if let Some(key) = key {
        request = request.header("authorization", format!("Bearer {key}"));
    }
    let request = request.body(Body::empty()).expect("request");
    auren
        .layer()
        .layer(service_fn(host))
        .oneshot(request)
        .await
        .expect("infallible")
}

async fn body_json(response: Response<Body>) -> Value {
    let bytes = axum::body::to_bytes(response.into_body(), 64 * 1024)
        .await
        .expect("body");
    serde_json::from_slice(&bytes).expect("json")
}

/// Every audit event, as JSON, once the writer has stored every event it accepted.
async fn audit_events(auren: &Auren) -> Vec<Value> {
    for _ in 0..1000 {
        let stats = auren.audit_writer().stats();
        if stats.written >= stats.accepted {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let query = AuditQueryRequest {
        limit: Some(1000),
        ..Default::default()
    }
    .validate()
    .expect("valid query");
    let page = auren.audit_sink().query(&query).await.expect("query");
    page.events
        .iter()
        .map(|event| serde_json::to_value(event).expect("json"))
        .collect()
}

/// Drives the stack through a refusal by auth, a served request and a refusal by the
/// rate limiter, and checks what each layer left behind.
async fn layers_run_in_order_and_every_request_is_audited(auren: &Auren) {
    let mut new = NewKey::new("stack-user", Role::User);
    new.rate_limit_per_minute = Some(2);
    let key = auren.keys().create(new).await.expect("a key").key;
    let key = key.expose_secret();

    let refused = call(auren, None).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let request_id = refused.headers()["x-request-id"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let body = body_json(refused).await;
    assert_eq!(body["error"]["code"], "missing_credentials");
    assert_eq!(body["error"]["request_id"], request_id.as_str());

    let mut statuses = Vec::new();
    for _ in 0..3 {
        let response = call(auren, Some(key)).await;
        assert!(response.headers().contains_key("x-request-id"));
        assert!(response.headers().contains_key("x-ratelimit-limit"));
        statuses.push(response.status());
    }
    assert_eq!(
        statuses,
        [
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::TOO_MANY_REQUESTS
        ],
        "auth attributes the key, then its limit of 2 applies"
    );

    let events = audit_events(auren).await;
    let mine: Vec<&Value> = events
        .iter()
        .filter(|event| {
            event["request_id"] == request_id.as_str() || event["user_id"] == "stack-user"
        })
        .collect();
    let outcomes: Vec<(&str, u64)> = mine
        .iter()
        .map(|event| {
            let outcome = event["outcome"].as_str().expect("outcome");
            (outcome, event["status_code"].as_u64().expect("status"))
        })
        .collect();
    assert_eq!(mine.len(), 4, "{events:?}");
    for expected in [("denied", 401), ("success", 200), ("denied", 429)] {
        assert!(outcomes.contains(&expected), "{expected:?} in {outcomes:?}");
    }
}

#[tokio::test]
async fn in_memory() {
    let auren = Auren::start(AurenConfig::default()).await.expect("starts");

    layers_run_in_order_and_every_request_is_audited(&auren).await;

    auren.shutdown().await;
}

#[tokio::test]
async fn over_postgres_and_redis() {
    let Some(db) = auren_testing::TestDatabase::create_empty().await else {
        return;
    };
    let Some(redis) = auren_testing::TestRedis::create().await else {
        return;
    };
    let mut config = AurenConfig::from_lookup(|name| match name {
        "DATABASE_URL" => Some(db.url().to_owned()),
        "REDIS_URL" => Some(redis.url().to_owned()),
        "PHI_MASTER_KEY" => Some("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".to_owned()),
        _ => None,
    })
    .expect("valid");
    config.rate_limit.redis_prefix = redis.prefix().to_owned();
    let auren = Auren::start(config)
        .await
        .expect("starts on Postgres and Redis");

    layers_run_in_order_and_every_request_is_audited(&auren).await;
    let health = auren
        .check_services(std::time::Duration::from_secs(2))
        .await;
    assert!(health.all_up(), "{health:?}");
    assert!(health.postgres.is_some() && health.redis.is_some());
    let sealed = auren
        .phi()
        .encrypt_phi_field(&72_u16, "stack-user")
        .await
        .expect("seal");
    let opened: u16 = auren
        .phi()
        .decrypt_phi_field(&sealed, "stack-user")
        .await
        .expect("open");
    assert_eq!(opened, 72);

    auren.shutdown().await;
}
