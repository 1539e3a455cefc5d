//! One provider: its name, scheme, secrets and windows; verifies a request's signature.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use http::HeaderMap;
use ring::hmac;
use subtle::ConstantTimeEq;

use crate::scheme::{self, WebhookScheme};
use crate::{WebhookConfigError, WebhookRejection, WebhookSecret};

/// How far a timestamp may be from now when none is configured (5 minutes).
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(5 * 60);

/// How long a GitHub delivery is remembered when nothing else is configured (24 hours).
///
/// GitHub signs no timestamp, so its replay records cannot expire with a freshness window.
pub const DEFAULT_UNTIMED_REPLAY_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);

/// A webhook provider: a name, a [`WebhookScheme`] and one or more active secrets.
///
/// Checked when built: the name is short and plain, every secret has key bytes. The
/// keys are prepared once; `Debug` shows the name, scheme and the number of secrets.
///
/// # Example
///
/// ```
/// use auren_webhook::{WebhookProvider, WebhookScheme, WebhookSecret};
///
/// let provider = WebhookProvider::new(
///     "oura",
///     WebhookScheme::Auren,
///     vec![WebhookSecret::new("old"), WebhookSecret::new("new")],
/// )
/// .unwrap();
/// assert_eq!(provider.name(), "oura");
/// assert!(!format!("{provider:?}").contains("old"));
///
/// let empty = WebhookProvider::new("oura", WebhookScheme::Auren, vec![WebhookSecret::new("")]);
/// assert!(empty.is_err());
/// ```
#[derive(Clone)]
pub struct WebhookProvider {
    name: Arc<str>,
    scheme: WebhookScheme,
    // ring keeps the padded key states inside `hmac::Key` and does not wipe them on drop;
    // the secrets' own bytes are wiped as soon as the keys are built.
    keys: Arc<[hmac::Key]>,
    tolerance: Duration,
    untimed_replay_window: Duration,
}

/// What a verified request proved: who sent it and which message it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// The signed timestamp, in Unix seconds, for schemes that sign one.
    pub timestamp: Option<i64>,
    /// The sender's message id, if the scheme sends one.
    pub message_id: Option<String>,
    /// The ids under which the message is remembered against replays.
    pub replay_ids: Vec<String>,
    /// How long those ids must be remembered.
    pub replay_ttl: Duration,
}

impl WebhookProvider {
    /// A provider named `name` (1 to 64 of `a-z`, `0-9`, `-`, `_`), with its secrets.
    ///
    /// A request passes when one of its signatures matches any one of the secrets, so a
    /// new secret can be added before the sender switches and the old one removed later.
    ///
    /// # Errors
    ///
    /// [`WebhookConfigError`] for a bad name, no secret, an empty secret, or a Standard
    /// Webhooks secret that is not base64.
    pub fn new(
        name: &str,
        scheme: WebhookScheme,
        secrets: Vec<WebhookSecret>,
    ) -> Result<Self, WebhookConfigError> {
        let plain = |byte: u8| byte.is_ascii_lowercase() || byte.is_ascii_digit();
        let valid_name = (1..=64).contains(&name.len())
            && name
                .bytes()
                .all(|byte| plain(byte) || byte == b'-' || byte == b'_');
        if !valid_name {
            return Err(WebhookConfigError::ProviderName {
                provider: name.to_owned(),
            });
        }
        if secrets.is_empty() {
            return Err(WebhookConfigError::NoSecret {
                provider: name.to_owned(),
            });
        }

        let keys = secrets
            .iter()
            .map(|secret| {
                let bytes = scheme.key_bytes(name, secret)?;
                Ok(hmac::Key::new(hmac::HMAC_SHA256, &bytes))
            })
            .collect::<Result<Vec<_>, WebhookConfigError>>()?;
        // The secrets are wiped here: only the prepared keys are kept.
        drop(secrets);

        Ok(Self {
            name: name.into(),
            scheme,
            keys: keys.into(),
            tolerance: DEFAULT_TOLERANCE,
            untimed_replay_window: DEFAULT_UNTIMED_REPLAY_WINDOW,
        })
    }

    /// Sets how far a signed timestamp may be from now, either way (default 5 minutes).
    ///
    /// Replay records of timestamped schemes live twice this long: exactly as long as
    /// a timestamp can stay acceptable.
    ///
    /// # Errors
    ///
    /// [`WebhookConfigError::ZeroDuration`] for zero.
    pub fn with_tolerance(mut self, tolerance: Duration) -> Result<Self, WebhookConfigError> {
        if tolerance.is_zero() {
            return Err(WebhookConfigError::ZeroDuration { what: "tolerance" });
        }
        self.tolerance = tolerance;
        Ok(self)
    }

    /// Sets how long deliveries of a scheme without timestamps (GitHub) are remembered
    /// (default 24 hours).
    ///
    /// # Errors
    ///
    /// [`WebhookConfigError::ZeroDuration`] for zero.
    pub fn with_untimed_replay_window(
        mut self,
        window: Duration,
    ) -> Result<Self, WebhookConfigError> {
        if window.is_zero() {
            return Err(WebhookConfigError::ZeroDuration {
                what: "replay window",
            });
        }
        self.untimed_replay_window = window;
        Ok(self)
    }

    /// The provider's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The provider's scheme.
    pub fn scheme(&self) -> WebhookScheme {
        self.scheme
    }

    /// The accepted distance between a signed timestamp and now.
    pub fn tolerance(&self) -> Duration {
        self.tolerance
    }

    /// Checks the headers, the timestamp and the signature of `body` at time `now`.
    ///
    /// Replays are not checked here: that needs a
    /// [`ReplayStore`](crate::replay::ReplayStore) and is done by
    /// [`WebhookLayer`](crate::WebhookLayer).
    ///
    /// # Errors
    ///
    /// The [`WebhookRejection`] of the first check that fails.
    pub fn verify(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Verification, WebhookRejection> {
        let signed = self.scheme.parse_headers(headers)?;

        if let Some(timestamp) = signed.timestamp() {
            let distance = i128::from(now.timestamp()) - i128::from(timestamp);
            if distance.unsigned_abs() > u128::from(self.tolerance.as_secs()) {
                return Err(WebhookRejection::StaleTimestamp);
            }
        }

        let (matched, first_tag) =
            self.find_match(signed.signed_prefix(), body, signed.signatures());
        let Some(matched) = matched else {
            return Err(WebhookRejection::InvalidSignature);
        };

        Ok(self.verification(&signed, matched, &first_tag))
    }

    /// The first presented signature that matches a key, and the tag under the first key.
    fn find_match(
        &self,
        prefix: &[u8],
        body: &[u8],
        presented: &[[u8; 32]],
    ) -> (Option<[u8; 32]>, [u8; 32]) {
        let mut first_tag = [0_u8; 32];
        let content = scheme::signed_content(prefix, body);

        for (index, key) in self.keys.iter().enumerate() {
            let tag = hmac::sign(key, &content);
            let tag = tag.as_ref();
            if index == 0 {
                first_tag.copy_from_slice(tag);
            }
            // Every candidate is exactly 32 bytes, so `ct_eq` compares in constant time.
            if let Some(found) = presented.iter().find(|c| bool::from(c[..].ct_eq(tag))) {
                return (Some(*found), first_tag);
            }
        }
        (None, first_tag)
    }

    fn verification(
        &self,
        signed: &scheme::SignedHeaders,
        matched: [u8; 32],
        first_tag: &[u8; 32],
    ) -> Verification {
        let message_id = signed.message_id().map(str::to_owned);
        let replay_ids = match self.scheme {
            WebhookScheme::Auren => vec![format!("sig:{}", hex::encode(matched))],
            WebhookScheme::Standard => {
                vec![format!("id:{}", message_id.clone().unwrap_or_default())]
            }
            WebhookScheme::Stripe => {
                let t = signed.timestamp().unwrap_or_default();
                vec![format!("t:{t}:{}", hex::encode(first_tag))]
            }
            // The delivery GUID is not signed, so the signature is remembered as well: a
            // captured delivery with a fresh GUID is still refused.
            WebhookScheme::Github => vec![
                format!("id:{}", message_id.clone().unwrap_or_default()),
                format!("sig:{}", hex::encode(matched)),
            ],
        };
        let replay_ttl = if self.scheme.has_timestamp() {
            self.tolerance * 2
        } else {
            self.untimed_replay_window
        };

        Verification {
            timestamp: signed.timestamp(),
            message_id,
            replay_ids,
            replay_ttl,
        }
    }
}

impl fmt::Debug for WebhookProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookProvider")
            .field("name", &self.name)
            .field("scheme", &self.scheme)
            .field("secrets", &self.keys.len())
            .field("tolerance", &self.tolerance)
            .finish()
    }
}

#[cfg(test)]
mod tests;
