//! The readings handlers with no auren layer: the baseline of `scripts/bench-stack.sh`.

use std::sync::Arc;

use auren::core::{CallerIdentity, KeyId, Role};
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use crate::readings;
use crate::state::AppState;
use crate::store::ReadingStore;

/// The readings routes with no auren layer in front, every request served as `user_id`.
///
/// This router exists only as the baseline of the whole-stack benchmark
/// (`scripts/bench-stack.sh`): it runs the very handlers of `GET /api/biometrics` and
/// `POST /api/biometrics/heart-rate` over the same kind of store, so that the difference
/// to the full server is the cost of the layers. It has no authentication, no rate limit
/// and no audit: never serve it to anyone.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use biometric_server::{bare_router, InMemoryReadingStore, ReadingStore};
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let phi = auren::phi_crypto::PhiCrypto::builder(
///     auren::phi_crypto::MasterKey::generate().unwrap(),
///     auren::phi_crypto::InMemoryKeyStore::new(),
/// )
/// .build()
/// .await
/// .unwrap();
/// let store: Arc<dyn ReadingStore> = Arc::new(InMemoryReadingStore::new(phi));
/// let router: axum::Router = bare_router(store, "bench-user");
/// # drop(router);
/// # });
/// ```
pub fn bare_router(readings: Arc<dyn ReadingStore>, user_id: &str) -> Router {
    let state = AppState { readings };
    let caller = CallerIdentity::new(user_id, KeyId::new(), Role::User, u32::MAX);

    let api = Router::new()
        .route("/biometrics", get(readings::list_heart_rate))
        .route(
            "/biometrics/heart-rate",
            post(readings::create_heart_rate).get(readings::list_heart_rate),
        );
    Router::new()
        .nest("/api", api)
        .with_state(state)
        .layer(middleware::from_fn(move |request, next| {
            insert_caller(caller.clone(), request, next)
        }))
}

/// Attaches the fixed caller, as the auth layer would for a verified key.
async fn insert_caller(caller: CallerIdentity, mut request: Request, next: Next) -> Response {
    request.extensions_mut().insert(caller);
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::InMemoryReadingStore;
    use axum::body::Body;
    use http::StatusCode;
    use tower::ServiceExt;

    async fn store() -> Arc<dyn ReadingStore> {
        let master = auren::phi_crypto::MasterKey::generate().expect("random");
        let phi = auren::phi_crypto::PhiCrypto::builder(
            master,
            auren::phi_crypto::InMemoryKeyStore::new(),
        )
        .build()
        .await
        .expect("in-memory PHI");
        Arc::new(InMemoryReadingStore::new(phi))
    }

    #[tokio::test]
    async fn serves_the_fixed_user_without_a_key() {
        let router = bare_router(store().await, "bench-user");
        let body = r#"{"bpm": 61, "recorded_at": "2026-01-01T00:00:00Z"}"#;
        let post = http::Request::post("/api/biometrics/heart-rate")
            .header("content-type", "application/json")
            .body(Body::from(body))
            .expect("request");
        let created = router.clone().oneshot(post).await.expect("served");
        assert_eq!(created.status(), StatusCode::CREATED);

        let get = http::Request::get("/api/biometrics")
            .body(Body::empty())
            .expect("request");
        let listed = router.oneshot(get).await.expect("served");
        assert_eq!(listed.status(), StatusCode::OK);
        let bytes = axum::body::to_bytes(listed.into_body(), usize::MAX)
            .await
            .expect("body");
        let list: readings::ReadingList = serde_json::from_slice(&bytes).expect("json");
        assert_eq!(list.readings.len(), 1);
        assert_eq!(list.readings[0].user_id, "bench-user");
        assert_eq!(list.readings[0].bpm, 61);
    }
}
