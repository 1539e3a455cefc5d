//! The one JSON error body that every layer and handler answers with.

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use serde::{Deserialize, Serialize};

use crate::RequestId;

/// An error answer: a status, a stable snake_case `code` and a human sentence.
///
/// It renders as `application/json`:
///
/// ```json
/// {"error": {"code": "not_found", "message": "No route matches this path.", "request_id": "01J…"}}
/// ```
///
/// Layers render it with [`ApiError::to_response`], which takes the request id. Handlers
/// return it through axum's `IntoResponse`; [`ErrorBodyLayer`](crate::ErrorBodyLayer) then
/// fills in the request id. The message must never carry a secret, PHI or a header value:
/// it is written for the caller and is logged.
///
/// # Example
///
/// ```
/// use auren_core::{ApiError, ErrorBody, RequestId};
///
/// let id = RequestId::new();
/// let error = ApiError::unprocessable("invalid_field", "bpm must be between 20 and 300.");
/// let response: http::Response<bytes::Bytes> = error.to_response(Some(id));
/// assert_eq!(response.status(), 422);
///
/// let body: ErrorBody = serde_json::from_slice(response.body()).unwrap();
/// assert_eq!(body.error.code, "invalid_field");
/// assert_eq!(body.error.request_id, Some(id.to_string()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    status: StatusCode,
    code: Cow<'static, str>,
    message: Cow<'static, str>,
}

impl ApiError {
    /// An error with any status, code and message.
    ///
    /// `code` should be snake_case and stable: clients match on it.
    pub fn new(
        status: StatusCode,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
        }
    }

    /// `400 Bad Request` with the given code and message.
    pub fn bad_request(
        code: impl Into<Cow<'static, str>>,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// `422 Unprocessable Entity` with the given code and message.
    pub fn unprocessable(
        code: impl Into<Cow<'static, str>>,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    /// `404 Not Found` for a path that matches no route.
    pub fn not_found() -> Self {
        Self::from_status(StatusCode::NOT_FOUND)
    }

    /// `500 Internal Server Error`, with a message that tells nothing of the cause.
    pub fn internal() -> Self {
        Self::from_status(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// `503 Service Unavailable` with the given code and message.
    pub fn unavailable(
        code: impl Into<Cow<'static, str>>,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, code, message)
    }

    /// The generic error for a status, used when nothing more specific is known.
    ///
    /// ```
    /// use auren_core::ApiError;
    ///
    /// assert_eq!(ApiError::from_status(http::StatusCode::METHOD_NOT_ALLOWED).code(),
    ///            "method_not_allowed");
    /// ```
    pub fn from_status(status: StatusCode) -> Self {
        #[allow(clippy::match_overlapping_arm)]
        let (code, message) = match status.as_u16() {
            400 => ("bad_request", "The request is malformed."),
            401 => ("unauthorized", "Authentication is required."),
            403 => ("forbidden", "This key may not use this resource."),
            404 => ("not_found", "No route matches this path."),
            405 => (
                "method_not_allowed",
                "This path does not accept this method.",
            ),
            408 => ("request_timeout", "The request took too long to arrive."),
            411 => ("length_required", "The request needs a Content-Length."),
            413 => ("payload_too_large", "The request body is too large."),
            414 => ("uri_too_long", "The request URI is too long."),
            415 => (
                "unsupported_media_type",
                "The body's content type is not accepted.",
            ),
            422 => ("unprocessable", "The request body is not valid."),
            429 => ("rate_limited", "Too many requests; slow down."),
            431 => ("headers_too_large", "The request headers are too large."),
            503 => ("unavailable", "The service is temporarily unavailable."),
            504 => ("timeout", "The service took too long to answer."),
            401..=499 => ("client_error", "The request was refused."),
            _ => (
                "internal_error",
                "The service failed to handle this request.",
            ),
        };
        Self::new(status, code, message)
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The stable snake_case code.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The human sentence.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The JSON body, with the request id when known.
    pub fn body(&self, request_id: Option<RequestId>) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message.to_string(),
                request_id: request_id.map(|id| id.to_string()),
            },
        }
    }

    /// The whole response: status, `content-type: application/json` and the body.
    ///
    /// A copy of the error rides in the response extensions, so outer layers (audit,
    /// metrics) can read the code without parsing the body.
    pub fn to_response<B: From<Bytes>>(&self, request_id: Option<RequestId>) -> Response<B> {
        let json = serde_json::to_vec(&self.body(request_id))
            .unwrap_or_else(|_| br#"{"error":{"code":"internal_error"}}"#.to_vec());
        let mut response = Response::new(B::from(Bytes::from(json)));
        *response.status_mut() = self.status;
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response.extensions_mut().insert(self.clone());
        response
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl std::error::Error for ApiError {}

impl axum::response::IntoResponse for ApiError {
    fn into_response(self) -> axum::response::Response {
        self.to_response(None)
    }
}

/// The serialised error body: `{"error": {...}}`.
///
/// Clients and tests deserialize error answers into this type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error itself.
    pub error: ErrorDetail,
}

/// The inside of [`ErrorBody`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Stable snake_case code, such as `invalid_credentials`.
    pub code: String,
    /// A sentence for a human.
    pub message: String,
    /// The request's id, the same as the response's `x-request-id`.
    pub request_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_has_a_snake_case_code() {
        for status in 400..=599 {
            let status = StatusCode::from_u16(status).expect("valid status");
            let error = ApiError::from_status(status);
            assert!(error
                .code()
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '_'));
            assert!(!error.message().is_empty());
        }
    }

    #[test]
    fn response_carries_json_and_the_error_itself() {
        let error = ApiError::bad_request("invalid_json", "The body is not valid JSON.");
        let response: Response<Bytes> = error.to_response(None);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        assert_eq!(response.extensions().get::<ApiError>(), Some(&error));
        let body: ErrorBody = serde_json::from_slice(response.body()).expect("json");
        assert_eq!(body.error.request_id, None);
    }
}
