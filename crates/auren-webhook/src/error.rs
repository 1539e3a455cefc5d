//! What can go wrong: a bad configuration (at build time) or a refused request.

use std::borrow::Cow;

use auren_core::ApiError;
use http::StatusCode;

/// A webhook configuration that cannot be used; found when a provider or layer is built.
///
/// Messages name the provider and the fault, never a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookConfigError {
    /// No secret was given for the provider.
    #[error("webhook provider `{provider}` has no secret")]
    NoSecret {
        /// The provider's name.
        provider: String,
    },
    /// One of the provider's secrets is empty.
    #[error("webhook provider `{provider}` has an empty secret")]
    EmptySecret {
        /// The provider's name.
        provider: String,
    },
    /// A Standard Webhooks secret is not base64 (after an optional `whsec_`).
    #[error("webhook provider `{provider}`: a secret is not `whsec_` followed by base64")]
    SecretEncoding {
        /// The provider's name.
        provider: String,
    },
    /// The provider's name is empty or has characters other than `a-z`, `0-9`, `-`, `_`.
    #[error("webhook provider name `{provider}` must be 1 to 64 of a-z, 0-9, `-` and `_`")]
    ProviderName {
        /// The name given.
        provider: String,
    },
    /// The scheme's name is not one of `auren`, `standard`, `stripe`, `github`.
    #[error("unknown webhook scheme `{scheme}`: expected auren, standard, stripe or github")]
    UnknownScheme {
        /// The name given.
        scheme: String,
    },
    /// A duration (tolerance, replay window) is zero.
    #[error("the webhook {what} must be longer than zero")]
    ZeroDuration {
        /// Which duration.
        what: &'static str,
    },
}

/// Why a webhook request was refused; each cause has its own status and `code`.
///
/// Messages say what is wrong with the request, never what the signature should have been.
///
/// # Example
///
/// ```
/// use auren_webhook::WebhookRejection;
///
/// let error = WebhookRejection::InvalidSignature.to_api_error();
/// assert_eq!(error.status(), 401);
/// assert_eq!(error.code(), "invalid_signature");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookRejection {
    /// A header the scheme needs is absent.
    #[error("the `{0}` header is missing")]
    MissingSignature(&'static str),
    /// A header appears more than once.
    #[error("the `{0}` header appears more than once")]
    DuplicateHeader(&'static str),
    /// The signature header cannot be parsed (encoding, length, shape).
    #[error("the `{0}` header is malformed")]
    MalformedSignature(&'static str),
    /// The timestamp header is not Unix seconds.
    #[error("the `{0}` header is not a Unix timestamp in seconds")]
    MalformedTimestamp(&'static str),
    /// The message id header is empty, too long or not printable ASCII.
    #[error("the `{0}` header is not a valid message id")]
    MalformedMessageId(&'static str),
    /// No signature matches any of the provider's secrets.
    #[error("no signature matches")]
    InvalidSignature,
    /// The timestamp is too old or too far in the future.
    #[error("the timestamp is outside the accepted window")]
    StaleTimestamp,
    /// This message was already accepted within the replay window.
    #[error("this message was already delivered")]
    Replayed,
    /// The body is larger than the layer's limit.
    #[error("the body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// The body could not be read.
    #[error("the body could not be read")]
    BodyUnreadable,
    /// The replay store did not answer; the request is refused rather than risk a replay.
    #[error("replay protection is unavailable")]
    ReplayCheckUnavailable,
}

impl WebhookRejection {
    /// The HTTP status of the answer.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::MissingSignature(_)
            | Self::InvalidSignature
            | Self::StaleTimestamp
            | Self::Replayed => StatusCode::UNAUTHORIZED,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::ReplayCheckUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// The stable snake_case code of the answer.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingSignature(_) => "missing_signature",
            Self::DuplicateHeader(_) => "duplicate_header",
            Self::MalformedSignature(_) => "malformed_signature",
            Self::MalformedTimestamp(_) => "malformed_timestamp",
            Self::MalformedMessageId(_) => "malformed_message_id",
            Self::InvalidSignature => "invalid_signature",
            Self::StaleTimestamp => "stale_timestamp",
            Self::Replayed => "replayed",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::BodyUnreadable => "body_unreadable",
            Self::ReplayCheckUnavailable => "replay_check_unavailable",
        }
    }

    /// The shared error answer for this rejection.
    pub fn to_api_error(&self) -> ApiError {
        let message: Cow<'static, str> = match self {
            Self::InvalidSignature => "The webhook signature is not valid.".into(),
            Self::StaleTimestamp => {
                "The webhook timestamp is too old or too far in the future.".into()
            }
            Self::Replayed => "This webhook message was already delivered.".into(),
            Self::ReplayCheckUnavailable => {
                "Webhooks cannot be checked for replays right now; retry later.".into()
            }
            other => format!("{}.", capitalise(&other.to_string())).into(),
        };
        ApiError::new(self.status(), self.code(), message)
    }
}

fn capitalise(sentence: &str) -> String {
    let mut chars = sentence.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rejection_has_its_own_code_and_a_sentence() {
        let all = [
            WebhookRejection::MissingSignature("x-webhook-signature"),
            WebhookRejection::DuplicateHeader("x-webhook-signature"),
            WebhookRejection::MalformedSignature("x-webhook-signature"),
            WebhookRejection::MalformedTimestamp("x-webhook-timestamp"),
            WebhookRejection::MalformedMessageId("webhook-id"),
            WebhookRejection::InvalidSignature,
            WebhookRejection::StaleTimestamp,
            WebhookRejection::Replayed,
            WebhookRejection::PayloadTooLarge(10),
            WebhookRejection::BodyUnreadable,
            WebhookRejection::ReplayCheckUnavailable,
        ];
        let mut codes: Vec<_> = all.iter().map(WebhookRejection::code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
        for rejection in &all {
            let error = rejection.to_api_error();
            assert!(error.message().ends_with('.'));
            assert!(error.message().starts_with(char::is_uppercase));
        }
    }
}
