//! The service: verifies the key, then calls the inner service or refuses.

use std::task::{Context, Poll};

use auren_core::RequestId;
use bytes::Bytes;
use http::header::WWW_AUTHENTICATE;
use http::{HeaderValue, Request, Response};
use tower::Service;

use super::{AuthLayer, ResponseFuture};
use crate::api_key::loggable_prefix;
use crate::bearer::bearer_token;
use crate::AuthRejection;

/// Authenticates every request that is not for a public path. Made by [`AuthLayer`].
#[derive(Debug, Clone)]
pub struct Auth<S> {
    inner: S,
    config: AuthLayer,
}

impl<S> Auth<S> {
    pub(super) fn new(inner: S, config: AuthLayer) -> Self {
        Self { inner, config }
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Auth<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: From<Bytes> + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        if self.config.public.contains(request.uri().path()) {
            return ResponseFuture::new(self.inner.call(request));
        }

        // The clone that was polled ready serves this request.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let keys = self.config.keys.clone();
        ResponseFuture::new(async move {
            let request_id = RequestId::from_extensions(request.extensions());
            let verified = match bearer_token(request.headers()) {
                Ok(token) => keys
                    .verify(token)
                    .await
                    .map_err(|rejection| (rejection, loggable_prefix(keys.format(), token))),
                Err(rejection) => Err((rejection, None)),
            };

            match verified {
                Ok(identity) => {
                    tracing::trace!(key_id = %identity.key_id(), "request authenticated");
                    request.extensions_mut().insert(identity.clone());
                    let mut response = inner.call(request).await?;
                    response.extensions_mut().insert(identity);
                    Ok(response)
                }
                Err((rejection, prefix)) => Ok(refuse(&rejection, request_id, prefix.as_deref())),
            }
        })
    }
}

/// Logs a refusal for operators and renders its answer.
fn refuse<B: From<Bytes>>(
    rejection: &AuthRejection,
    request_id: Option<RequestId>,
    key_prefix: Option<&str>,
) -> Response<B> {
    crate::metrics::record_failure(rejection);
    tracing::warn!(
        request_id = %request_id.map(|id| id.to_string()).unwrap_or_default(),
        code = rejection.code(),
        reason = %rejection,
        key_prefix = key_prefix.unwrap_or(""),
        key_id = %rejection.key_id().map(|id| id.to_string()).unwrap_or_default(),
        "authentication failed",
    );

    let mut response: Response<B> = rejection.to_api_error().to_response(request_id);
    response
        .headers_mut()
        .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}
