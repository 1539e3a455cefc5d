//! Why a request was not authenticated, and the answer it gets.

use auren_core::{ApiError, KeyId};
use http::StatusCode;

use crate::KeyFormatError;

/// Why a request was refused by [`AuthLayer`](crate::AuthLayer) or
/// [`RequireRoleLayer`](crate::RequireRoleLayer).
///
/// The answer ([`AuthRejection::to_api_error`]) names one of a few stable codes; the
/// variant (in logs, through `Display`) says more. A malformed key, a bad checksum and an
/// unknown key all answer `invalid_credentials` with the same message, so the answer never
/// tells whether a well-formed key exists.
///
/// ```
/// use auren_auth::AuthRejection;
///
/// assert_eq!(AuthRejection::UnknownKey.code(), "invalid_credentials");
/// assert_eq!(AuthRejection::Forbidden.to_api_error().status(), 403);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthRejection {
    /// No `Authorization` header, or an empty one.
    #[error("no credentials were sent")]
    MissingCredentials,
    /// An `Authorization` header that is not exactly `Bearer <key>`, or more than one.
    #[error("the Authorization header is malformed: {0}")]
    MalformedHeader(&'static str),
    /// The bearer token is not a well-formed key.
    #[error("the key is malformed: {0}")]
    MalformedKey(KeyFormatError),
    /// A well-formed key that no record has.
    #[error("the key is unknown")]
    UnknownKey,
    /// The key was revoked.
    #[error("the key {0} is revoked")]
    RevokedKey(KeyId),
    /// The key has expired.
    #[error("the key {0} has expired")]
    ExpiredKey(KeyId),
    /// The key is valid but its role may not use this resource.
    #[error("the key's role may not use this resource")]
    Forbidden,
    /// Keys cannot be looked up right now.
    #[error("the key store is unavailable")]
    Unavailable,
}

impl AuthRejection {
    /// The stable code of the answer.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingCredentials => "missing_credentials",
            Self::MalformedHeader(_) | Self::MalformedKey(_) | Self::UnknownKey => {
                "invalid_credentials"
            }
            Self::RevokedKey(_) => "revoked_key",
            Self::ExpiredKey(_) => "expired_key",
            Self::Forbidden => "forbidden",
            Self::Unavailable => "auth_unavailable",
        }
    }

    /// The key id, when the key was found.
    pub fn key_id(&self) -> Option<KeyId> {
        match self {
            Self::RevokedKey(id) | Self::ExpiredKey(id) => Some(*id),
            _ => None,
        }
    }

    /// The answer: status, code and a message that quotes nothing the caller sent.
    pub fn to_api_error(&self) -> ApiError {
        let (status, message) = match self {
            Self::MissingCredentials => (
                StatusCode::UNAUTHORIZED,
                "Send an API key as `Authorization: Bearer <key>`.",
            ),
            Self::MalformedHeader(_) | Self::MalformedKey(_) | Self::UnknownKey => {
                (StatusCode::UNAUTHORIZED, "The API key is not valid.")
            }
            Self::RevokedKey(_) => (StatusCode::UNAUTHORIZED, "The API key has been revoked."),
            Self::ExpiredKey(_) => (StatusCode::UNAUTHORIZED, "The API key has expired."),
            Self::Forbidden => (
                StatusCode::FORBIDDEN,
                "This key's role may not use this resource.",
            ),
            Self::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "API keys cannot be verified right now; try again shortly.",
            ),
        };
        ApiError::new(status, self.code(), message)
    }
}
