//! [`RequireRoleLayer`]: only callers with a given role get through.

use std::future::{ready, Ready};
use std::task::{Context, Poll};

use auren_core::{CallerIdentity, RequestId, Role};
use bytes::Bytes;
use futures_util::future::Either;
use http::{Request, Response};
use tower::{Layer, Service};

use crate::AuthRejection;

/// Lets through only requests whose [`CallerIdentity`] has a role; place it inside
/// [`AuthLayer`](crate::AuthLayer).
///
/// A caller with another role gets `403 forbidden`; a request without an identity (the
/// layer was placed outside the auth layer, or the path is public) gets
/// `401 missing_credentials`. Both carry the shared error body.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use auren_auth::{ApiKeys, AuthLayer, InMemoryKeyStore, RequireRoleLayer};
/// use axum::{routing::get, Router};
///
/// let keys = Arc::new(ApiKeys::new(Arc::new(InMemoryKeyStore::new())));
/// let admin: Router = Router::new()
///     .route("/stats", get(|| async { "ok" }))
///     .layer(RequireRoleLayer::admin())
///     .layer(AuthLayer::new(keys));
/// # drop(admin);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct RequireRoleLayer {
    role: Role,
}

impl RequireRoleLayer {
    /// Requires `role`.
    pub fn new(role: Role) -> Self {
        Self { role }
    }

    /// Requires [`Role::Admin`].
    pub fn admin() -> Self {
        Self::new(Role::Admin)
    }
}

impl<S> Layer<S> for RequireRoleLayer {
    type Service = RequireRole<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireRole {
            inner,
            role: self.role,
        }
    }
}

/// The service made by [`RequireRoleLayer`].
#[derive(Debug, Clone)]
pub struct RequireRole<S> {
    inner: S,
    role: Role,
}

/// The response future of [`RequireRole`]: the inner future, or the refusal.
pub type RequireRoleFuture<F, B, E> = Either<F, Ready<Result<Response<B>, E>>>;

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RequireRole<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: From<Bytes>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = RequireRoleFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let rejection = match CallerIdentity::from_extensions(request.extensions()) {
            Some(caller) if caller.role() == self.role => {
                return Either::Left(self.inner.call(request));
            }
            Some(_) => AuthRejection::Forbidden,
            None => AuthRejection::MissingCredentials,
        };

        crate::metrics::record_failure(&rejection);
        let request_id = RequestId::from_extensions(request.extensions());
        let key_id = CallerIdentity::from_extensions(request.extensions())
            .map(|caller| caller.key_id().to_string())
            .unwrap_or_default();
        tracing::warn!(
            request_id = %request_id.map(|id| id.to_string()).unwrap_or_default(),
            code = rejection.code(),
            key_id = %key_id,
            required = %self.role,
            "a key without the required role was refused",
        );
        Either::Right(ready(Ok(rejection.to_api_error().to_response(request_id))))
    }
}
