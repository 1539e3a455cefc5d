//! `GET /health`: the server and the state of the services it depends on.

use std::sync::Arc;
use std::time::Duration;

use auren::core::{ApiError, ErrorDetail, RequestId};
use auren::{Auren, ServiceState};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde::Serialize;

/// How long a dependency may take to answer the health check.
const CHECK_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Debug, Serialize)]
struct Health {
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    postgres: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    redis: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorDetail>,
}

/// The `/health` route, public.
pub(crate) fn router(auren: Arc<Auren>) -> Router {
    Router::new()
        .route("/health", get(health))
        .with_state(auren)
}

/// `GET /health`: `200 {"status":"ok"}`, or `503` naming the dependency that is down.
async fn health(
    State(auren): State<Arc<Auren>>,
    request_id: Option<Extension<RequestId>>,
) -> (StatusCode, Json<Health>) {
    let services = auren.check_services(CHECK_TIMEOUT).await;
    let mut health = Health {
        status: "ok",
        postgres: services.postgres.map(ServiceState::as_str),
        redis: services.redis.map(ServiceState::as_str),
        error: None,
    };

    let down = services.down();
    if down.is_empty() {
        return (StatusCode::OK, Json(health));
    }

    let message = format!("Unreachable: {}.", down.join(", "));
    let error = ApiError::unavailable("dependency_unavailable", message)
        .body(request_id.map(|Extension(id)| id))
        .error;
    health.status = "unavailable";
    health.error = Some(error);
    (StatusCode::SERVICE_UNAVAILABLE, Json(health))
}
