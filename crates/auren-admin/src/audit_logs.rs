//! Audit log queries (`/admin/audit-logs`).
//!
//! `POST /audit-logs` with
//! `{"user_id"?, "key_id"?, "action"?, "outcome"?, "resource"?, "start_date"?, "end_date"?,
//! "limit"?, "cursor"?}` answers `200 {"events": [...], "next_cursor"}`, newest first.
//!
//! Dates are `YYYY-MM-DD` (a whole day) or RFC 3339; `limit` is 1 to 1000 (default 100).
//! A bad date, a bad limit, a bad cursor or an unknown outcome answers
//! `422 invalid_field`; an unknown field or a wrong type `422 invalid_body`. Every filter
//! reaches the database as a bound parameter.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use auren_audit::MemorySink;
//! use axum::Router;
//!
//! let app: Router = Router::new()
//!     .nest("/admin", auren_admin::audit_logs::router(Arc::new(MemorySink::new())));
//! # drop(app);
//! ```

use auren_audit::{AuditPage, AuditQueryRequest, QueryError, SharedSink};
use auren_core::{ApiError, ApiJson};
use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};

/// The audit route, to nest under `/admin` behind the auth layer and the admin role.
pub fn router<S>(sink: SharedSink) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route("/audit-logs", post(query))
        .with_state(sink)
}

async fn query(
    State(sink): State<SharedSink>,
    ApiJson(request): ApiJson<AuditQueryRequest>,
) -> Result<Json<AuditPage>, ApiError> {
    let query = request.validate().map_err(|error| match error {
        QueryError::Invalid(message) => ApiError::unprocessable("invalid_field", message),
        other => query_failed(&other),
    })?;
    let page = sink
        .query(&query)
        .await
        .map_err(|error| query_failed(&QueryError::Sink(error)))?;
    Ok(Json(page))
}

fn query_failed(error: &QueryError) -> ApiError {
    tracing::warn!(error = %error, "an audit query failed");
    ApiError::unavailable(
        "audit_unavailable",
        "The audit log cannot be read right now.",
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use auren_audit::{Action, AuditEvent, ChainState, MemorySink, Outcome};
    use auren_core::ErrorBody;
    use axum::body::Body;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    async fn post(app: &axum::Router, body: &str) -> (u16, serde_json::Value) {
        let request = http::Request::post("/admin/audit-logs")
            .header("content-type", "application/json")
            .body(Body::from(body.to_owned()))
            .expect("request");
        let response = app.clone().oneshot(request).await.expect("infallible");
        let status = response.status().as_u16();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        (status, serde_json::from_slice(&bytes).expect("json"))
    }

    fn app() -> axum::Router {
        let sink = MemorySink::new();
        let mut chain = ChainState::new();
        sink.open_chain_now(chain.chain_id());
        let rows = (0..5)
            .map(|i| {
                let event = AuditEvent::new(Action::Read, "/api/x", Outcome::Success)
                    .with_user(Some(if i % 2 == 0 { "alice" } else { "bob" }), None);
                chain.seal(event)
            })
            .collect();
        sink.store(rows);
        axum::Router::new().nest("/admin", super::router(Arc::new(sink)))
    }

    #[tokio::test]
    async fn filters_and_pages() {
        let app = app();
        let (status, body) = post(&app, r#"{"user_id": "alice", "limit": 2}"#).await;
        assert_eq!(status, 200);
        assert_eq!(body["events"].as_array().map(Vec::len), Some(2));
        let cursor = body["next_cursor"].as_str().expect("more").to_owned();

        let (status, body) = post(
            &app,
            &format!(r#"{{"user_id": "alice", "limit": 2, "cursor": "{cursor}"}}"#),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(body["events"].as_array().map(Vec::len), Some(1));
        assert!(body["next_cursor"].is_null());
    }

    #[tokio::test]
    async fn bad_queries_get_422() {
        let app = app();
        for body in [
            r#"{"limit": 0}"#,
            r#"{"limit": 1000000}"#,
            r#"{"start_date": "2026-02-30"}"#,
            r#"{"end_date": "not a date"}"#,
            r#"{"user": "alice"}"#,
            r#"{"cursor": "nope"}"#,
            r#"{"limit": "ten"}"#,
        ] {
            let (status, json) = post(&app, body).await;
            assert_eq!(status, 422, "{body}");
            let error: ErrorBody = serde_json::from_value(json).expect("error body");
            assert!(error.error.code.starts_with("invalid_"), "{body}");
        }
    }
}
