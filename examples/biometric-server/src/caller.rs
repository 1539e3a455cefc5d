//! Who is calling: the one place that decides the caller of a request.

use auren::core::{ApiError, CallerIdentity};
use axum::extract::FromRequestParts;
use http::request::Parts;
use http::StatusCode;

/// The caller of a request, as the auth layer verified it.
///
/// Every route that uses this extractor sits behind `AuthLayer`, so an identity is always
/// there; should a route ever be mounted outside it by mistake, the request is refused
/// with `401 missing_credentials` rather than served as anyone.
#[derive(Debug, Clone)]
pub(crate) struct Caller(CallerIdentity);

impl Caller {
    /// The caller's user id.
    pub(crate) fn user_id(&self) -> &str {
        self.0.user_id()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match CallerIdentity::from_extensions(&parts.extensions) {
            Some(identity) => Ok(Self(identity.clone())),
            None => {
                tracing::error!("a route that needs a caller is not behind the auth layer");
                Err(ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "missing_credentials",
                    "Send an API key as `Authorization: Bearer <key>`.",
                ))
            }
        }
    }
}
