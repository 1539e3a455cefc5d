//! Turns every error answer into the shared JSON error body, with the request id.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use http::{header, Request, Response};
use pin_project_lite::pin_project;
use tower::{Layer, Service};

use crate::{ApiError, RequestId};

/// Makes every 4xx and 5xx answer use the shared JSON error body with the request id.
///
/// - A response that carries an [`ApiError`] in its extensions (handlers returning
///   `ApiError`, rejections of [`ApiJson`](crate::ApiJson)) is rendered again with the
///   request id filled in.
/// - Any other 4xx or 5xx response whose body is not JSON (axum's 405, a body-limit 413,
///   a plain-text rejection from another crate) gets the generic error for its status.
///
/// Headers such as `WWW-Authenticate` or `Retry-After` are kept. Place it just inside
/// [`RequestIdLayer`](crate::RequestIdLayer), so the request id is known.
///
/// # Example
///
/// ```
/// use auren_core::{ErrorBody, ErrorBodyLayer, RequestIdLayer};
/// use axum::{body::Body, routing::get, Router};
/// use http_body_util::BodyExt;
/// use tower::ServiceExt;
///
/// # let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// # rt.block_on(async {
/// let app = Router::new()
///     .route("/readings", get(|| async { "[]" }))
///     .layer(ErrorBodyLayer::new())
///     .layer(RequestIdLayer::new());
///
/// let request = http::Request::post("/readings").body(Body::empty()).unwrap();
/// let response = app.oneshot(request).await.unwrap();
/// assert_eq!(response.status(), 405);
/// let id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
/// let bytes = response.into_body().collect().await.unwrap().to_bytes();
/// let body: ErrorBody = serde_json::from_slice(&bytes).unwrap();
/// assert_eq!(body.error.code, "method_not_allowed");
/// assert_eq!(body.error.request_id, Some(id));
/// # });
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ErrorBodyLayer {
    _private: (),
}

impl ErrorBodyLayer {
    /// The layer.
    pub fn new() -> Self {
        Self { _private: () }
    }
}

impl<S> Layer<S> for ErrorBodyLayer {
    type Service = ErrorBodyService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ErrorBodyService { inner }
    }
}

/// The service made by [`ErrorBodyLayer`].
#[derive(Debug, Clone)]
pub struct ErrorBodyService<S> {
    inner: S,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for ErrorBodyService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: From<Bytes>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ErrorBodyFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let request_id = RequestId::from_extensions(request.extensions());
        ErrorBodyFuture {
            inner: self.inner.call(request),
            request_id,
        }
    }
}

pin_project! {
    /// The response future of [`ErrorBodyService`].
    #[derive(Debug)]
    pub struct ErrorBodyFuture<F> {
        #[pin]
        inner: F,
        request_id: Option<RequestId>,
    }
}

impl<F, ResBody, E> Future for ErrorBodyFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
    ResBody: From<Bytes>,
{
    type Output = Result<Response<ResBody>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = ready!(this.inner.poll(cx))?;
        Poll::Ready(Ok(normalise(response, *this.request_id)))
    }
}

fn normalise<B: From<Bytes>>(response: Response<B>, request_id: Option<RequestId>) -> Response<B> {
    let error = match response.extensions().get::<ApiError>() {
        Some(error) => error.clone(),
        None if is_plain_error(&response) => ApiError::from_status(response.status()),
        None => return response,
    };

    let (mut parts, _old_body) = response.into_parts();
    let rendered: Response<B> = error.to_response(request_id);
    let (rendered_parts, body) = rendered.into_parts();

    // Keep the inner response's headers (WWW-Authenticate, Retry-After, rate-limit fields)
    // but not a length that described the old body.
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.extend(rendered_parts.headers);
    parts.extensions.insert(error);
    Response::from_parts(parts, body)
}

fn is_plain_error<B>(response: &Response<B>) -> bool {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return false;
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    !is_json
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorBody;
    use std::convert::Infallible;
    use tower::{service_fn, ServiceExt};

    async fn answer(response: Response<Bytes>) -> Response<Bytes> {
        let id = RequestId::new();
        let service = ErrorBodyLayer::new().layer(service_fn(move |_request: Request<()>| {
            let response = response.clone_for_test();
            async move { Ok::<_, Infallible>(response) }
        }));
        let mut request = Request::new(());
        request.extensions_mut().insert(id);
        service.oneshot(request).await.expect("infallible")
    }

    trait CloneForTest {
        fn clone_for_test(&self) -> Self;
    }

    impl CloneForTest for Response<Bytes> {
        fn clone_for_test(&self) -> Self {
            let mut copy = Response::new(self.body().clone());
            *copy.status_mut() = self.status();
            *copy.headers_mut() = self.headers().clone();
            if let Some(error) = self.extensions().get::<ApiError>() {
                copy.extensions_mut().insert(error.clone());
            }
            copy
        }
    }

    #[tokio::test]
    async fn plain_text_errors_become_json_and_keep_headers() {
        let mut plain = Response::new(Bytes::from_static(b"Length limit exceeded"));
        *plain.status_mut() = http::StatusCode::PAYLOAD_TOO_LARGE;
        plain
            .headers_mut()
            .insert("retry-after", http::HeaderValue::from_static("3"));
        plain
            .headers_mut()
            .insert(header::CONTENT_LENGTH, http::HeaderValue::from(21));

        let response = answer(plain).await;
        assert_eq!(response.status(), 413);
        assert_eq!(response.headers()["retry-after"], "3");
        assert!(response.headers().get(header::CONTENT_LENGTH).is_none());
        let body: ErrorBody = serde_json::from_slice(response.body()).expect("json");
        assert_eq!(body.error.code, "payload_too_large");
        assert!(body.error.request_id.is_some());
    }

    #[tokio::test]
    async fn api_errors_get_the_request_id() {
        let error = ApiError::unprocessable("invalid_field", "bpm is out of range.");
        let response = answer(error.to_response(None)).await;
        let body: ErrorBody = serde_json::from_slice(response.body()).expect("json");
        assert_eq!(body.error.code, "invalid_field");
        assert!(body.error.request_id.is_some());
    }

    #[tokio::test]
    async fn successes_and_json_errors_pass_untouched() {
        let ok = Response::new(Bytes::from_static(b"hello"));
        assert_eq!(answer(ok).await.body(), "hello");

        let mut json = Response::new(Bytes::from_static(br#"{"status":"degraded"}"#));
        *json.status_mut() = http::StatusCode::SERVICE_UNAVAILABLE;
        json.headers_mut().insert(
            header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        assert_eq!(answer(json).await.body(), r#"{"status":"degraded"}"#);
    }
}
