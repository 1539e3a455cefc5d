//! `WebhookLayer` in an axum router: every rejection code, the body limit, replays in
//! memory and through two layers sharing Redis, and failing closed when Redis is down.

use std::sync::Arc;
use std::time::Duration;

use auren_core::{ErrorBody, ErrorBodyLayer, ManualClock, RequestIdLayer};
use auren_testing::{TcpProxy, TestRedis};
use auren_webhook::replay::{InMemoryReplayStore, RedisReplayStore, ReplayStore};
use auren_webhook::{VerifiedWebhook, WebhookLayer, WebhookProvider, WebhookScheme, WebhookSecret};
use axum::body::Body;
use axum::routing::post;
use axum::Router;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

const SECRET: &str = "whsec_dGhpcyBpcyBhIHRlc3Qgc2VjcmV0IGtleQ==";

fn app(scheme: WebhookScheme, replay: Arc<dyn ReplayStore>, clock: &ManualClock) -> Router {
    let provider =
        WebhookProvider::new("oura", scheme, WebhookSecret::list(SECRET)).expect("valid");
    let layer = WebhookLayer::new(provider, replay)
        .clock(Arc::new(clock.clone()))
        .body_limit(1024);
    Router::new()
        .route(
            "/hook",
            post(
                |webhook: VerifiedWebhook, body: axum::body::Bytes| async move {
                    assert_eq!(webhook.body(), &body, "the handler sees the signed bytes");
                    format!(
                        "{}:{}",
                        webhook.provider(),
                        webhook.message_id().unwrap_or("-")
                    )
                },
            )
            .layer(layer),
        )
        .layer(ErrorBodyLayer::new())
        .layer(RequestIdLayer::new())
}

fn request(headers: &[(&str, String)], body: &[u8]) -> Request<Body> {
    let mut request = Request::post("/hook");
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    request.body(Body::from(body.to_vec())).expect("request")
}

fn signed(scheme: WebhookScheme, id: &str, at: i64, body: &[u8]) -> Vec<(&'static str, String)> {
    scheme
        .sign(&WebhookSecret::new(SECRET), id, at, body)
        .expect("signs")
}

async fn send(app: &Router, request: Request<Body>) -> (StatusCode, String) {
    let response = app.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    if status.is_success() {
        return (status, String::from_utf8_lossy(&bytes).into_owned());
    }
    let body: ErrorBody = serde_json::from_slice(&bytes).expect("the shared error body");
    assert!(body.error.request_id.is_some());
    (status, body.error.code)
}

#[tokio::test]
async fn a_signed_fresh_message_passes_once() {
    let clock = ManualClock::starting_now();
    let now = clock.now_secs();
    for scheme in WebhookScheme::ALL {
        let app = app(scheme, Arc::new(InMemoryReplayStore::new()), &clock);
        let body = br#"{"user_id":"u1","readings":[]}"#;
        let headers = signed(scheme, "msg_1", now, body);

        let (status, text) = send(&app, request(&headers, body)).await;
        assert_eq!(status, 200, "{scheme}: {text}");
        assert!(text.starts_with("oura:"));

        let (status, code) = send(&app, request(&headers, body)).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::UNAUTHORIZED, "replayed"),
            "{scheme}"
        );
    }
}

/// Headers, body, expected status and code.
type Case = (
    Vec<(&'static str, String)>,
    &'static [u8],
    u16,
    &'static str,
);

#[tokio::test]
async fn each_cause_has_its_own_code() {
    let clock = ManualClock::starting_now();
    let now = clock.now_secs();
    let app = app(
        WebhookScheme::Auren,
        Arc::new(InMemoryReplayStore::new()),
        &clock,
    );
    let body = b"{}";
    let good = signed(WebhookScheme::Auren, "", now, body);
    let signature = good[1].1.clone();
    let timestamp = good[0].1.clone();

    let cases: Vec<Case> = vec![
        (vec![], body, 401, "missing_signature"),
        (
            vec![("x-webhook-signature", signature.clone())],
            body,
            401,
            "missing_signature",
        ),
        (good.clone(), b"{ }", 401, "invalid_signature"),
        (
            vec![
                ("x-webhook-timestamp", timestamp.clone()),
                ("x-webhook-signature", signature[..8].to_owned()),
            ],
            body,
            400,
            "malformed_signature",
        ),
        (
            vec![
                ("x-webhook-timestamp", timestamp.clone()),
                ("x-webhook-signature", "a".repeat(10 * 1024)),
            ],
            body,
            400,
            "malformed_signature",
        ),
        (
            vec![
                ("x-webhook-timestamp", "yesterday".to_owned()),
                ("x-webhook-signature", signature.clone()),
            ],
            body,
            400,
            "malformed_timestamp",
        ),
        (
            vec![
                ("x-webhook-timestamp", timestamp.clone()),
                ("x-webhook-signature", signature.clone()),
                ("x-webhook-signature", signature.clone()),
            ],
            body,
            400,
            "duplicate_header",
        ),
        (
            signed(WebhookScheme::Auren, "", now + 3600, body),
            body,
            401,
            "stale_timestamp",
        ),
        (
            signed(WebhookScheme::Auren, "", now - 301, body),
            body,
            401,
            "stale_timestamp",
        ),
        (good.clone(), &[b'x'; 1025], 413, "payload_too_large"),
    ];
    for (headers, body, status, code) in cases {
        let answer = send(&app, request(&headers, body)).await;
        assert_eq!((answer.0.as_u16(), answer.1.as_str()), (status, code));
    }

    // None of the refusals above burned the replay id of the valid message.
    assert_eq!(send(&app, request(&good, body)).await.0, 200);
}

#[tokio::test]
async fn a_message_the_route_failed_on_may_be_retried() {
    let clock = ManualClock::starting_now();
    let provider =
        WebhookProvider::new("oura", WebhookScheme::Standard, WebhookSecret::list(SECRET))
            .expect("valid");
    let layer = WebhookLayer::new(provider, Arc::new(InMemoryReplayStore::new()))
        .clock(Arc::new(clock.clone()));
    let fails = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let status = {
        let fails = fails.clone();
        move || {
            if fails.swap(false, std::sync::atomic::Ordering::SeqCst) {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::ACCEPTED
            }
        }
    };
    let app = Router::new().route(
        "/hook",
        post(move || {
            let status = status.clone();
            async move { status() }
        })
        .layer(layer),
    );
    let body = b"{}";
    let headers = signed(WebhookScheme::Standard, "msg_retry", clock.now_secs(), body);

    assert_eq!(send_status(&app, request(&headers, body)).await, 503);
    assert_eq!(send_status(&app, request(&headers, body)).await, 202);
    assert_eq!(send_status(&app, request(&headers, body)).await, 401);
}

async fn send_status(app: &Router, request: Request<Body>) -> u16 {
    let response = app.clone().oneshot(request).await.expect("infallible");
    response.status().as_u16()
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_is_refused_while_reading() {
    let clock = ManualClock::starting_now();
    let app = app(
        WebhookScheme::Github,
        Arc::new(InMemoryReplayStore::new()),
        &clock,
    );
    let chunks = futures_util::stream::iter(
        (0..4).map(|_| Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b'x'; 400]))),
    );
    let request = Request::post("/hook")
        .header("x-hub-signature-256", format!("sha256={}", "00".repeat(32)))
        .header("x-github-delivery", "d1")
        .body(Body::from_stream(chunks))
        .expect("request");
    assert_eq!(
        send(&app, request).await,
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large".into())
    );
}

#[tokio::test]
async fn a_github_replay_with_a_fresh_delivery_id_is_still_refused() {
    let clock = ManualClock::starting_now();
    let app = app(
        WebhookScheme::Github,
        Arc::new(InMemoryReplayStore::new()),
        &clock,
    );
    let body = b"{}";
    assert_eq!(
        send(
            &app,
            request(&signed(WebhookScheme::Github, "d1", 0, body), body)
        )
        .await
        .0,
        200
    );
    let (status, code) = send(
        &app,
        request(&signed(WebhookScheme::Github, "d2", 0, body), body),
    )
    .await;
    assert_eq!((status.as_u16(), code.as_str()), (401, "replayed"));
}

#[tokio::test]
async fn a_replay_through_a_second_instance_sharing_redis_is_refused() {
    let Some(redis) = TestRedis::create().await else {
        return;
    };
    let store = || -> Arc<dyn ReplayStore> {
        Arc::new(RedisReplayStore::new(redis.client().clone()).with_prefix(redis.prefix()))
    };
    let clock = ManualClock::starting_now();
    let first = app(WebhookScheme::Standard, store(), &clock);
    let second = app(WebhookScheme::Standard, store(), &clock);
    let body = b"{}";
    let headers = signed(
        WebhookScheme::Standard,
        "msg_shared",
        clock.now_secs(),
        body,
    );

    assert_eq!(send(&first, request(&headers, body)).await.0, 200);
    let (status, code) = send(&second, request(&headers, body)).await;
    assert_eq!((status.as_u16(), code.as_str()), (401, "replayed"));

    let key = format!("{}webhook_replay:oura:id:msg_shared", redis.prefix());
    assert_eq!(redis.keys().await, vec![key.clone()]);
    let ttl: i64 = fred::prelude::KeysInterface::pttl(redis.client(), &key)
        .await
        .expect("PTTL");
    assert!(
        ttl > 0 && ttl <= 600_000,
        "expires within twice the tolerance: {ttl}"
    );
}

#[tokio::test]
async fn an_unreachable_redis_fails_closed() {
    let Some(redis) = TestRedis::create().await else {
        return;
    };
    let upstream = redis
        .url()
        .trim_start_matches("redis://")
        .parse()
        .expect("host:port");
    let proxy = TcpProxy::start(upstream).await;
    let config =
        fred::prelude::Config::from_url(&format!("redis://{}", proxy.address())).expect("url");
    let client = fred::prelude::Builder::from_config(config)
        .build()
        .expect("client");
    fred::prelude::ClientLike::init(&client)
        .await
        .expect("connects through the proxy");

    let store = RedisReplayStore::new(client)
        .with_prefix(redis.prefix())
        .with_timeout(Duration::from_millis(300));
    let clock = ManualClock::starting_now();
    let app = app(WebhookScheme::Auren, Arc::new(store), &clock);
    proxy.sever();

    let body = b"{}";
    let headers = signed(WebhookScheme::Auren, "", clock.now_secs(), body);
    let (status, code) = send(&app, request(&headers, body)).await;
    assert_eq!(
        (status.as_u16(), code.as_str()),
        (503, "replay_check_unavailable")
    );
}

#[tokio::test]
async fn what_we_sign_the_standardwebhooks_crate_verifies() {
    let body = br#"{"test": 1}"#;
    let now = chrono::Utc::now().timestamp();
    let headers = signed(WebhookScheme::Standard, "msg_interop", now, body);
    let mut map = http::HeaderMap::new();
    for (name, value) in &headers {
        map.insert(*name, value.parse().expect("value"));
    }
    let theirs = standardwebhooks::Webhook::new(SECRET).expect("secret");
    theirs
        .verify(body, &map)
        .expect("the reference crate accepts our signature");

    let signature = theirs.sign("msg_interop", now, body).expect("signs");
    map.insert("webhook-signature", signature.parse().expect("value"));
    let provider = WebhookProvider::new("p", WebhookScheme::Standard, WebhookSecret::list(SECRET))
        .expect("valid");
    provider
        .verify(&map, body, chrono::Utc::now())
        .expect("we accept theirs");
}

trait NowSecs {
    fn now_secs(&self) -> i64;
}

impl NowSecs for ManualClock {
    fn now_secs(&self) -> i64 {
        auren_core::Clock::now(self).timestamp()
    }
}

#[tokio::test]
async fn the_redis_store_sets_once_and_forgets() {
    let Some(redis) = TestRedis::create().await else {
        return;
    };
    let store = RedisReplayStore::new(redis.client().clone()).with_prefix(redis.prefix());
    let ttl = Duration::from_secs(60);
    assert!(store.first_seen("p:id:1", ttl).await.expect("answer"));
    assert!(!store.first_seen("p:id:1", ttl).await.expect("answer"));
    store.forget("p:id:1").await.expect("DEL");
    assert!(store.first_seen("p:id:1", ttl).await.expect("answer"));
    assert_eq!(redis.keys().await, vec![store.key("p:id:1")]);
}
