//! API key management (`/admin/api-keys`).
//!
//! | request | answer |
//! |---|---|
//! | `POST /api-keys` `{"user_id", "role", "description"?, "rate_limit"?, "expires_at"?}` | `201`, the record and `api_key` (shown this once) |
//! | `GET /api-keys[?user_id=]` | `200 {"keys": [...]}`, records only |
//! | `DELETE /api-keys/{key_id}` | `200` the revoked record; `409 already_revoked`; `404 key_not_found` |
//! | `POST /api-keys/{key_id}/rotate` `{"grace_period_seconds"?}` | `201`, the new record, `api_key` and `previous_key` |
//! | `PATCH /api-keys/{key_id}` `{"rate_limit"?, "description"?}` | `200` the updated record |
//!
//! Every bad body is a `422`: `invalid_field` for a field out of range, `invalid_json` for
//! a body that is not JSON, `invalid_body` for the wrong shape (unknown role, unknown field,
//! wrong type). Malformed key ids are `404` like unknown ones. No answer holds a digest.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use auren_auth::{ApiKeys, AuthLayer, InMemoryKeyStore, RequireRoleLayer};
//! use axum::Router;
//!
//! let keys = Arc::new(ApiKeys::new(Arc::new(InMemoryKeyStore::new())));
//! let app: Router = Router::new()
//!     .nest("/admin", auren_admin::api_keys::router(keys.clone()))
//!     .layer(RequireRoleLayer::admin())
//!     .layer(AuthLayer::new(keys));
//! # drop(app);
//! ```

use std::sync::Arc;
use std::time::Duration;

use auren_auth::{ApiKeys, KeyError, KeyRecord, KeyUpdate, NewKey, Revocation};
use auren_core::{ApiError, ApiJson, ApiPath, ApiQuery, KeyId, Role};
use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::StatusCode;
use axum::routing::{delete, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The longest grace period a rotation accepts: 90 days.
pub const MAX_GRACE_PERIOD_SECONDS: i64 = 90 * 24 * 60 * 60;

/// The key routes, to nest under `/admin` behind the auth layer and the admin role.
pub fn router<S>(keys: Arc<ApiKeys>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route("/api-keys", post(create).get(list))
        .route("/api-keys/{key_id}", delete(revoke).patch(update))
        .route("/api-keys/{key_id}/rotate", post(rotate))
        .with_state(keys)
}

/// The body of `POST /admin/api-keys`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    /// The user the key acts for, 1 to 256 characters.
    pub user_id: String,
    /// `user` or `admin`.
    pub role: Role,
    /// A note for operators.
    #[serde(default)]
    pub description: String,
    /// Requests per minute; the role's default when absent.
    pub rate_limit: Option<i64>,
    /// When the key stops working; must be in the future.
    pub expires_at: Option<DateTime<Utc>>,
}

/// The body of `PATCH /admin/api-keys/{key_id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchKey {
    /// A new rate limit, in requests per minute.
    pub rate_limit: Option<i64>,
    /// A new description.
    pub description: Option<String>,
}

/// The body of `POST /admin/api-keys/{key_id}/rotate` (optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateKey {
    /// How long the old key keeps working; 86400 (24 hours) when absent.
    pub grace_period_seconds: Option<i64>,
}

/// The query of `GET /admin/api-keys`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only the keys of this user.
    pub user_id: Option<String>,
}

/// A record with its secret, answered once when a key is issued.
#[derive(Debug, Serialize)]
pub struct IssuedKeyBody {
    /// The record.
    #[serde(flatten)]
    pub record: KeyRecord,
    /// The secret key: store it now, it is not shown again.
    pub api_key: String,
    /// On rotation: the old key's record, with its grace expiry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_key: Option<KeyRecord>,
}

/// The answer of `GET /admin/api-keys`.
#[derive(Debug, Serialize)]
pub struct KeyList {
    /// The records, oldest first.
    pub keys: Vec<KeyRecord>,
}

async fn create(
    State(keys): State<Arc<ApiKeys>>,
    AdminJson(body): AdminJson<CreateKey>,
) -> Result<(StatusCode, Json<IssuedKeyBody>), ApiError> {
    if body.expires_at.is_some_and(|at| at <= Utc::now()) {
        return Err(invalid_field("expires_at must be in the future."));
    }
    let new = NewKey {
        user_id: body.user_id,
        description: body.description,
        role: body.role,
        rate_limit_per_minute: body.rate_limit.map(rate_limit).transpose()?,
        expires_at: body.expires_at,
    };

    let issued = keys.create(new).await.map_err(key_error)?;
    let body = IssuedKeyBody {
        api_key: issued.key.expose_secret().to_owned(),
        record: issued.record,
        previous_key: None,
    };
    Ok((StatusCode::CREATED, Json(body)))
}

async fn list(
    State(keys): State<Arc<ApiKeys>>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<KeyList>, ApiError> {
    let records = keys
        .list(query.user_id.as_deref())
        .await
        .map_err(|error| key_error(error.into()))?;
    Ok(Json(KeyList { keys: records }))
}

async fn revoke(
    State(keys): State<Arc<ApiKeys>>,
    ApiPath(key_id): ApiPath<String>,
) -> Result<Json<KeyRecord>, ApiError> {
    let key_id = parse_key_id(&key_id)?;
    match keys.revoke(key_id).await.map_err(key_error)? {
        Revocation::Revoked(stored) => Ok(Json(stored.record)),
        Revocation::AlreadyRevoked(_) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "already_revoked",
            "This API key was already revoked; nothing changed.",
        )),
        _ => Err(not_found()),
    }
}

async fn rotate(
    State(keys): State<Arc<ApiKeys>>,
    ApiPath(key_id): ApiPath<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<IssuedKeyBody>), ApiError> {
    let key_id = parse_key_id(&key_id)?;
    let body: RotateKey = if body.iter().all(u8::is_ascii_whitespace) {
        RotateKey::default()
    } else {
        serde_json::from_slice(&body).map_err(|_| {
            ApiError::unprocessable(
                "invalid_body",
                "The body must be a JSON object with an optional grace_period_seconds.",
            )
        })?
    };
    let grace = match body.grace_period_seconds {
        None => auren_auth::DEFAULT_ROTATION_GRACE,
        Some(seconds) if (0..=MAX_GRACE_PERIOD_SECONDS).contains(&seconds) => {
            Duration::from_secs(seconds.unsigned_abs())
        }
        Some(_) => {
            return Err(invalid_field(
                "grace_period_seconds must be between 0 and 7776000 (90 days).",
            ))
        }
    };

    let rotation = keys.rotate(key_id, grace).await.map_err(key_error)?;
    let body = IssuedKeyBody {
        api_key: rotation.new.key.expose_secret().to_owned(),
        record: rotation.new.record,
        previous_key: Some(rotation.old),
    };
    Ok((StatusCode::CREATED, Json(body)))
}

async fn update(
    State(keys): State<Arc<ApiKeys>>,
    ApiPath(key_id): ApiPath<String>,
    AdminJson(body): AdminJson<PatchKey>,
) -> Result<Json<KeyRecord>, ApiError> {
    let key_id = parse_key_id(&key_id)?;
    if body.rate_limit.is_none() && body.description.is_none() {
        return Err(invalid_field(
            "Give at least one of rate_limit and description.",
        ));
    }
    let update = KeyUpdate {
        rate_limit_per_minute: body.rate_limit.map(rate_limit).transpose()?,
        description: body.description,
    };
    let record = keys.update(key_id, &update).await.map_err(key_error)?;
    Ok(Json(record))
}

/// [`ApiJson`], except that a body that is not JSON answers `422 invalid_json` (not
/// `400`): every bad admin body is a 422.
struct AdminJson<T>(T);

impl<T, S> FromRequest<S> for AdminJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match ApiJson::<T>::from_request(request, state).await {
            Ok(ApiJson(value)) => Ok(Self(value)),
            Err(error) if error.status() == StatusCode::BAD_REQUEST => Err(
                ApiError::unprocessable(error.code().to_owned(), error.message().to_owned()),
            ),
            Err(error) => Err(error),
        }
    }
}

fn rate_limit(value: i64) -> Result<u32, ApiError> {
    u32::try_from(value)
        .ok()
        .filter(|limit| (1..=auren_auth::MAX_RATE_LIMIT_PER_MINUTE).contains(limit))
        .ok_or_else(|| {
            invalid_field("rate_limit must be between 1 and 1000000 requests per minute.")
        })
}

fn parse_key_id(text: &str) -> Result<KeyId, ApiError> {
    text.parse().map_err(|_| not_found())
}

fn invalid_field(message: &'static str) -> ApiError {
    ApiError::unprocessable("invalid_field", message)
}

fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "key_not_found",
        "No API key has this id.",
    )
}

fn key_error(error: KeyError) -> ApiError {
    match error {
        KeyError::Invalid(invalid) => ApiError::unprocessable("invalid_field", invalid.to_string()),
        KeyError::NotFound => not_found(),
        KeyError::Revoked => ApiError::new(
            StatusCode::CONFLICT,
            "key_revoked",
            "This API key is revoked and cannot be rotated.",
        ),
        other => {
            tracing::warn!(error = %other, "an API key operation failed");
            ApiError::unavailable(
                "key_store_unavailable",
                "API keys cannot be managed right now; try again shortly.",
            )
        }
    }
}
