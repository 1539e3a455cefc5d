//! `GET /health`: the server and the state of the services it depends on.

use std::time::Duration;

use auren_core::{ApiError, RequestId};
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use fred::prelude::ClientLike;
use serde::Serialize;

use crate::state::AppState;

/// How long a dependency may take to answer the health check.
const CHECK_TIMEOUT: Duration = Duration::from_secs(1);

/// The external services the server was configured with.
#[derive(Debug, Clone, Default)]
pub(crate) struct Dependencies {
    pub(crate) postgres: Option<deadpool_postgres::Pool>,
    pub(crate) redis: Option<fred::prelude::Client>,
}

#[derive(Debug, Serialize)]
pub(crate) struct Health {
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    postgres: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    redis: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<auren_core::ErrorDetail>,
}

/// `GET /health`: `200 {"status":"ok"}`, or `503` naming the dependency that is down.
pub(crate) async fn health(
    State(state): State<AppState>,
    request_id: Option<Extension<RequestId>>,
) -> (StatusCode, Json<Health>) {
    let dependencies = &state.dependencies;
    let (postgres, redis) = tokio::join!(
        check(dependencies.postgres.as_ref(), check_postgres),
        check(dependencies.redis.as_ref(), check_redis),
    );

    let down: Vec<&str> = [("postgres", postgres), ("redis", redis)]
        .into_iter()
        .filter(|(_, state)| *state == Some("down"))
        .map(|(name, _)| name)
        .collect();
    if down.is_empty() {
        let health = Health {
            status: "ok",
            postgres,
            redis,
            error: None,
        };
        return (StatusCode::OK, Json(health));
    }

    let message = format!("Unreachable: {}.", down.join(", "));
    let error = ApiError::unavailable("dependency_unavailable", message)
        .body(request_id.map(|Extension(id)| id))
        .error;
    let health = Health {
        status: "unavailable",
        postgres,
        redis,
        error: Some(error),
    };
    (StatusCode::SERVICE_UNAVAILABLE, Json(health))
}

async fn check<T, F>(dependency: Option<&T>, probe: impl FnOnce(T) -> F) -> Option<&'static str>
where
    T: Clone,
    F: std::future::Future<Output = bool>,
{
    let dependency = dependency?.clone();
    let healthy = tokio::time::timeout(CHECK_TIMEOUT, probe(dependency))
        .await
        .unwrap_or(false);
    Some(if healthy { "ok" } else { "down" })
}

async fn check_postgres(pool: deadpool_postgres::Pool) -> bool {
    auren_core::postgres::ping(&pool).await.is_ok()
}

async fn check_redis(client: fred::prelude::Client) -> bool {
    client.ping::<String>(None).await.is_ok()
}
