//! The signature schemes: what each provider sends, what it signs, and how to sign.
//!
//! - `auren` (the house scheme): `x-webhook-signature` (hex) and `x-webhook-timestamp`;
//!   signs `{t}.{body}` with the secret's bytes; timestamp within ±tolerance; replay id:
//!   the signature.
//! - `standard` ([Standard Webhooks](https://www.standardwebhooks.com/)): `webhook-id`,
//!   `webhook-timestamp` and `webhook-signature` (`v1,<base64>` entries); signs
//!   `{id}.{t}.{body}` with the base64-decoded key after `whsec_`; ±tolerance; replay
//!   id: `webhook-id`.
//! - `stripe`: `Stripe-Signature: t=…,v1=<hex>,…`; signs `{t}.{body}` with the secret as
//!   is; tolerance (see below); replay id: `t` and the tag under the first secret.
//! - `github`: `X-Hub-Signature-256: sha256=<hex>` and `X-GitHub-Delivery`; signs the
//!   body with the secret as is; no timestamp; replay ids: the delivery GUID and the
//!   signature.
//!
//! All four use HMAC-SHA256, so every presented signature is decoded into 32 bytes before
//! anything is compared: an empty, truncated or over-long signature is dropped unread and
//! can never match. Tags are compared in constant time.
//!
//! Stripe's own libraries check only that a timestamp is not too old. A far-future
//! timestamp would then stay acceptable after its replay record expired, so here it is
//! also refused when more than the tolerance ahead.
//!
//! # Example
//!
//! ```
//! use auren_webhook::{WebhookScheme, WebhookSecret};
//!
//! let secret = WebhookSecret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
//! let signed = WebhookScheme::Standard.sign(&secret, "msg_1", 1_614_265_330, b"{}").unwrap();
//!
//! let mut headers = http::HeaderMap::new();
//! for (name, value) in signed {
//!     headers.insert(name, value.parse().unwrap());
//! }
//! let parsed = WebhookScheme::Standard.parse_headers(&headers).unwrap();
//! assert_eq!(parsed.message_id(), Some("msg_1"));
//! assert_eq!(parsed.timestamp(), Some(1_614_265_330));
//! assert_eq!(parsed.signed_prefix(), b"msg_1.1614265330.");
//! ```

pub mod auren;
pub mod github;
mod header;
mod presented;
pub mod standard;
pub mod stripe;

use std::fmt;
use std::str::FromStr;

use http::HeaderMap;
use ring::hmac;
use zeroize::Zeroizing;

use crate::{WebhookConfigError, WebhookRejection, WebhookSecret};

pub(crate) use header::{canonical_digits, decode_hex_tag, push_hex, required};
pub use header::{is_valid_message_id, parse_timestamp, MAX_HEADER_BYTES, MAX_MESSAGE_ID_BYTES};
pub(crate) use presented::{Candidates, Presented};

/// How a provider signs its webhooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum WebhookScheme {
    /// The house scheme: hex HMAC-SHA256 of `{timestamp}.{body}`.
    #[default]
    Auren,
    /// [Standard Webhooks](https://www.standardwebhooks.com/) (also Svix).
    Standard,
    /// Stripe's `Stripe-Signature` header.
    Stripe,
    /// GitHub's `X-Hub-Signature-256` header.
    Github,
}

/// The signature headers of one request, parsed but not yet verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    timestamp: Option<i64>,
    message_id: Option<String>,
    signatures: Vec<[u8; 32]>,
    signed_prefix: Vec<u8>,
}

impl SignedHeaders {
    /// The timestamp the sender signed, in Unix seconds, for schemes that have one.
    pub fn timestamp(&self) -> Option<i64> {
        self.timestamp
    }

    /// The message id the sender gave (`webhook-id`, `X-GitHub-Delivery`), if any.
    pub fn message_id(&self) -> Option<&str> {
        self.message_id.as_deref()
    }

    /// The decoded signatures of a supported version, each exactly 32 bytes.
    pub fn signatures(&self) -> &[[u8; 32]] {
        &self.signatures
    }

    /// What the sender signed before the body (`{t}.`, `{id}.{t}.` or nothing).
    pub fn signed_prefix(&self) -> &[u8] {
        &self.signed_prefix
    }
}

/// Every header that any scheme reads, for tools that build arbitrary header maps (fuzz
/// targets, property tests).
///
/// ```
/// assert!(auren_webhook::scheme::ALL_HEADER_NAMES.contains(&"stripe-signature"));
/// ```
pub const ALL_HEADER_NAMES: [&str; 8] = [
    auren::SIGNATURE_HEADER,
    auren::TIMESTAMP_HEADER,
    standard::ID_HEADER,
    standard::TIMESTAMP_HEADER,
    standard::SIGNATURE_HEADER,
    stripe::SIGNATURE_HEADER,
    github::SIGNATURE_HEADER,
    github::DELIVERY_HEADER,
];

impl WebhookScheme {
    /// Every scheme.
    pub const ALL: [Self; 4] = [Self::Auren, Self::Standard, Self::Stripe, Self::Github];

    /// The scheme's name, as in `AUREN_WEBHOOK_SCHEME_<NAME>`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Auren => "auren",
            Self::Standard => "standard",
            Self::Stripe => "stripe",
            Self::Github => "github",
        }
    }

    /// Whether the scheme signs a timestamp (every scheme but GitHub's).
    pub fn has_timestamp(&self) -> bool {
        !matches!(self, Self::Github)
    }

    /// Reads and decodes this scheme's headers. Nothing is verified yet.
    ///
    /// # Errors
    ///
    /// The [`WebhookRejection`] for a missing, duplicated, over-long or malformed header.
    pub fn parse_headers(&self, headers: &HeaderMap) -> Result<SignedHeaders, WebhookRejection> {
        self.presented(headers)
            .map(|presented| presented.to_signed_headers())
    }

    /// As [`WebhookScheme::parse_headers`], borrowing from `headers` instead of copying.
    pub(crate) fn presented<'a>(
        &self,
        headers: &'a HeaderMap,
    ) -> Result<Presented<'a>, WebhookRejection> {
        match self {
            Self::Auren => auren::presented(headers),
            Self::Standard => standard::presented(headers),
            Self::Stripe => stripe::presented(headers),
            Self::Github => github::presented(headers),
        }
    }

    /// The HMAC key bytes of `secret` under this scheme.
    ///
    /// # Errors
    ///
    /// [`WebhookConfigError::SecretEncoding`] for a Standard Webhooks secret that is not
    /// base64; [`WebhookConfigError::EmptySecret`] for a secret with no key bytes.
    pub fn key_bytes(
        &self,
        provider: &str,
        secret: &WebhookSecret,
    ) -> Result<Zeroizing<Vec<u8>>, WebhookConfigError> {
        let bytes = match self {
            Self::Standard => {
                standard::key_bytes(secret).ok_or_else(|| WebhookConfigError::SecretEncoding {
                    provider: provider.to_owned(),
                })?
            }
            _ => Zeroizing::new(secret.expose().to_vec()),
        };

        if bytes.is_empty() {
            return Err(WebhookConfigError::EmptySecret {
                provider: provider.to_owned(),
            });
        }
        Ok(bytes)
    }

    /// The headers a sender adds to deliver `body`, signed with `secret`.
    ///
    /// `message_id` is used by the schemes that send one (Standard Webhooks, GitHub);
    /// `timestamp` (Unix seconds) by those that sign one.
    ///
    /// # Errors
    ///
    /// As [`WebhookScheme::key_bytes`].
    pub fn sign(
        &self,
        secret: &WebhookSecret,
        message_id: &str,
        timestamp: i64,
        body: &[u8],
    ) -> Result<Vec<(&'static str, String)>, WebhookConfigError> {
        let key = self.key_bytes("signer", secret)?;
        Ok(match self {
            Self::Auren => vec![
                (auren::TIMESTAMP_HEADER, timestamp.to_string()),
                (auren::SIGNATURE_HEADER, auren::sign(&key, timestamp, body)),
            ],
            Self::Standard => vec![
                (standard::ID_HEADER, message_id.to_owned()),
                (standard::TIMESTAMP_HEADER, timestamp.to_string()),
                (
                    standard::SIGNATURE_HEADER,
                    standard::sign(&key, message_id, timestamp, body),
                ),
            ],
            Self::Stripe => vec![(
                stripe::SIGNATURE_HEADER,
                stripe::sign(&key, timestamp, body),
            )],
            Self::Github => vec![
                (github::DELIVERY_HEADER, message_id.to_owned()),
                (github::SIGNATURE_HEADER, github::sign(&key, body)),
            ],
        })
    }
}

impl fmt::Display for WebhookScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for WebhookScheme {
    type Err = WebhookConfigError;

    /// Parses `auren`, `standard`, `stripe` or `github` (lowercase).
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|scheme| scheme.name() == name)
            .ok_or_else(|| WebhookConfigError::UnknownScheme {
                scheme: name.to_owned(),
            })
    }
}

/// HMAC-SHA256 of the signed content: each of `prefix_parts` followed by a `.`, then
/// `body`.
///
/// The pieces go to ring one after the other. Copying a 1 KiB body behind its prefix into
/// one buffer cost more (an allocation too large for the allocator's fast path, and the
/// copy) than ring's carrying of a partial block from one update to the next.
pub(crate) fn tag<'a>(
    key: &hmac::Key,
    prefix_parts: impl IntoIterator<Item = &'a str>,
    body: &[u8],
) -> hmac::Tag {
    let mut context = hmac::Context::with_key(key);
    for part in prefix_parts {
        context.update(part.as_bytes());
        context.update(b".");
    }
    context.update(body);
    context.sign()
}

/// [`tag`] from raw key bytes, for the signing helpers.
fn tag_with<'a>(
    key: &[u8],
    prefix_parts: impl IntoIterator<Item = &'a str>,
    body: &[u8],
) -> hmac::Tag {
    tag(&hmac::Key::new(hmac::HMAC_SHA256, key), prefix_parts, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_refused() {
        for scheme in WebhookScheme::ALL {
            assert_eq!(scheme.name().parse::<WebhookScheme>(), Ok(scheme));
        }
        assert!("Stripe".parse::<WebhookScheme>().is_err());
        assert!("".parse::<WebhookScheme>().is_err());
    }

    #[test]
    fn empty_secrets_have_no_key() {
        for scheme in WebhookScheme::ALL {
            let error = scheme
                .key_bytes("p", &WebhookSecret::new(""))
                .expect_err("empty");
            assert!(
                matches!(error, WebhookConfigError::EmptySecret { .. }),
                "{scheme}"
            );
        }
        let error = WebhookScheme::Standard
            .key_bytes("p", &WebhookSecret::new("whsec_"))
            .expect_err("empty after the prefix");
        assert!(matches!(error, WebhookConfigError::EmptySecret { .. }));
    }
}
