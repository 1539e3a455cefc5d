//! Rate-limit status (`/admin/rate-limits`).
//!
//! | request | answer |
//! |---|---|
//! | `GET /rate-limits[?cursor=&limit=]` | `200 {"rate_limits": [...], "next_cursor"}` |
//! | `GET /rate-limits/{key_id}` | `200` one key's state; `404 rate_limit_not_found` |
//! | `DELETE /rate-limits/{key_id}` | `200 {"key_id", "had_state"}`: the key's full limit is back |
//!
//! Each entry is `{"key_id", "limit", "remaining", "reset_seconds"}`: the limit of the
//! key's last admitted request, the requests it could make at once now, and the seconds
//! until its full limit is available again. A key with no state (no request within the
//! last period) is as good as fresh and is not listed.
//!
//! Pages hold about `limit` entries (1 to 1000, default 100); pass `next_cursor` back as
//! `cursor` until it is `null`. With the Redis store the cursor is Redis `SCAN`'s: a key
//! may show up on two pages and a page may be empty while more follow. A foreign cursor
//! answers `400 invalid_cursor`; a store that does not answer, `503
//! rate_limit_unavailable`.
//!
//! # Example
//!
//! ```
//! use auren_ratelimit::{MemoryStore, RateLimiter};
//! use axum::Router;
//!
//! let limiter = RateLimiter::in_memory(MemoryStore::new());
//! let admin: Router = Router::new().nest("/admin", auren_admin::rate_limits::router(limiter));
//! # drop(admin);
//! ```

use auren_core::{ApiError, ApiPath, ApiQuery, KeyId};
use auren_ratelimit::{headers::seconds_up, KeyStatus, RateLimiter, StoreError};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

/// The page size when `limit` is absent.
pub const DEFAULT_PAGE_SIZE: usize = 100;

/// The largest page size accepted.
pub const MAX_PAGE_SIZE: usize = 1_000;

/// The rate-limit routes, to nest under `/admin` behind the auth layer and the admin role.
pub fn router<S>(limiter: RateLimiter) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route("/rate-limits", get(list))
        .route("/rate-limits/{key_id}", get(show).delete(reset))
        .with_state(limiter)
}

/// The query of `GET /admin/rate-limits`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// About how many entries to return, 1 to 1000.
    pub limit: Option<usize>,
}

/// One key's rate-limit state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimitEntry {
    /// The key.
    pub key_id: KeyId,
    /// The limit of the key's last admitted request, per minute.
    pub limit: u32,
    /// Requests the key could make at once, now.
    pub remaining: u32,
    /// Seconds until the key's full limit is available again.
    pub reset_seconds: u64,
}

impl From<KeyStatus> for RateLimitEntry {
    fn from(status: KeyStatus) -> Self {
        Self {
            key_id: status.key_id,
            limit: status.limit,
            remaining: status.remaining,
            reset_seconds: seconds_up(status.reset),
        }
    }
}

/// The answer of `GET /admin/rate-limits`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimitPage {
    /// The keys on this page.
    pub rate_limits: Vec<RateLimitEntry>,
    /// The cursor of the next page, `null` on the last one.
    pub next_cursor: Option<String>,
}

/// The answer of `DELETE /admin/rate-limits/{key_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimitReset {
    /// The key.
    pub key_id: KeyId,
    /// Whether the key had state to forget.
    pub had_state: bool,
}

async fn list(
    State(limiter): State<RateLimiter>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<RateLimitPage>, ApiError> {
    let size = query.limit.unwrap_or(DEFAULT_PAGE_SIZE);
    if !(1..=MAX_PAGE_SIZE).contains(&size) {
        return Err(ApiError::unprocessable(
            "invalid_field",
            "limit must be between 1 and 1000.",
        ));
    }

    let page = limiter
        .list(query.cursor.as_deref(), size)
        .await
        .map_err(store_error)?;
    Ok(Json(RateLimitPage {
        rate_limits: page.keys.into_iter().map(RateLimitEntry::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

async fn show(
    State(limiter): State<RateLimiter>,
    ApiPath(key_id): ApiPath<KeyId>,
) -> Result<Json<RateLimitEntry>, ApiError> {
    match limiter.status(key_id).await.map_err(store_error)? {
        Some(status) => Ok(Json(status.into())),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "rate_limit_not_found",
            "This key has no rate-limit state: it made no request within the last period.",
        )),
    }
}

async fn reset(
    State(limiter): State<RateLimiter>,
    ApiPath(key_id): ApiPath<KeyId>,
) -> Result<Json<RateLimitReset>, ApiError> {
    let had_state = limiter.reset(key_id).await.map_err(store_error)?;
    tracing::debug!(key_id = %key_id, had_state, "rate-limit state reset");
    Ok(Json(RateLimitReset { key_id, had_state }))
}

fn store_error(error: StoreError) -> ApiError {
    match error {
        StoreError::InvalidCursor => ApiError::bad_request(
            "invalid_cursor",
            "The cursor is not one this endpoint handed out.",
        ),
        other => {
            tracing::debug!(error = %other, "rate-limit store failed an admin call");
            ApiError::unavailable(
                "rate_limit_unavailable",
                "The rate-limit store is unavailable; retry shortly.",
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use auren_ratelimit::MemoryStore;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    async fn call(app: &Router, method: &str, uri: &str) -> (StatusCode, serde_json::Value) {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::empty())
            .expect("request");
        let response = app.clone().oneshot(request).await.expect("infallible");
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("body");
        (status, serde_json::from_slice(&bytes).expect("json"))
    }

    #[tokio::test]
    async fn lists_shows_and_resets_keys() {
        let limiter = RateLimiter::in_memory(MemoryStore::new());
        let keys: Vec<KeyId> = (0..3).map(|_| KeyId::new()).collect();
        for key in &keys {
            limiter.check(*key, 10).await;
        }
        let app: Router = router(limiter);

        let (status, body) = call(&app, "GET", "/rate-limits?limit=2").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["rate_limits"].as_array().map(Vec::len), Some(2));
        let cursor = body["next_cursor"]
            .as_str()
            .expect("a next page")
            .to_owned();
        let (_, body) = call(&app, "GET", &format!("/rate-limits?cursor={cursor}")).await;
        assert_eq!(body["rate_limits"].as_array().map(Vec::len), Some(1));
        assert!(body["next_cursor"].is_null());

        let (status, body) = call(&app, "GET", &format!("/rate-limits/{}", keys[0])).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["limit"], 10);
        assert_eq!(body["remaining"], 9);
        assert_eq!(body["reset_seconds"], 6);

        let (status, body) = call(&app, "DELETE", &format!("/rate-limits/{}", keys[0])).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["had_state"], true);
        let (status, body) = call(&app, "GET", &format!("/rate-limits/{}", keys[0])).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["error"]["code"], "rate_limit_not_found");
    }

    #[tokio::test]
    async fn bad_input_is_a_clear_4xx() {
        let app: Router = router(RateLimiter::in_memory(MemoryStore::new()));
        for (uri, status, code) in [
            ("/rate-limits/nope", 400, "invalid_path"),
            ("/rate-limits?limit=0", 422, "invalid_field"),
            ("/rate-limits?limit=5000", 422, "invalid_field"),
            ("/rate-limits?limit=x", 400, "invalid_query"),
            ("/rate-limits?cursor=zzz", 400, "invalid_cursor"),
        ] {
            let (got, body) = call(&app, "GET", uri).await;
            assert_eq!(got.as_u16(), status, "{uri}");
            assert_eq!(body["error"]["code"], code, "{uri}");
        }
    }
}
