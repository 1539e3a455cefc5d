//! A provider's shared webhook secret: wiped on drop, never printed.

use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

/// A secret shared with one webhook provider, exactly as the provider shows it.
///
/// The bytes are wiped when the secret is dropped and `Debug` prints nothing of them. How
/// the secret becomes HMAC key bytes depends on the scheme (Standard Webhooks decodes the
/// base64 after `whsec_`; Stripe and GitHub use the string as is).
///
/// # Example
///
/// ```
/// use auren_webhook::WebhookSecret;
///
/// let secret = WebhookSecret::new("It's a Secret to Everybody");
/// assert_eq!(format!("{secret:?}"), "WebhookSecret(<redacted>)");
/// assert_eq!(secret.expose(), b"It's a Secret to Everybody");
/// ```
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct WebhookSecret(Vec<u8>);

impl WebhookSecret {
    /// A secret from the text the provider gave.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into().into_bytes())
    }

    /// A secret from raw bytes.
    pub fn from_bytes(secret: impl Into<Vec<u8>>) -> Self {
        Self(secret.into())
    }

    /// Several secrets from one space-separated value, as in `AUREN_WEBHOOK_SECRET_<NAME>`.
    ///
    /// Empty entries (double spaces) are skipped; an all-blank value gives no secret.
    ///
    /// ```
    /// use auren_webhook::WebhookSecret;
    ///
    /// assert_eq!(WebhookSecret::list("old  new").len(), 2);
    /// assert!(WebhookSecret::list("   ").is_empty());
    /// ```
    pub fn list(value: &str) -> Vec<Self> {
        value.split_ascii_whitespace().map(Self::new).collect()
    }

    /// The secret's bytes. Never log them.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Whether the secret has no bytes at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

impl From<&str> for WebhookSecret {
    fn from(secret: &str) -> Self {
        Self::new(secret)
    }
}
