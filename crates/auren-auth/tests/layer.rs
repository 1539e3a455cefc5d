//! The layers driven in-process: identity in both extensions, the public paths, a store
//! that fails, and the admin role.

use std::sync::Arc;

use async_trait::async_trait;
use auren_auth::{
    ApiKeys, AuthLayer, InMemoryKeyStore, KeyDigest, KeyRecord, KeyStore, KeyUpdate, NewKey,
    RequireRoleLayer, Revocation, StoreError, StoredKey,
};
use auren_core::{ApiError, CallerIdentity, KeyId, Role};
use axum::body::Body;
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Utc};
use http::{Request, Response, StatusCode};
use tower::ServiceExt;

fn app(keys: Arc<ApiKeys>) -> Router {
    let admin = Router::new()
        .route("/admin/stats", get(|| async { "stats" }))
        .layer(RequireRoleLayer::admin());
    Router::new()
        .route("/api/me", get(|| async { "me" }))
        .route("/health", get(|| async { "ok" }))
        .merge(admin)
        .layer(AuthLayer::new(keys).public_path("/health"))
}

async fn call(app: &Router, path: &str, key: Option<&str>) -> Response<Body> {
    let mut request = Request::get(path);
    if let Some(key) = key {
        request = request.header("authorization", format!("Bearer {key}"));
    }
    let request = request.body(Body::empty()).expect("request");
    app.clone().oneshot(request).await.expect("infallible")
}

#[tokio::test]
async fn the_identity_reaches_the_response_extensions() {
    let keys = Arc::new(ApiKeys::new(Arc::new(InMemoryKeyStore::new())));
    let issued = keys
        .create(NewKey::new("user_7", Role::User))
        .await
        .expect("create");
    let app = app(keys);

    let response = call(&app, "/api/me", Some(issued.key.expose_secret())).await;
    assert_eq!(response.status(), StatusCode::OK);
    let caller = CallerIdentity::from_extensions(response.extensions()).expect("identity");
    assert_eq!(caller.user_id(), "user_7");
    assert_eq!(caller.key_id(), issued.record.key_id);

    let response = call(&app, "/api/me", None).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let error = response
        .extensions()
        .get::<ApiError>()
        .expect("the error rides along");
    assert_eq!(error.code(), "missing_credentials");
    assert!(CallerIdentity::from_extensions(response.extensions()).is_none());

    assert_eq!(call(&app, "/health", None).await.status(), StatusCode::OK);
    let response = call(&app, "/admin/stats", Some(issued.key.expose_secret())).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

/// A store that is down: every operation fails.
#[derive(Debug)]
struct DownStore;

fn down() -> StoreError {
    StoreError::InvalidRow("the test store is down")
}

#[async_trait]
impl KeyStore for DownStore {
    async fn insert(&self, _: &KeyRecord, _: &KeyDigest) -> Result<(), StoreError> {
        Err(down())
    }
    async fn find_by_digest(&self, _: &KeyDigest) -> Result<Option<StoredKey>, StoreError> {
        Err(down())
    }
    async fn get(&self, _: KeyId) -> Result<Option<StoredKey>, StoreError> {
        Err(down())
    }
    async fn list(&self, _: Option<&str>) -> Result<Vec<KeyRecord>, StoreError> {
        Err(down())
    }
    async fn revoke(&self, _: KeyId, _: DateTime<Utc>) -> Result<Revocation, StoreError> {
        Err(down())
    }
    async fn expire_by(&self, _: KeyId, _: DateTime<Utc>) -> Result<Option<StoredKey>, StoreError> {
        Err(down())
    }
    async fn update(&self, _: KeyId, _: &KeyUpdate) -> Result<Option<StoredKey>, StoreError> {
        Err(down())
    }
    async fn touch(&self, _: KeyId, _: DateTime<Utc>) -> Result<(), StoreError> {
        Err(down())
    }
    async fn has_active_admin(&self, _: DateTime<Utc>) -> Result<bool, StoreError> {
        Err(down())
    }
    async fn insert_if_no_active_admin(
        &self,
        _: &KeyRecord,
        _: &KeyDigest,
        _: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Err(down())
    }
}

#[tokio::test]
async fn a_store_that_is_down_gives_503_not_500() {
    let keys = Arc::new(ApiKeys::new(Arc::new(DownStore)));
    let app = app(keys.clone());
    let key = keys.format().generate().expect("random");
    let response = call(&app, "/api/me", Some(key.expose_secret())).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let error = response.extensions().get::<ApiError>().expect("error");
    assert_eq!(error.code(), "auth_unavailable");

    // A malformed key is refused offline, without asking the store.
    let response = call(&app, "/api/me", Some("auren_short")).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}
