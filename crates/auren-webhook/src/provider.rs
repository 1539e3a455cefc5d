//! One provider: its name, scheme, secrets and windows; verifies a request's signature.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use http::HeaderMap;
use ring::hmac;
use subtle::{Choice, ConstantTimeEq};

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
        let presented = self.scheme.presented(headers)?;

        if let Some(timestamp) = presented.timestamp {
            let distance = i128::from(now.timestamp()) - i128::from(timestamp);
            if distance.unsigned_abs() > u128::from(self.tolerance.as_secs()) {
                return Err(WebhookRejection::StaleTimestamp);
            }
        }

        let (matched, first_tag) = self.find_match(&presented, body);
        let Some(matched) = matched else {
            return Err(WebhookRejection::InvalidSignature);
        };

        Ok(self.verification(&presented, &matched, &first_tag))
    }

    /// The first presented signature that matches a key, and the tag under the first key.
    ///
    /// The signed content is hashed once per key, whatever the number of signatures.
    fn find_match(
        &self,
        presented: &scheme::Presented<'_>,
        body: &[u8],
    ) -> (Option<[u8; 32]>, [u8; 32]) {
        let mut first_tag = [0_u8; 32];

        for (index, key) in self.keys.iter().enumerate() {
            let tag = scheme::tag(key, presented.prefix_parts(), body);
            let tag = tag.as_ref();
            if index == 0 {
                first_tag.copy_from_slice(tag);
            }

            let mut candidates = presented.signatures.iter();
            if let Some(found) = candidates.find(|candidate| tags_match(candidate, tag)) {
                return (Some(*found), first_tag);
            }
        }
        (None, first_tag)
    }

    fn verification(
        &self,
        presented: &scheme::Presented<'_>,
        matched: &[u8; 32],
        first_tag: &[u8; 32],
    ) -> Verification {
        let message_id = presented.message_id.unwrap_or_default();
        let replay_ids = match self.scheme {
            WebhookScheme::Auren => vec![replay_id("sig:", &[], Some(matched))],
            WebhookScheme::Standard => vec![replay_id("id:", &[message_id], None)],
            WebhookScheme::Stripe => {
                let t = presented.timestamp_digits.unwrap_or_default();
                vec![replay_id("t:", &[t, ":"], Some(first_tag))]
            }
            // The delivery GUID is not signed, so the signature is remembered as well: a
            // captured delivery with a fresh GUID is still refused.
            WebhookScheme::Github => vec![
                replay_id("id:", &[message_id], None),
                replay_id("sig:", &[], Some(matched)),
            ],
        };
        let replay_ttl = if self.scheme.has_timestamp() {
            self.tolerance * 2
        } else {
            self.untimed_replay_window
        };

        Verification {
            timestamp: presented.timestamp,
            message_id: presented.message_id.map(str::to_owned),
            replay_ids,
            replay_ttl,
        }
    }
}

/// Whether a presented 32-byte signature equals a computed tag, in constant time.
///
/// Both are exactly 32 bytes, so lengths leak nothing. They are compared as four 64-bit
/// words with `subtle`, with no early exit: `subtle`'s byte-by-byte slice comparison took
/// about four times as many instructions.
fn tags_match(candidate: &[u8; 32], tag: &[u8]) -> bool {
    let (words, rest) = tag.as_chunks::<8>();
    let (candidate_words, _) = candidate.as_chunks::<8>();
    if words.len() != candidate_words.len() || !rest.is_empty() {
        return false;
    }

    let mut equal = Choice::from(1);
    for (word, candidate_word) in words.iter().zip(candidate_words) {
        equal &= u64::from_ne_bytes(*word).ct_eq(&u64::from_ne_bytes(*candidate_word));
    }
    bool::from(equal)
}

/// `kind`, then `parts`, then the lowercase hex of `tag`: built in one allocation, without
/// the formatting machinery.
fn replay_id(kind: &str, parts: &[&str], tag: Option<&[u8; 32]>) -> String {
    let length = kind.len() + parts.iter().map(|part| part.len()).sum::<usize>() + 64;
    let mut id = String::with_capacity(length);
    id.push_str(kind);
    for part in parts {
        id.push_str(part);
    }
    if let Some(tag) = tag {
        scheme::push_hex(&mut id, tag);
    }
    id
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
