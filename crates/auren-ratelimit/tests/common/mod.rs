//! Helpers shared by the integration tests.

#![allow(dead_code, unreachable_pub)]

use std::convert::Infallible;
use std::time::Duration;

use auren_core::{CallerIdentity, KeyId, Role};
use auren_ratelimit::{RateLimitLayer, RateLimiter, RedisStore};
use axum::body::Body;
use axum::routing::get;
use axum::Router;
use fred::prelude::{Builder, Client, ClientLike, Config, ReconnectPolicy};
use http::{Request, Response};
use tower::ServiceExt;

/// A fred client for `url` that reconnects quickly, connected.
pub async fn client(url: &str) -> Client {
    let client = Builder::from_config(Config::from_url(url).expect("url"))
        .set_policy(ReconnectPolicy::new_constant(0, 50))
        .build()
        .expect("client");
    client.init().await.expect("Redis answers");
    client
}

/// A Redis store with the test's prefix and its own client.
pub async fn redis_store(url: &str, prefix: &str, period: Duration) -> RedisStore {
    RedisStore::builder(client(url).await)
        .prefix(prefix)
        .period(period)
        .build()
        .expect("valid store")
}

/// A router answering `ok`, behind the rate limit and a layer that plays auth: it inserts
/// the identity the test chose.
pub fn app(limiter: RateLimiter, caller: Option<CallerIdentity>) -> Router {
    Router::new()
        .route("/", get(|| async { "ok" }))
        .layer(RateLimitLayer::new(limiter))
        .layer(tower::util::MapRequestLayer::new(
            move |mut request: Request<Body>| {
                if let Some(caller) = &caller {
                    request.extensions_mut().insert(caller.clone());
                }
                request
            },
        ))
}

/// An identity of a fresh key with `limit` requests per period.
pub fn caller(limit: u32) -> CallerIdentity {
    CallerIdentity::new("user_test", KeyId::new(), Role::User, limit)
}

/// Sends one GET through `app`.
pub async fn get_once(app: &Router) -> Response<Body> {
    let result: Result<_, Infallible> = app.clone().oneshot(Request::new(Body::empty())).await;
    result.expect("infallible")
}

/// The value of a header as a number.
pub fn header(response: &Response<Body>, name: &str) -> u64 {
    response.headers()[name]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("a number")
}

/// The `code` of an error body.
pub async fn error_code(response: Response<Body>) -> String {
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .expect("body")
        .to_bytes();
    let body: auren_core::ErrorBody = serde_json::from_slice(&bytes).expect("error body");
    body.error.code
}
