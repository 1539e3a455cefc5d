//! axum extractors whose rejections use the shared JSON error body.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use http::request::Parts;
use http::StatusCode;
use serde::de::DeserializeOwned;

use crate::ApiError;

/// Longest rejection detail passed on to the caller.
const MAX_DETAIL_CHARS: usize = 200;

/// A JSON body, like `axum::Json`, whose rejections are [`ApiError`]s.
///
/// | cause | status | code |
/// |---|---|---|
/// | no `content-type: application/json` | 415 | `unsupported_media_type` |
/// | not JSON, or not UTF-8 | 400 | `invalid_json` |
/// | JSON of the wrong shape or types | 422 | `invalid_body` |
/// | larger than the body limit | 413 | `payload_too_large` |
/// | stopped arriving (tower-http's `RequestBodyTimeoutLayer`) | 408 | `request_timeout` |
///
/// The details quote no value from the body, only field names and positions.
///
/// # Example
///
/// ```
/// use auren_core::ApiJson;
/// use serde::Deserialize;
///
/// #[derive(Deserialize)]
/// struct NewReading {
///     bpm: u16,
/// }
///
/// async fn create(ApiJson(reading): ApiJson<NewReading>) -> String {
///     reading.bpm.to_string()
/// }
/// # let _: axum::Router = axum::Router::new().route("/", axum::routing::post(create));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_rejection(&rejection)),
        }
    }
}

fn json_rejection(rejection: &JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::JsonDataError(error) => ApiError::unprocessable(
            "invalid_body",
            format!(
                "The JSON body does not have the expected fields and types: {}",
                redact_values(&error.body_text())
            ),
        ),
        JsonRejection::JsonSyntaxError(_) => {
            ApiError::bad_request("invalid_json", "The body is not valid UTF-8 JSON.")
        }
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Send the body with content-type: application/json.",
        ),
        other if is_body_timeout(other) => ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            "The request body stopped arriving before it was complete.",
        ),
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::from_status(StatusCode::PAYLOAD_TOO_LARGE)
        }
        _ => ApiError::bad_request("invalid_body", "The request body could not be read."),
    }
}

/// Whether reading the body failed because tower-http's `RequestBodyTimeoutLayer` gave up
/// waiting for it (a client that stops sending mid-body).
fn is_body_timeout(rejection: &JsonRejection) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(rejection);
    while let Some(error) = source {
        if error.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        source = error.source();
    }
    false
}

/// Keeps serde's description of *where* a body is wrong but none of its values: quoted
/// strings are blanked, so a PHI value sent in the wrong field is not echoed or logged.
fn redact_values(detail: &str) -> String {
    let detail = detail
        .split_once("target type: ")
        .map_or(detail, |(_, rest)| rest);
    let mut out = String::with_capacity(detail.len().min(MAX_DETAIL_CHARS));
    let mut in_quotes = false;
    for c in detail.chars().take(MAX_DETAIL_CHARS) {
        match (c, in_quotes) {
            ('"', false) => {
                in_quotes = true;
                out.push_str("\"…");
            }
            ('"', true) => {
                in_quotes = false;
                out.push('"');
            }
            (_, true) => {}
            (c, false) if c.is_control() => out.push(' '),
            (c, false) => out.push(c),
        }
    }
    if in_quotes {
        out.push('"');
    }
    out
}

/// A query string, like `axum::extract::Query`, rejected as `400 invalid_query`.
///
/// # Example
///
/// ```
/// use auren_core::ApiQuery;
/// use serde::Deserialize;
///
/// #[derive(Deserialize)]
/// struct Page {
///     limit: Option<u32>,
/// }
///
/// async fn list(ApiQuery(page): ApiQuery<Page>) -> String {
///     page.limit.unwrap_or(100).to_string()
/// }
/// # let _: axum::Router = axum::Router::new().route("/", axum::routing::get(list));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Self(value))
            .map_err(|rejection: QueryRejection| {
                ApiError::bad_request(
                    "invalid_query",
                    format!(
                        "The query string is not valid: {}",
                        redact_values(&rejection.body_text())
                    ),
                )
            })
    }
}

/// Path parameters, like `axum::extract::Path`, rejected as `400 invalid_path`.
///
/// # Example
///
/// ```
/// use auren_core::{ApiPath, KeyId};
///
/// async fn show(ApiPath(key_id): ApiPath<KeyId>) -> String {
///     key_id.to_string()
/// }
/// # let _: axum::Router = axum::Router::new().route("/keys/{key_id}", axum::routing::get(show));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Self(value))
            .map_err(|_: PathRejection| {
                ApiError::bad_request("invalid_path", "A path parameter is not valid.")
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_keeps_structure_and_drops_values() {
        let detail = "Failed to deserialize the JSON body into the target type: \
                      bpm: invalid type: string \"my secret\", expected u16 at line 1 column 20";
        let redacted = redact_values(detail);
        assert!(!redacted.contains("my secret"));
        assert!(redacted.starts_with("bpm: invalid type: string \"…\""));
    }

    #[test]
    fn redaction_is_bounded_and_drops_control_characters() {
        let long = "x".repeat(10_000) + "\n";
        let redacted = redact_values(&long);
        assert!(redacted.chars().count() <= MAX_DETAIL_CHARS);
        assert!(!redacted.contains('\n'));
    }
}
