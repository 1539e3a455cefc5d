//! The key format: a prefix, 32 base62 random characters and a 6-character checksum.

use std::fmt;

use ring::rand::{SecureRandom, SystemRandom};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// The prefix of every key unless the host chooses another.
pub const DEFAULT_PREFIX: &str = "auren_";

/// Random base62 characters in a key: 32 of them carry 190.5 bits.
pub const RANDOM_CHARS: usize = 32;

/// Base62 characters of the CRC32 checksum (62^6 > 2^32).
pub const CHECKSUM_CHARS: usize = 6;

/// Random characters shown, after the prefix, in a key's display prefix.
pub const DISPLAY_RANDOM_CHARS: usize = 4;

/// The longest prefix accepted by [`KeyFormat::with_prefix`].
pub const MAX_PREFIX_CHARS: usize = 16;

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// How keys look: the prefix they start with.
///
/// A key is `prefix + 32 random base62 chars + 6 base62 chars of CRC32(prefix + random)`,
/// the scheme GitHub uses for its tokens: a mistyped or truncated key is rejected offline,
/// before any lookup, and secret scanners can match leaked keys by their shape.
///
/// # Example
///
/// ```
/// use auren_auth::KeyFormat;
///
/// let format = KeyFormat::default();
/// let key = format.generate().unwrap();
/// assert!(key.expose_secret().starts_with("auren_"));
/// assert_eq!(format.parse(key.expose_secret()).unwrap(), key);
/// assert!(format.parse("auren_not-a-key").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFormat {
    prefix: String,
}

impl Default for KeyFormat {
    fn default() -> Self {
        Self {
            prefix: DEFAULT_PREFIX.to_owned(),
        }
    }
}

impl KeyFormat {
    /// A format with another prefix: 1 to 16 ASCII letters, digits or `_`, ending in `_`.
    ///
    /// # Errors
    ///
    /// [`PrefixError`] when the prefix breaks those rules.
    pub fn with_prefix(prefix: impl Into<String>) -> Result<Self, PrefixError> {
        let prefix = prefix.into();
        let valid_chars = prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if prefix.len() < 2 || prefix.len() > MAX_PREFIX_CHARS || !valid_chars {
            return Err(PrefixError);
        }
        if !prefix.ends_with('_') {
            return Err(PrefixError);
        }
        Ok(Self { prefix })
    }

    /// The prefix every key of this format starts with.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The length of every key of this format.
    pub fn key_len(&self) -> usize {
        self.prefix.len() + RANDOM_CHARS + CHECKSUM_CHARS
    }

    /// A fresh key from the operating system's random generator.
    ///
    /// # Errors
    ///
    /// [`RandomError`] when the generator fails, which the OS reports only when broken.
    pub fn generate(&self) -> Result<ApiKey, RandomError> {
        let rng = SystemRandom::new();
        let mut text = String::with_capacity(self.key_len());
        text.push_str(&self.prefix);

        let mut bytes = [0u8; 64];
        while text.len() < self.prefix.len() + RANDOM_CHARS {
            rng.fill(&mut bytes).map_err(|_| RandomError)?;
            // 248 = 4 * 62: bytes above it are dropped so every character is equally likely.
            for byte in bytes.iter().filter(|b| **b < 248) {
                if text.len() == self.prefix.len() + RANDOM_CHARS {
                    break;
                }
                text.push(char::from(ALPHABET[usize::from(*byte % 62)]));
            }
        }
        bytes.zeroize();

        let checksum = checksum(text.as_bytes());
        text.extend(checksum.iter().map(|b| char::from(*b)));
        Ok(ApiKey::new(text, self.prefix.len()))
    }

    /// Checks the shape and checksum of `text` and wraps it as a key.
    ///
    /// Says nothing about whether the key exists: that takes a lookup.
    ///
    /// # Errors
    ///
    /// [`KeyFormatError`] naming the first rule `text` breaks.
    pub fn parse(&self, text: &str) -> Result<ApiKey, KeyFormatError> {
        self.check(text)?;
        Ok(ApiKey::new(text.to_owned(), self.prefix.len()))
    }

    /// Checks the shape and checksum of `text` without copying it: the verifier's path.
    ///
    /// # Errors
    ///
    /// As for [`KeyFormat::parse`].
    pub fn check(&self, text: &str) -> Result<(), KeyFormatError> {
        let rest = text
            .strip_prefix(self.prefix.as_str())
            .ok_or(KeyFormatError::WrongPrefix)?;
        if rest.len() != RANDOM_CHARS + CHECKSUM_CHARS {
            return Err(KeyFormatError::WrongLength);
        }
        // A fold rather than `all`: no early exit, so the compiler checks bytes in bulk.
        let alphanumeric = rest
            .bytes()
            .fold(true, |ok, b| ok & b.is_ascii_alphanumeric());
        if !alphanumeric {
            return Err(KeyFormatError::InvalidCharacter);
        }

        // A plain comparison: both sides derive from the presented text alone, so its
        // timing tells nothing the caller does not know.
        let (body, given) = text.split_at(text.len() - CHECKSUM_CHARS);
        if checksum(body.as_bytes()) != given.as_bytes() {
            return Err(KeyFormatError::BadChecksum);
        }
        Ok(())
    }
}

/// The CRC32 of `body` as 6 base62 characters, most significant first.
fn checksum(body: &[u8]) -> [u8; CHECKSUM_CHARS] {
    let mut value = u64::from(crc32fast::hash(body));
    let mut digits = [b'0'; CHECKSUM_CHARS];
    for digit in digits.iter_mut().rev() {
        *digit = ALPHABET[(value % 62) as usize];
        value /= 62;
    }
    digits
}

/// A key prefix that breaks the rules of [`KeyFormat::with_prefix`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a key prefix is 2 to 16 ASCII letters, digits or `_`, ending in `_`")]
pub struct PrefixError;

/// The operating system's random generator failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the operating system's random generator failed")]
pub struct RandomError;

/// Why a text is not a key of a [`KeyFormat`]. Messages never quote the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFormatError {
    /// The text does not start with the format's prefix.
    #[error("the key does not start with the expected prefix")]
    WrongPrefix,
    /// The text has the wrong length.
    #[error("the key has the wrong length")]
    WrongLength,
    /// A character outside `[0-9A-Za-z]` follows the prefix.
    #[error("the key contains a character outside [0-9A-Za-z]")]
    InvalidCharacter,
    /// The checksum does not match: a typo or a made-up key.
    #[error("the key's checksum does not match")]
    BadChecksum,
}

/// An API key: a secret, wiped from memory on drop.
///
/// `Debug` shows only the [display prefix](ApiKey::display_prefix), never the secret, and
/// equality is checked in constant time.
///
/// ```
/// use auren_auth::KeyFormat;
///
/// let key = KeyFormat::default().generate().unwrap();
/// let shown = format!("{key:?}");
/// assert!(shown.contains(key.display_prefix()));
/// assert!(!shown.contains(key.expose_secret()));
/// ```
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct ApiKey {
    text: String,
    #[zeroize(skip)]
    display_len: usize,
}

impl ApiKey {
    fn new(text: String, prefix_len: usize) -> Self {
        Self {
            text,
            display_len: prefix_len + DISPLAY_RANDOM_CHARS,
        }
    }

    /// The whole key, for the one answer that hands it out and for hashing.
    pub fn expose_secret(&self) -> &str {
        &self.text
    }

    /// The prefix and the first 4 random characters: not secret, safe to log and show.
    pub fn display_prefix(&self) -> &str {
        self.text.get(..self.display_len).unwrap_or_default()
    }
}

impl PartialEq for ApiKey {
    fn eq(&self, other: &Self) -> bool {
        self.text.as_bytes().ct_eq(other.text.as_bytes()).into()
    }
}

impl Eq for ApiKey {}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey({}…)", self.display_prefix())
    }
}

/// The display prefix of a text that may or may not be a key, for logs.
///
/// `Some` only when the text has the shape of a key of `format` (the checksum may be
/// wrong); a text of any other shape may be a secret pasted in the wrong place.
pub(crate) fn loggable_prefix(format: &KeyFormat, text: &str) -> Option<String> {
    let rest = text.strip_prefix(format.prefix())?;
    let shaped = rest.len() == RANDOM_CHARS + CHECKSUM_CHARS
        && rest.bytes().all(|b| b.is_ascii_alphanumeric());
    shaped.then(|| text[..format.prefix().len() + DISPLAY_RANDOM_CHARS].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_have_the_documented_shape() {
        let format = KeyFormat::default();
        let key = format.generate().expect("random");
        assert_eq!(key.expose_secret().len(), 6 + 32 + 6);
        assert_eq!(key.display_prefix().len(), 10);
        assert_ne!(format.generate().expect("random"), key);
    }

    #[test]
    fn each_rule_has_its_error() {
        let format = KeyFormat::default();
        let key = format.generate().expect("random");
        let text = key.expose_secret();
        assert_eq!(format.parse(""), Err(KeyFormatError::WrongPrefix));
        assert_eq!(
            format.parse(&text[..text.len() - 1]),
            Err(KeyFormatError::WrongLength)
        );
        let dashed = format!("{}-{}", &text[..10], &text[11..]);
        assert_eq!(format.parse(&dashed), Err(KeyFormatError::InvalidCharacter));
        let swapped = format!("{}{}", &text[..text.len() - 1], "!");
        assert_eq!(
            format.parse(&swapped),
            Err(KeyFormatError::InvalidCharacter)
        );
    }

    #[test]
    fn custom_prefixes_are_checked() {
        assert!(KeyFormat::with_prefix("acme_").is_ok());
        for bad in ["", "_", "acme", "ac me_", "a_very_long_prefix_", "é_"] {
            assert_eq!(KeyFormat::with_prefix(bad), Err(PrefixError), "{bad}");
        }
        let acme = KeyFormat::with_prefix("acme_").expect("valid");
        let key = acme.generate().expect("random");
        assert!(KeyFormat::default().parse(key.expose_secret()).is_err());
        assert_eq!(acme.parse(key.expose_secret()), Ok(key));
    }

    #[test]
    fn only_key_shaped_text_yields_a_loggable_prefix() {
        let format = KeyFormat::default();
        let key = format.generate().expect("random");
        assert_eq!(
            loggable_prefix(&format, key.expose_secret()).as_deref(),
            Some(key.display_prefix())
        );
        assert_eq!(loggable_prefix(&format, "auren_short"), None);
        assert_eq!(loggable_prefix(&format, "hunter2hunter2"), None);
    }
}
