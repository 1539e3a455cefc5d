//! Who is calling: the one place that decides the caller of a request.

use auren_core::{ApiError, CallerIdentity, KeyId, Role};
use axum::extract::FromRequestParts;
use http::request::Parts;

/// The user the readings of a request belong to.
///
/// Until the auth layer is wired in, every request without an identity is served as the
/// fixed development user [`DEV_USER_ID`]; this extractor is the only place that changes
/// when authentication arrives.
#[derive(Debug, Clone)]
pub(crate) struct Caller(CallerIdentity);

/// The user every unauthenticated request acts as, until authentication is wired in.
pub const DEV_USER_ID: &str = "dev_user";

impl Caller {
    /// The caller's user id.
    pub(crate) fn user_id(&self) -> &str {
        self.0.user_id()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let identity = CallerIdentity::from_extensions(&parts.extensions)
            .cloned()
            .unwrap_or_else(|| {
                CallerIdentity::new(
                    DEV_USER_ID,
                    KeyId::from_ulid(ulid::Ulid::nil()),
                    Role::User,
                    60,
                )
            });
        Ok(Self(identity))
    }
}
